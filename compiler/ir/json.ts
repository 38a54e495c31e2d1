import type { Graph } from './graph.ts';
import { verifyGraph } from './verify.ts';

export const irJsonFormat = 'hrnetc-ir';
export const irJsonVersion = 1;

/** The graph as JSON (schemas/ir.schema.json): the same content as the text form. */
export function graphToJson(graph: Graph): string {
  const document = {
    format: irJsonFormat,
    version: irJsonVersion,
    name: graph.name,
    nodes: graph.nodes.map((n) => ({
      id: n.id,
      op: n.op,
      inputs: n.inputs,
      type: n.type,
      attrs: n.attrs,
      module: n.module,
    })),
  };
  return `${JSON.stringify(document, null, 1)}\n`;
}

/** Reads graph.json back; the result is verified, so a hand-edited file cannot smuggle in bad IR. */
export function graphFromJson(text: string): Graph {
  const document = JSON.parse(text) as {
    format?: string;
    version?: number;
    name: string;
    nodes: Graph['nodes'];
  };
  if (document.format !== irJsonFormat || document.version !== irJsonVersion) {
    throw new Error(`not an ${irJsonFormat} v${irJsonVersion} document`);
  }
  const graph: Graph = { name: document.name, nodes: document.nodes };
  const problems = verifyGraph(graph);
  if (problems.length > 0) throw new Error(`invalid IR JSON: ${problems[0]!.message}`);
  return graph;
}
