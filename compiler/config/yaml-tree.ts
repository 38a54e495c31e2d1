import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type YAMLError,
  type Node as YamlNode,
} from 'yaml';
import type { DiagnosticCode } from '../diagnostics/codes.ts';
import { type Diagnostic, DiagnosticsError, error, type Span } from '../diagnostics/diagnostic.ts';
import type { SourceText } from '../diagnostics/source-text.ts';
import type { CfgEntry, CfgNode, PyValue } from './python-value.ts';

/** Aliases may repeat a subtree; past this many expanded nodes a file is an alias bomb, not a config. */
export const maxExpandedNodes = 100_000;
export const maxNestingDepth = 64;

export type YamlTreeResult =
  | { readonly ok: true; readonly root: CfgNode }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/**
 * Parses an experiment file the way yacs's `yaml.safe_load` sees it (YAML 1.1: `yes` is True, `0755` is
 * octal, merge keys), into a CfgNode whose every value carries its source span.
 */
export function parseYamlTree(source: SourceText): YamlTreeResult {
  const tabDiagnostics = findIndentationTabs(source);
  if (tabDiagnostics.length > 0) return { ok: false, diagnostics: tabDiagnostics };
  let doc: Document.Parsed;
  try {
    doc = parseDocument(source.text, {
      version: '1.1',
      intAsBigInt: true,
      uniqueKeys: true,
      prettyErrors: false,
      lineCounter: new LineCounter(),
    });
  } catch (e) {
    if (e instanceof RangeError) return fail('E108', 'nesting too deep to be a config', source, 0);
    throw e;
  }
  const problems = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'TAG_RESOLVE_FAILED')];
  if (problems.length > 0) return { ok: false, diagnostics: problems.map((e) => yamlDiagnostic(e, source)) };
  const contents = doc.contents;
  const isEmpty = contents === null || (isScalar(contents) && contents.value === null);
  if (isEmpty && source.text.trim().length === 0) {
    return fail('E004', 'the experiment file is empty; it must be a YAML mapping of config keys', source, 0);
  }
  if (isEmpty) return fail('E004', 'the experiment file holds no keys, only comments', source, 0);
  if (!isMap(contents)) {
    const [start, end] = contents.range ?? [0, 1];
    return {
      ok: false,
      diagnostics: [
        error(
          'E106',
          `the document is a ${describe(contents)}; an experiment file must be a mapping of config keys`,
          {
            source,
            start,
            end,
          },
        ),
      ],
    };
  }
  try {
    const converter = new Converter(doc, source);
    return { ok: true, root: converter.convert(contents, 0) as CfgNode };
  } catch (e) {
    if (e instanceof DiagnosticsError) return { ok: false, diagnostics: e.diagnostics };
    throw e;
  }
}

function fail(code: DiagnosticCode, message: string, source: SourceText, offset: number): YamlTreeResult {
  return { ok: false, diagnostics: [error(code, message, { source, start: offset, end: offset + 1 })] };
}

/** YAML forbids tabs in indentation; a located message is clearer than the parser's cascade. */
function findIndentationTabs(source: SourceText): Diagnostic[] {
  const found: Diagnostic[] = [];
  const pattern = /^( *)\t/gm;
  for (let m = pattern.exec(source.text); m !== null && found.length < 20; m = pattern.exec(source.text)) {
    const offset = m.index + m[1]!.length;
    found.push(
      error('E102', 'a tab is used for indentation; YAML indents with spaces only', {
        source,
        start: offset,
        end: offset + 1,
      }),
    );
  }
  return found;
}

const yamlCodes: Partial<Record<string, DiagnosticCode>> = {
  TAB_AS_INDENT: 'E102',
  DUPLICATE_KEY: 'E103',
  MULTIPLE_DOCS: 'E107',
};

function yamlDiagnostic(e: YAMLError, source: SourceText): Diagnostic {
  const code = yamlCodes[e.code] ?? 'E101';
  let message = e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '').replace(/\s+$/, '');
  if (e.code === 'DUPLICATE_KEY')
    message = 'duplicate key: this key is already set earlier in the same mapping';
  if (e.code === 'MULTIPLE_DOCS')
    message = 'the file holds more than one YAML document; an experiment is one mapping';
  if (e.code === 'TAG_RESOLVE_FAILED') message = `${message}; experiment files use plain YAML values only`;
  const [start, end] = e.pos;
  return error(code, message, { source, start, end: Math.max(end, start + 1) });
}

function describe(node: unknown): string {
  if (isSeq(node)) return 'list';
  if (isScalar(node)) return `scalar (${JSON.stringify(String(node.value)).slice(0, 40)})`;
  return 'non-mapping node';
}

class Converter {
  private expanded = 0;
  private readonly aliasStack: YamlNode[] = [];

  constructor(
    private readonly doc: Document.Parsed,
    private readonly source: SourceText,
  ) {}

  private spanOf(node: { range?: [number, number, number] | null } | null | undefined): Span | undefined {
    const range = node?.range;
    return range
      ? { source: this.source, start: range[0], end: Math.max(range[1], range[0] + 1) }
      : undefined;
  }

  convert(node: unknown, depth: number, aliasSpan?: Span): PyValue {
    if (++this.expanded > maxExpandedNodes) {
      throw new DiagnosticsError([
        error(
          'E104',
          `aliases expand to more than ${maxExpandedNodes} values; this is an alias bomb, not an experiment`,
          aliasSpan ?? this.spanOf(node as YamlNode),
        ),
      ]);
    }
    if (depth > maxNestingDepth) {
      throw new DiagnosticsError([
        error(
          'E108',
          `values nest deeper than ${maxNestingDepth} levels`,
          aliasSpan ?? this.spanOf(node as YamlNode),
        ),
      ]);
    }
    if (isAlias(node)) {
      const target = node.resolve(this.doc) as YamlNode | undefined;
      const span = aliasSpan ?? this.spanOf(node);
      if (!target) throw new DiagnosticsError([error('E101', `unknown alias *${node.source}`, span)]);
      if (this.aliasStack.includes(target)) {
        throw new DiagnosticsError([
          error('E105', `alias *${node.source} refers to a value that contains it`, span),
        ]);
      }
      this.aliasStack.push(target);
      const value = this.convert(target, depth + 1, span);
      this.aliasStack.pop();
      return value;
    }
    const span = aliasSpan ?? this.spanOf(node as YamlNode);
    if (isMap(node)) {
      this.aliasStack.push(node as YamlNode);
      const entries = new Map<string, CfgEntry>();
      const merged: CfgNode[] = [];
      for (const pair of node.items) {
        const keySpan = aliasSpan ?? this.spanOf(pair.key as YamlNode);
        if (isScalar(pair.key) && pair.key.type === 'PLAIN' && pair.key.value === '<<') {
          merged.push(...this.mergeSources(pair.value, depth, keySpan));
          continue;
        }
        const key = this.keyString(pair.key);
        entries.set(key, {
          value: this.convert(pair.value, depth + 1, aliasSpan),
          ...(keySpan ? { keySpan } : {}),
        });
      }
      this.aliasStack.pop();
      // Merge keys: explicit keys win, then earlier merged mappings over later ones (YAML 1.1 merge).
      for (const source of merged) {
        for (const [key, entry] of source.entries) if (!entries.has(key)) entries.set(key, entry);
      }
      return { type: 'node', entries, newAllowed: false, ...(span ? { span } : {}) };
    }
    if (isSeq(node)) {
      this.aliasStack.push(node as YamlNode);
      const items = node.items.map((item) => this.convert(item, depth + 1, aliasSpan));
      this.aliasStack.pop();
      return { type: 'list', items, ...(span ? { span } : {}) };
    }
    if (isScalar(node)) return this.scalar(node, span);
    // An empty value (`KEY:` with nothing after) is YAML null.
    return { type: 'none', ...(span ? { span } : {}) };
  }

  private mergeSources(value: unknown, depth: number, span: Span | undefined): CfgNode[] {
    const sources = isSeq(value) ? value.items : [value];
    return sources.map((item) => {
      const converted = this.convert(item, depth + 1);
      if (converted.type !== 'node') {
        throw new DiagnosticsError([error('E101', 'a merge key (<<) must refer to a mapping', span)]);
      }
      return converted;
    });
  }

  private keyString(key: unknown): string {
    if (isScalar(key)) {
      const v = key.value;
      return typeof v === 'string'
        ? v
        : v === null
          ? 'None'
          : typeof v === 'boolean'
            ? v
              ? 'True'
              : 'False'
            : String(v);
    }
    throw new DiagnosticsError([
      error(
        'E101',
        'a mapping key must be a plain word, not a list or mapping',
        this.spanOf(key as YamlNode),
      ),
    ]);
  }

  private scalar(
    node: { value: unknown; type?: string; range?: [number, number, number] | null },
    span?: Span,
  ): PyValue {
    // An empty value (`KEY:`) has no text of its own; errors about it point at its key instead.
    const isEmpty = node.range ? node.range[0] === node.range[1] : true;
    const spanPart = span && !isEmpty ? { span } : {};
    const value = node.value;
    const raw = node.range ? this.source.text.slice(node.range[0], node.range[1]) : '';
    // PyYAML's YAML 1.1 booleans do not include the single letters y/n, unlike the yaml package's.
    if (node.type === 'PLAIN' && /^[yYnN]$/.test(raw)) return { type: 'str', value: raw, ...spanPart };
    if (typeof value === 'bigint') return { type: 'int', value, ...spanPart };
    if (typeof value === 'number') return { type: 'float', value, ...spanPart };
    if (typeof value === 'boolean') return { type: 'bool', value, ...spanPart };
    if (value === null || value === undefined) return { type: 'none', ...spanPart };
    if (typeof value === 'string') return { type: 'str', value, ...spanPart };
    // Timestamps and binary: keep what was written; yacs would reject their type anyway.
    return { type: 'str', value: raw, ...spanPart };
  }
}
