import type { ParameterInfo } from '../../runtime/program.ts';
import type { Graph } from './graph.ts';

/** The graph's parameters (weights, biases, BN running statistics) by official name, in graph order. */
export function graphParameters(graph: Pick<Graph, 'nodes'>): ParameterInfo[] {
  return graph.nodes
    .filter((n) => n.op === 'parameter')
    .map((n) => ({
      name: n.module,
      shape: n.type.shape as number[],
      role: n.attrs.role as ParameterInfo['role'],
    }));
}
