import type { Span } from '../diagnostics/diagnostic.ts';

/**
 * A config value with the Python type yacs would see. Python distinguishes int from float, list from
 * tuple and a CfgNode from a dict, and yacs's type check depends on it, so JS numbers and arrays alone
 * cannot represent a config. Every value may carry the span it was read from.
 */
export type PyValue =
  | { readonly type: 'int'; readonly value: bigint; readonly span?: Span }
  | { readonly type: 'float'; readonly value: number; readonly span?: Span }
  | { readonly type: 'str'; readonly value: string; readonly span?: Span }
  | { readonly type: 'bool'; readonly value: boolean; readonly span?: Span }
  | { readonly type: 'none'; readonly span?: Span }
  | { readonly type: 'list' | 'tuple' | 'set'; readonly items: readonly PyValue[]; readonly span?: Span }
  | { readonly type: 'dict'; readonly entries: readonly DictEntry[]; readonly span?: Span }
  | CfgNode;

export interface DictEntry {
  readonly key: PyValue;
  readonly value: PyValue;
}

/** yacs's CfgNode: string keys, each with the span of the key as written. */
export interface CfgNode {
  readonly type: 'node';
  readonly entries: ReadonlyMap<string, CfgEntry>;
  /** yacs's new_allowed: whether merging may add keys here (true under MODEL.EXTRA). */
  readonly newAllowed: boolean;
  readonly span?: Span;
}

export interface CfgEntry {
  readonly value: PyValue;
  readonly keySpan?: Span;
}

export type PyType = PyValue['type'];

/** The Python type name, as yacs's messages print it. */
export function pythonTypeName(type: PyType): string {
  return type === 'node' ? 'CfgNode' : type === 'none' ? 'NoneType' : type;
}

export const int = (value: number | bigint): PyValue => ({ type: 'int', value: BigInt(value) });
export const float = (value: number): PyValue => ({ type: 'float', value });
export const str = (value: string): PyValue => ({ type: 'str', value });
export const bool = (value: boolean): PyValue => ({ type: 'bool', value });
export const list = (...items: PyValue[]): PyValue => ({ type: 'list', items });
export const tuple = (...items: PyValue[]): PyValue => ({ type: 'tuple', items });

export function cfgNode(entries: Record<string, PyValue>, newAllowed = false): CfgNode {
  return {
    type: 'node',
    newAllowed,
    entries: new Map(Object.entries(entries).map(([key, value]) => [key, { value }])),
  };
}

export function withSpan<T extends PyValue>(value: T, span: Span | undefined): T {
  return span ? { ...value, span } : value;
}

/** Python's repr, used in messages and in the resolved-config dump. */
export function pythonRepr(value: PyValue): string {
  switch (value.type) {
    case 'int':
      return value.value.toString();
    case 'float':
      return floatRepr(value.value);
    case 'str':
      return `'${value.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
    case 'bool':
      return value.value ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'list':
      return `[${value.items.map(pythonRepr).join(', ')}]`;
    case 'tuple':
      return value.items.length === 1
        ? `(${pythonRepr(value.items[0]!)},)`
        : `(${value.items.map(pythonRepr).join(', ')})`;
    case 'set':
      return value.items.length === 0 ? 'set()' : `{${value.items.map(pythonRepr).join(', ')}}`;
    case 'dict':
      return `{${value.entries.map((e) => `${pythonRepr(e.key)}: ${pythonRepr(e.value)}`).join(', ')}}`;
    case 'node':
      return `CfgNode({${[...value.entries].map(([k, e]) => `'${k}': ${pythonRepr(e.value)}`).join(', ')}})`;
  }
}

/** Python's float repr: always shows that it is a float (`1.0`, `1e-10`, `inf`). */
export function floatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return `${value}.0`;
  return String(value).replace(/e\+?/, 'e+').replace('e+-', 'e-');
}

/** A short, bounded preview of a value for messages (a hostile value can be megabytes long). */
export function preview(value: PyValue, max = 60): string {
  const repr = pythonRepr(value);
  return repr.length > max ? `${repr.slice(0, max - 1)}…` : repr;
}

export function lookup(node: CfgNode, path: readonly string[]): PyValue | undefined {
  let current: PyValue = node;
  for (const key of path) {
    if (current.type !== 'node') return undefined;
    const entry: CfgEntry | undefined = current.entries.get(key);
    if (!entry) return undefined;
    current = entry.value;
  }
  return current;
}
