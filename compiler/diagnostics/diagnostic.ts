import type { DiagnosticCode } from './codes.ts';
import type { SourceText } from './source-text.ts';

/** A half-open range of offsets in one source text. */
export interface Span {
  readonly source: SourceText;
  readonly start: number;
  readonly end: number;
}

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  readonly severity: Severity;
  readonly code: DiagnosticCode;
  readonly message: string;
  /** Absent only when nothing the user wrote is involved (e.g. a file that cannot be opened). */
  readonly span?: Span;
  /** Extra lines printed after the source excerpt, e.g. why the official code would fail. */
  readonly notes?: readonly string[];
}

export function error(
  code: DiagnosticCode,
  message: string,
  span?: Span,
  notes?: readonly string[],
): Diagnostic {
  return { severity: 'error', code, message, ...(span ? { span } : {}), ...(notes ? { notes } : {}) };
}

export function warning(
  code: DiagnosticCode,
  message: string,
  span?: Span,
  notes?: readonly string[],
): Diagnostic {
  return { severity: 'warning', code, message, ...(span ? { span } : {}), ...(notes ? { notes } : {}) };
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Thrown only inside a stage to abandon it; every stage boundary turns it back into a list. */
export class DiagnosticsError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join('\n'));
  }
}
