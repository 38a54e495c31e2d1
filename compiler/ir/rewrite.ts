import {
  consumers,
  eliminateDeadNodes,
  type Graph,
  GraphBuilder,
  type Node,
  type NodeSpec,
} from './graph.ts';

export interface RewriteContext {
  readonly original: Graph;
  /** Readers of each original node. */
  readonly consumers: readonly (readonly number[])[];
  /** The new id of an original node (already visited). */
  readonly mapped: (originalId: number) => number;
  /** Adds a node to the new graph, with inputs given as new ids. */
  readonly emit: (spec: NodeSpec) => number;
}

/**
 * Rebuilds a graph in one forward walk. `visit` may emit replacement nodes for an original node and
 * return the id standing for it; returning undefined copies the node unchanged. Nodes that nothing
 * reads any more are dropped at the end.
 */
export function rewriteGraph(
  graph: Graph,
  visit: (node: Node, context: RewriteContext) => number | undefined,
): Graph {
  const builder = new GraphBuilder(graph.name);
  const newIds: number[] = [];
  const context: RewriteContext = {
    original: graph,
    consumers: consumers(graph),
    mapped: (id) => {
      const mapped = newIds[id];
      if (mapped === undefined) throw new Error(`node ${id} used before it was visited`);
      return mapped;
    },
    emit: (spec) => builder.add(spec),
  };
  for (const node of graph.nodes) {
    const replacement = visit(node, context);
    newIds[node.id] = replacement ?? builder.add({ ...node, inputs: node.inputs.map(context.mapped) });
  }
  return eliminateDeadNodes(builder.build());
}
