import type { Graph, Node } from './graph.ts';
import type { AttrValue } from './ops.ts';
import { formatType } from './tensor-type.ts';

export interface PrintOptions {
  /** Comment lines printed first (without `// `), e.g. the generator and its input. */
  readonly header?: readonly string[];
}

/**
 * The IR as text: one op per line, SSA values `%k` numbered in topological order, parameters named
 * `@official.name`, shapes in the type, sorted attributes, and the module path after `#`.
 *
 *   %12: f32[N,32,64,48] = conv2d(%11, @stage2.0.branches.0.0.conv1.weight) {kernel=3, pad=1, stride=1}  # stage2.0.branches.0.0.conv1
 */
export function printGraph(graph: Graph, options: PrintOptions = {}): string {
  const names = valueNames(graph);
  const lines = (options.header ?? []).map((line) => `// ${line}`);
  lines.push(`graph ${graph.name} {`);
  for (const node of graph.nodes) lines.push(`  ${printNode(node, names)}`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** `%k` for values (counted without parameters), `@name` for parameters. */
export function valueNames(graph: Graph): string[] {
  let next = 0;
  return graph.nodes.map((n) => (n.op === 'parameter' ? `@${n.module}` : `%${next++}`));
}

function printNode(node: Node, names: readonly string[]): string {
  const operands = node.inputs.map((i) => names[i]).join(', ');
  const attrs = Object.entries(node.attrs);
  const attrText = attrs.length > 0 ? ` {${attrs.map(([k, v]) => `${k}=${printAttr(v)}`).join(', ')}}` : '';
  const module = node.op === 'parameter' ? '' : `  # ${node.module}`;
  return `${names[node.id]}: ${formatType(node.type)} = ${node.op}(${operands})${attrText}${module}`;
}

export function printAttr(value: AttrValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  return String(value);
}
