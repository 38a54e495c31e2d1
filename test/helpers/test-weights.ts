import { Prng } from '../../common/prng.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import type { NamedTensor } from '../../runtime/weights/safetensors.ts';

/**
 * Deterministic, well-scaled weights for tests, in the graph's parameter order (the official
 * state_dict order): conv weights U(±√(3/fan_in)), conv biases U(±0.1), BN γ U(0.5, 1.5),
 * β U(±0.2), running mean U(±0.2), running var U(0.5, 1.5). scripts/reference/prng.py draws the
 * same numbers for the PyTorch references.
 */
export function testWeights(graph: Graph, seed: number): Map<string, NamedTensor> {
  const prng = new Prng(seed);
  const weights = new Map<string, NamedTensor>();
  for (const node of graph.nodes) {
    if (node.op !== 'parameter') continue;
    const shape = node.type.shape as number[];
    const count = shape.reduce((n, d) => n * d, 1);
    const fanIn = count / shape[0]!;
    const [low, high] =
      shape.length === 4
        ? [-Math.sqrt(3 / fanIn), Math.sqrt(3 / fanIn)]
        : isConvBias(graph, node.id)
          ? [-0.1, 0.1]
          : bnRange(node.attrs.role as string);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = prng.uniform(low, high);
    weights.set(node.module, { shape, data });
  }
  return weights;
}

function isConvBias(graph: Graph, id: number): boolean {
  return graph.nodes.some((n) => (n.op === 'conv2d' || n.op === 'fused_conv2d') && n.inputs[2] === id);
}

function bnRange(role: string): [number, number] {
  switch (role) {
    case 'weight':
      return [0.5, 1.5];
    case 'running_var':
      return [0.5, 1.5];
    default:
      return [-0.2, 0.2];
  }
}

/** A deterministic input batch in [-1, 1). */
export function testInput(count: number, seed: number): Float32Array {
  const prng = new Prng(seed);
  return Float32Array.from({ length: count }, () => prng.uniform(-1, 1));
}
