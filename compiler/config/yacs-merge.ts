import { type Diagnostic, error, type Span } from '../diagnostics/diagnostic.ts';
import { parsePythonLiteral } from './python-literal.ts';
import { type CfgEntry, type CfgNode, type PyValue, preview, pythonTypeName } from './python-value.ts';
import { closestName } from './suggest.ts';

/**
 * yacs's `_decode_cfg_value`: a string that is a Python literal becomes that literal; anything else
 * stays a string. The failure reason is kept so a later type mismatch can say why the string was not
 * read as the literal the user probably meant.
 */
export function decodeValue(value: PyValue): { value: PyValue; literalProblem?: string } {
  if (value.type !== 'str') return { value };
  const span = value.span;
  const base = span ? exactOffsets(value.value, span) : undefined;
  const spanAt = span && base !== undefined ? offsetSpans(span, base) : undefined;
  const parsed = parsePythonLiteral(value.value, spanAt);
  if (parsed.ok) return { value: span ? { ...parsed.value, span } : parsed.value };
  return { value, literalProblem: `${parsed.message} (at character ${parsed.offset + 1})` };
}

/** Where the string's characters start in the source, when they appear there unescaped. */
function exactOffsets(text: string, span: Span): number | undefined {
  const raw = span.source.text.slice(span.start, span.end);
  if (raw === text) return span.start;
  if ((raw.startsWith("'") || raw.startsWith('"')) && raw.slice(1, -1) === text) return span.start + 1;
  return undefined;
}

function offsetSpans(span: Span, base: number): (start: number, end: number) => Span {
  return (start, end) => ({ source: span.source, start: base + start, end: base + end });
}

/**
 * yacs's `_check_and_coerce_cfg_value_type`: the types must be equal, except that a list may replace
 * a tuple and the other way round. Returns the coerced value or a message.
 */
export function coerceToDefaultType(
  replacement: PyValue,
  original: PyValue,
  fullKey: string,
  literalProblem?: string,
): { ok: true; value: PyValue } | { ok: false; message: string; notes: string[] } {
  if (replacement.type === original.type) return { ok: true, value: replacement };
  if (
    (replacement.type === 'list' && original.type === 'tuple') ||
    (replacement.type === 'tuple' && original.type === 'list')
  ) {
    return { ok: true, value: { ...replacement, type: original.type } };
  }
  const notes: string[] = [];
  if (replacement.type === 'int' && original.type === 'float') {
    notes.push(`yacs does not convert int to float: write ${replacement.value}.0`);
  } else if (replacement.type === 'float' && original.type === 'int') {
    notes.push('yacs does not convert float to int: write the number without a decimal point');
  } else if (replacement.type === 'str' && literalProblem) {
    notes.push(`the string is not a Python literal, so it stays a string: ${literalProblem}`);
  }
  return {
    ok: false,
    message: `${fullKey} must be ${article(pythonTypeName(original.type))} like its default ${preview(original)}, but got ${pythonTypeName(replacement.type)} ${preview(replacement)}`,
    notes,
  };
}

function article(typeName: string): string {
  return /^[aeiou]/.test(typeName) ? `an ${typeName}` : `a ${typeName}`;
}

/**
 * yacs's `_merge_a_into_b`, without its stop-at-first-error: unknown keys and type mismatches are
 * reported and skipped (the default stays), so one run reports every problem in the file.
 */
export function mergeInto(
  base: CfgNode,
  incoming: CfgNode,
  keyPath: readonly string[],
  diagnostics: Diagnostic[],
): CfgNode {
  const entries = new Map<string, CfgEntry>(base.entries);
  for (const [key, entry] of incoming.entries) {
    const fullKey = [...keyPath, key].join('.');
    const { value, literalProblem } = decodeValue(entry.value);
    const existing = base.entries.get(key);
    if (!existing) {
      if (base.newAllowed) {
        entries.set(key, entry.keySpan ? { value, keySpan: entry.keySpan } : { value });
      } else {
        diagnostics.push(unknownKeyDiagnostic(fullKey, key, base, entry.keySpan ?? entry.value.span));
      }
      continue;
    }
    const coerced = coerceToDefaultType(value, existing.value, fullKey, literalProblem);
    if (!coerced.ok) {
      diagnostics.push(error('E202', coerced.message, value.span ?? entry.keySpan, coerced.notes));
      continue;
    }
    const merged =
      coerced.value.type === 'node' && existing.value.type === 'node'
        ? withNodeSpan(
            mergeInto(existing.value, coerced.value, [...keyPath, key], diagnostics),
            coerced.value.span,
          )
        : coerced.value;
    entries.set(key, entry.keySpan ? { value: merged, keySpan: entry.keySpan } : { value: merged });
  }
  return { ...base, entries };
}

function withNodeSpan(node: CfgNode, span: Span | undefined): CfgNode {
  return span ? { ...node, span } : node;
}

export function unknownKeyDiagnostic(
  fullKey: string,
  key: string,
  parent: CfgNode,
  span: Span | undefined,
): Diagnostic {
  const suggestion = closestName(key, parent.entries.keys());
  const prefix = fullKey.slice(0, fullKey.length - key.length);
  const notes = suggestion
    ? [`did you mean ${prefix}${suggestion}?`]
    : [`keys allowed here: ${[...parent.entries.keys()].join(', ') || '(none)'}`];
  return error('E201', `unknown config key ${fullKey}`, span, notes);
}
