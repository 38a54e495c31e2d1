import type { Graph, Node, NodeSpec } from '../ir/graph.ts';
import { GraphBuilder } from '../ir/graph.ts';
import type { Op } from '../ir/ops.ts';

/** Emits a backward node and returns its id. */
type Emit = (spec: NodeSpec) => number;

/**
 * One gradient rule per op: given the node, the id of its output's gradient and the emitter,
 * return the gradient of each input (undefined where none flows).
 */
type GradientRule = (node: Node, dy: number, emit: Emit, graph: Graph) => (number | undefined)[];

const typeOf = (graph: Graph, id: number) => graph.nodes[id]!.type;

export const gradientRules: Partial<Record<Op, GradientRule>> = {
  conv2d: (node, dy, emit, graph) => {
    const [x, weight, bias] = node.inputs as [number, number, number?];
    const { kernel, stride, pad } = node.attrs as { kernel: number; stride: number; pad: number };
    const [, , h, w] = typeOf(graph, x).shape as [unknown, unknown, number, number];
    const dx = emit({
      op: 'conv2d_grad_input',
      inputs: [dy, weight],
      type: typeOf(graph, x),
      attrs: { kernel, stride, pad, input_height: h, input_width: w },
      module: node.module,
    });
    const dw = emit({
      op: 'conv2d_grad_weight',
      inputs: [x, dy],
      type: typeOf(graph, weight),
      attrs: { kernel, stride, pad },
      module: node.module,
    });
    const db =
      bias === undefined
        ? undefined
        : emit({
            op: 'channel_sum',
            inputs: [dy],
            type: typeOf(graph, bias),
            attrs: {},
            module: node.module,
          });
    return [dx, dw, db];
  },
  // bn_stats carries no gradient of its own: bn_train's rule is the full batch-norm backward.
  bn_train: (node, dy, emit, graph) => {
    const [x, stats, gamma] = node.inputs as [number, number, number, number];
    const eps = node.attrs.eps as number;
    const vector = typeOf(graph, gamma);
    const dGamma = emit({
      op: 'bn_grad_gamma',
      inputs: [dy, x, stats],
      type: vector,
      attrs: { eps },
      module: node.module,
    });
    const dBeta = emit({ op: 'channel_sum', inputs: [dy], type: vector, attrs: {}, module: node.module });
    const dx = emit({
      op: 'bn_grad_input',
      inputs: [dy, x, stats, gamma, dGamma, dBeta],
      type: typeOf(graph, x),
      attrs: { eps },
      module: node.module,
    });
    return [dx, undefined, dGamma, dBeta];
  },
  relu: (node, dy, emit) => [
    emit({ op: 'relu_grad', inputs: [dy, node.id], type: node.type, attrs: {}, module: node.module }),
  ],
  add: (_node, dy) => [dy, dy],
  upsample_nearest: (node, dy, emit, graph) => [
    emit({
      op: 'upsample_nearest_grad',
      inputs: [dy],
      type: typeOf(graph, node.inputs[0]!),
      attrs: { scale: node.attrs.scale as number },
      module: node.module,
    }),
  ],
};

/**
 * Reverse-mode differentiation of `loss` with respect to every value it depends on: the backward
 * graph is appended to the forward one, in the same IR. A value read by several nodes gets the sum
 * of their contributions, added in a fixed order (reverse topological), so gradients are
 * deterministic. `seeds` gives the loss's own gradient with respect to its inputs.
 */
export function differentiate(
  graph: Graph,
  seeds: ReadonlyMap<number, (emit: Emit) => number>,
): { graph: Graph; gradients: Map<number, number> } {
  const builder = new GraphBuilder(graph.name);
  for (const node of graph.nodes)
    builder.add({
      op: node.op,
      inputs: node.inputs,
      type: node.type,
      attrs: node.attrs,
      module: node.module,
    });
  const emit: Emit = (spec) => builder.add(spec);
  const current = (): Graph => builder.build();
  const contributions = new Map<number, number[]>();
  const gradients = new Map<number, number>();
  for (const [id, seed] of seeds) contributions.set(id, [seed(emit)]);

  for (let id = graph.nodes.length - 1; id >= 0; id--) {
    const parts = contributions.get(id);
    if (!parts) continue;
    const node = graph.nodes[id]!;
    let dy = parts[0]!;
    for (const part of parts.slice(1))
      dy = emit({ op: 'add', inputs: [dy, part], type: node.type, attrs: {}, module: `${node.module}.grad` });
    gradients.set(id, dy);
    if (node.op === 'parameter' || node.op === 'input') continue;
    const rule = gradientRules[node.op];
    if (!rule) throw new Error(`no gradient rule for ${node.op} (${node.module})`);
    rule(node, dy, emit, current()).forEach((gradient, i) => {
      if (gradient === undefined) return;
      const input = node.inputs[i]!;
      contributions.set(input, [...(contributions.get(input) ?? []), gradient]);
    });
  }
  return { graph: current(), gradients };
}
