import { type Diagnostic, error, type Span } from '../diagnostics/diagnostic.ts';
import { makeSourceText } from '../diagnostics/source-text.ts';
import type { CfgEntry, CfgNode, PyValue } from './python-value.ts';
import { coerceToDefaultType, decodeValue, unknownKeyDiagnostic } from './yacs-merge.ts';

/** One `KEY VALUE` pair from the command line, each part with its own source text for diagnostics. */
export interface Override {
  readonly key: string;
  readonly keySpan: Span;
  readonly value: PyValue & { type: 'str' };
}

/**
 * Splits the trailing `KEY VALUE …` list. Each argument becomes a one-line source named `<arg N>`
 * (N counting from the first override), so errors point into the argument itself.
 */
export function parseOverrideList(args: readonly string[]): {
  overrides: Override[];
  diagnostics: Diagnostic[];
} {
  const overrides: Override[] = [];
  const diagnostics: Diagnostic[] = [];
  const sourceOf = (i: number) => makeSourceText(`<arg ${i + 1}>`, args[i]!);
  const whole = (i: number): Span => ({ source: sourceOf(i), start: 0, end: Math.max(1, args[i]!.length) });
  if (args.length % 2 !== 0) {
    diagnostics.push(
      error(
        'E203',
        `override list has odd length (${args.length}); it must be KEY VALUE pairs`,
        whole(args.length - 1),
        [`'${args.at(-1)}' has no value`],
      ),
    );
  }
  for (let i = 0; i + 1 < args.length; i += 2) {
    const valueSource = sourceOf(i + 1);
    overrides.push({
      key: args[i]!,
      keySpan: whole(i),
      value: {
        type: 'str',
        value: args[i + 1]!,
        span: { source: valueSource, start: 0, end: Math.max(1, args[i + 1]!.length) },
      },
    });
  }
  return { overrides, diagnostics };
}

/**
 * yacs's `merge_from_list`: every key must already exist (even under MODEL.EXTRA), values are decoded
 * as Python literals and must fit the existing value's type. `written` is the experiment file as
 * parsed: under MODEL.EXTRA (an open node), only the keys the file sets exist, since the official
 * update_config does not merge the EXTRA defaults that fill the rest of `root`.
 */
export function applyOverrides(
  root: CfgNode,
  overrides: readonly Override[],
  diagnostics: Diagnostic[],
  written?: CfgNode,
): CfgNode {
  let result = root;
  for (const override of overrides) {
    const path = override.key.split('.');
    const updated = setAt(result, written, path, 0, override, diagnostics);
    if (updated) result = updated;
  }
  return result;
}

function setAt(
  node: CfgNode,
  written: PyValue | undefined,
  path: string[],
  depth: number,
  override: Override,
  diagnostics: Diagnostic[],
): CfgNode | undefined {
  const key = path[depth]!;
  const entry = node.entries.get(key);
  const keySpan = subSpan(override.keySpan, path, depth);
  const fullKey = path.slice(0, depth + 1).join('.');
  const writtenNode = written?.type === 'node' ? written : undefined;
  if (entry && node.newAllowed && writtenNode && !writtenNode.entries.has(key)) {
    // A default the official config does not have: the key does not exist for merge_from_list.
    diagnostics.push(
      error('E201', `unknown config key ${fullKey}`, keySpan, [
        `the experiment file does not set ${fullKey}, and MODEL.EXTRA has no defaults: an override can only replace a key the file sets (yacs merge_from_list)`,
      ]),
    );
    return undefined;
  }
  if (!entry) {
    diagnostics.push(unknownKeyDiagnostic(fullKey, key, node, keySpan));
    return undefined;
  }
  if (depth < path.length - 1) {
    if (entry.value.type !== 'node') {
      diagnostics.push(error('E201', `${fullKey} is a value, not a group of keys`, keySpan));
      return undefined;
    }
    const child = setAt(
      entry.value,
      writtenNode ? (writtenNode.entries.get(key)?.value ?? emptyNode) : undefined,
      path,
      depth + 1,
      override,
      diagnostics,
    );
    return child ? withEntry(node, key, { ...entry, value: child }) : undefined;
  }
  const { value, literalProblem } = decodeValue(override.value);
  const coerced = coerceToDefaultType(value, entry.value, override.key, literalProblem);
  if (!coerced.ok) {
    diagnostics.push(error('E202', coerced.message, override.value.span, coerced.notes));
    return undefined;
  }
  return withEntry(node, key, { value: coerced.value, keySpan: override.keySpan });
}

/** What the file wrote under a key it does not set: nothing. */
const emptyNode: CfgNode = { type: 'node', entries: new Map(), newAllowed: false };

function withEntry(node: CfgNode, key: string, entry: CfgEntry): CfgNode {
  const entries = new Map(node.entries);
  entries.set(key, entry);
  return { ...node, entries };
}

/** The span of one dotted component of a key argument, so `MODEL.EXTRA.STAGE9.X` underlines `STAGE9`. */
function subSpan(keySpan: Span, path: string[], depth: number): Span {
  const start = keySpan.start + path.slice(0, depth).reduce((n, part) => n + part.length + 1, 0);
  return { source: keySpan.source, start, end: start + Math.max(1, path[depth]!.length) };
}
