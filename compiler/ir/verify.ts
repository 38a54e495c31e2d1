import type { Graph } from './graph.ts';
import { type AttrKind, isOp, opDefinitions, parameterRoles } from './ops.ts';
import { formatType, sameType } from './tensor-type.ts';

/**
 * Checks the invariants every pass must keep: ids are indices, inputs come earlier, arities and
 * attributes match the op table, every type equals what the op's shape rule infers, parameter names
 * are unique, and there is at least one output. Returns the problems found (empty when valid).
 */
export interface GraphProblem {
  /** The node the problem is at, when it is at one. */
  readonly node?: number;
  readonly message: string;
}

export function verifyGraph(graph: Graph): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const parameterNames = new Set<string>();
  graph.nodes.forEach((node, index) => {
    const report = (message: string) => problems.push({ node: index, message });
    if (node.id !== index) report(`id ${node.id} is not its index`);
    if (!isOp(node.op)) {
      report(`unknown op`);
      return;
    }
    const definition = opDefinitions[node.op];
    const [min, max] =
      typeof definition.arity === 'number' ? [definition.arity, definition.arity] : definition.arity;
    if (node.inputs.length < min || node.inputs.length > max) {
      report(`takes ${min === max ? min : `${min}-${max}`} inputs, has ${node.inputs.length}`);
    }
    for (const input of node.inputs) {
      if (!(input >= 0 && input < index)) report(`input %${input} does not come before it`);
    }
    for (const [key, value] of Object.entries(node.attrs)) {
      const kind = (definition.attrs as Record<string, AttrKind>)[key];
      if (!kind) report(`unknown attribute ${key}`);
      else if (!attrFits(kind, value)) report(`attribute ${key} must be ${kind}`);
    }
    for (const key of Object.keys(definition.attrs)) {
      if (!(key in node.attrs)) report(`missing attribute ${key}`);
    }
    if (node.op === 'parameter') {
      if (parameterNames.has(node.module)) report(`duplicate parameter name`);
      parameterNames.add(node.module);
      if (!parameterRoles.includes(node.attrs.role as never))
        report(`unknown role ${String(node.attrs.role)}`);
      if (node.type.shape.includes('N')) report(`parameters have no batch dimension`);
    }
    if (problems.some((p) => p.node === index) || definition.group === 'source') return;
    const inputTypes = node.inputs.map((i) => graph.nodes[i]!.type);
    const inferred = definition.infer(inputTypes, node.attrs);
    if (typeof inferred === 'string') report(`${inferred}`);
    else if (!sameType(inferred, node.type)) {
      report(`type ${formatType(node.type)} but its inputs give ${formatType(inferred)}`);
    }
  });
  if (!graph.nodes.some((n) => n.op === 'output')) problems.push({ message: 'the graph has no output' });
  return problems;
}

function attrFits(kind: AttrKind, value: unknown): boolean {
  switch (kind) {
    case 'int':
      return Number.isInteger(value);
    case 'float':
      return typeof value === 'number';
    case 'bool':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    case 'ints':
      return Array.isArray(value) && value.every(Number.isInteger);
  }
}

export function assertValidGraph(graph: Graph): Graph {
  const problems = verifyGraph(graph);
  if (problems.length > 0) {
    const lines = problems.slice(0, 20).map((p) => {
      const node = p.node === undefined ? undefined : graph.nodes[p.node];
      return node ? `node ${node.id} (${node.op} ${node.module}): ${p.message}` : p.message;
    });
    throw new Error(`invalid IR:\n  ${lines.join('\n  ')}`);
  }
  return graph;
}
