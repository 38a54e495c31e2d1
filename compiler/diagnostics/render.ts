import type { Diagnostic } from './diagnostic.ts';
import { lineColumnAt, lineText } from './source-text.ts';

const maxExcerptWidth = 160;

/**
 * `file:LINE:COL: error[CODE]: message`, then the source line with a gutter and an underline, so that
 * editors can jump to the place and a reader sees it without opening the file.
 */
export function renderDiagnostic(diagnostic: Diagnostic): string {
  const { severity, code, message, span, notes } = diagnostic;
  const lines: string[] = [];
  if (!span) {
    lines.push(`${severity}[${code}]: ${message}`);
  } else {
    const start = lineColumnAt(span.source, span.start);
    const end = lineColumnAt(span.source, Math.max(span.start, span.end - 1));
    lines.push(`${span.source.name}:${start.line}:${start.column}: ${severity}[${code}]: ${message}`);
    const text = lineText(span.source, start.line);
    const gutter = String(start.line);
    const pad = ' '.repeat(gutter.length);
    const underlineEnd = end.line === start.line ? end.column : Math.max(start.column, text.length);
    const width = Math.max(1, underlineEnd - start.column + 1);
    const shownText = text.length > maxExcerptWidth ? `${text.slice(0, maxExcerptWidth)}…` : text;
    const column = Math.min(start.column, maxExcerptWidth + 1);
    const shownWidth = Math.max(1, Math.min(width, maxExcerptWidth + 2 - column));
    lines.push(`${pad} |`);
    lines.push(`${gutter} | ${printable(shownText)}`);
    lines.push(`${pad} | ${' '.repeat(column - 1)}${'^'.repeat(shownWidth)}`);
  }
  for (const note of notes ?? []) lines.push(`  = note: ${note}`);
  return lines.join('\n');
}

export function renderDiagnostics(diagnostics: readonly Diagnostic[]): string {
  return diagnostics.map(renderDiagnostic).join('\n\n');
}

/** Control characters would garble the terminal; binary junk gets shown as escapes instead. */
function printable(text: string): string {
  return text
    .replace(
      /[\u0000-\u0008\u000b-\u001f\u007f]/g,
      (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
    )
    .replace(/\t/g, ' ');
}
