import { parseDocument } from 'yaml';
import { parsePythonLiteral } from './python-literal.ts';
import { type CfgNode, floatRepr, type PyValue, pythonRepr } from './python-value.ts';

/**
 * The resolved config as YAML in the layout of yacs's `cfg.dump()` (PyYAML safe_dump: sorted keys, block
 * style, lists as `- item` at the key's indentation). Reading the dump back gives the same config.
 */
export function dumpConfig(root: CfgNode): string {
  const lines: string[] = [];
  writeNode(root, 0, lines);
  return `${lines.join('\n')}\n`;
}

function writeNode(node: CfgNode, indent: number, lines: string[]): void {
  const pad = ' '.repeat(indent);
  for (const key of [...node.entries.keys()].sort()) {
    const value = node.entries.get(key)!.value;
    const keyText = scalarText(key);
    if (value.type === 'node') {
      if (value.entries.size === 0) {
        lines.push(`${pad}${keyText}: {}`);
      } else {
        lines.push(`${pad}${keyText}:`);
        writeNode(value, indent + 2, lines);
      }
    } else if (isSequence(value) && value.items.length > 0) {
      lines.push(`${pad}${keyText}:`);
      writeSequence(value.items, indent, lines);
    } else {
      lines.push(`${pad}${keyText}: ${inline(value)}`);
    }
  }
}

function writeSequence(items: readonly PyValue[], indent: number, lines: string[]): void {
  const pad = ' '.repeat(indent);
  for (const item of items) {
    if (isSequence(item) && item.items.length > 0) {
      // PyYAML writes nested lists as `- - a` with the inner items aligned under the first.
      const inner: string[] = [];
      writeSequence(item.items, indent + 2, inner);
      lines.push(`${pad}- ${inner[0]!.trimStart()}`, ...inner.slice(1));
    } else if (item.type === 'node' && item.entries.size > 0) {
      const inner: string[] = [];
      writeNode(item, indent + 2, inner);
      lines.push(`${pad}- ${inner[0]!.trimStart()}`, ...inner.slice(1));
    } else {
      lines.push(`${pad}- ${inline(item)}`);
    }
  }
}

function isSequence(value: PyValue): value is PyValue & { items: readonly PyValue[] } {
  return value.type === 'list' || value.type === 'tuple' || value.type === 'set';
}

function inline(value: PyValue): string {
  switch (value.type) {
    case 'int':
      return value.value.toString();
    case 'float':
      return yamlFloat(value.value);
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'none':
      return 'null';
    case 'str':
      // A string that is itself a Python literal would be decoded on reading back; quote it as Python does.
      return parsePythonLiteral(value.value).ok ? scalarText(pythonRepr(value)) : scalarText(value.value);
    case 'list':
    case 'tuple':
    case 'set':
      return `[${value.items.map(inline).join(', ')}]`;
    case 'dict':
      return `{${value.entries.map((e) => `${inline(e.key)}: ${inline(e.value)}`).join(', ')}}`;
    case 'node':
      return `{${[...value.entries].map(([k, e]) => `${scalarText(k)}: ${inline(e.value)}`).join(', ')}}`;
  }
}

/** YAML 1.1 floats need a dot (`1.0e-10`), else PyYAML reads them back as strings. */
function yamlFloat(value: number): string {
  if (Number.isNaN(value)) return '.nan';
  if (!Number.isFinite(value)) return value > 0 ? '.inf' : '-.inf';
  const repr = floatRepr(value);
  return /e/.test(repr) && !/\./.test(repr) ? repr.replace('e', '.0e') : repr;
}

/** A string as a plain scalar when YAML 1.1 reads it back as the same string, else single-quoted. */
function scalarText(text: string): string {
  if (text !== '' && !/^[\s]|[\s]$|[\n\t]/.test(text)) {
    const back = parseDocument(`k: ${text}`, { version: '1.1' });
    if (back.errors.length === 0 && (back.toJS() as { k?: unknown })?.k === text) return text;
  }
  return `'${text.replace(/'/g, "''")}'`;
}
