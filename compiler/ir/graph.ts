import type { Attrs, Op } from './ops.ts';
import type { TensorType } from './tensor-type.ts';

/**
 * One IR node. Nodes are immutable; `id` is the node's index in its graph, and inputs refer to
 * earlier ids, so `graph.nodes` is always in topological order.
 */
export interface Node {
  readonly id: number;
  readonly op: Op;
  readonly inputs: readonly number[];
  readonly type: TensorType;
  /** Sorted by key when printed. */
  readonly attrs: Attrs;
  /**
   * The official PyTorch module path that computes this node (`stage2.0.branches.1.3.conv2`), or, for
   * a parameter, its official state_dict key (`stage2.0.branches.1.3.conv2.weight`).
   */
  readonly module: string;
}

export interface Graph {
  /** The model name, e.g. `pose_hrnet`. */
  readonly name: string;
  readonly nodes: readonly Node[];
}

export type NodeSpec = Omit<Node, 'id'>;

/** Builds a graph node by node; each add returns the new node's id. */
export class GraphBuilder {
  private readonly nodes: Node[] = [];

  constructor(private readonly name: string) {}

  add(spec: NodeSpec): number {
    const id = this.nodes.length;
    for (const input of spec.inputs) {
      if (!(input >= 0 && input < id))
        throw new Error(`node ${id} (${spec.op}) refers to missing input ${input}`);
    }
    this.nodes.push({ ...spec, id, attrs: sortAttrs(spec.attrs) });
    return id;
  }

  typeOf(id: number): TensorType {
    return this.nodes[id]!.type;
  }

  build(): Graph {
    return { name: this.name, nodes: [...this.nodes] };
  }
}

export function sortAttrs(attrs: Attrs): Attrs {
  return Object.fromEntries(Object.entries(attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** For each node, the ids of the nodes that read it, in order. */
export function consumers(graph: Graph): number[][] {
  const result: number[][] = graph.nodes.map(() => []);
  for (const node of graph.nodes) for (const input of node.inputs) result[input]!.push(node.id);
  return result;
}

export function parameters(graph: Graph): Node[] {
  return graph.nodes.filter((n) => n.op === 'parameter');
}

export function outputs(graph: Graph): Node[] {
  return graph.nodes.filter((n) => n.op === 'output');
}

/**
 * Rebuilds a graph from nodes given in any order: sorts them topologically (stable with respect to
 * the given order) and renumbers ids and inputs. Throws on a cycle.
 */
export function topologicalOrder(name: string, nodes: readonly Node[]): Graph {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const state = new Map<number, 'visiting' | 'done'>();
  const order: Node[] = [];
  const visit = (id: number) => {
    const mark = state.get(id);
    if (mark === 'done') return;
    if (mark === 'visiting') throw new Error(`cycle through node ${id}`);
    state.set(id, 'visiting');
    const node = byId.get(id);
    if (!node) throw new Error(`missing node ${id}`);
    for (const input of node.inputs) visit(input);
    state.set(id, 'done');
    order.push(node);
  };
  for (const node of nodes) visit(node.id);
  const renumber = new Map(order.map((n, i) => [n.id, i]));
  return {
    name,
    nodes: order.map((n, i) => ({ ...n, id: i, inputs: n.inputs.map((input) => renumber.get(input)!) })),
  };
}

/**
 * Replaces uses of node `from` with node `to` in every later node, then drops nodes nothing reads
 * (outputs and parameters that are still used are kept), renumbering ids.
 */
export function substitute(graph: Graph, replacements: ReadonlyMap<number, number>): Graph {
  const resolve = (id: number): number => {
    let current = id;
    const seen = new Set<number>();
    while (replacements.has(current)) {
      if (seen.has(current)) throw new Error(`substitution cycle at node ${id}`);
      seen.add(current);
      current = replacements.get(current)!;
    }
    return current;
  };
  const rewired = graph.nodes.map((n) => ({ ...n, inputs: n.inputs.map(resolve) }));
  // A replacement may come later in the list than the nodes now reading it.
  return eliminateDeadNodes(topologicalOrder(graph.name, rewired));
}

/** Removes nodes that no output depends on, renumbering what remains. */
export function eliminateDeadNodes(graph: Graph): Graph {
  const live = new Set<number>();
  const mark = (id: number) => {
    if (live.has(id)) return;
    live.add(id);
    for (const input of graph.nodes[id]!.inputs) mark(input);
  };
  for (const node of graph.nodes) if (node.op === 'output') mark(node.id);
  const kept = graph.nodes.filter((n) => live.has(n.id));
  const renumber = new Map(kept.map((n, i) => [n.id, i]));
  return {
    name: graph.name,
    nodes: kept.map((n, i) => ({ ...n, id: i, inputs: n.inputs.map((input) => renumber.get(input)!) })),
  };
}
