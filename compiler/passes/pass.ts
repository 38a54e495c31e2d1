import type { Graph } from '../ir/graph.ts';
import { printGraph } from '../ir/print.ts';
import { assertValidGraph } from '../ir/verify.ts';

/** A named graph-to-graph transformation. */
export interface Pass {
  readonly name: string;
  /** One line: what the pass does. */
  readonly description: string;
  readonly run: (graph: Graph) => Graph;
}

export interface PassDump {
  readonly pass: string;
  readonly text: string;
}

/**
 * Runs passes in order, verifying the graph after each one (a pass that breaks an invariant fails
 * here, naming itself) and keeping the printed IR after the passes whose name matches `dumpAfter`.
 */
export function runPasses(
  graph: Graph,
  passes: readonly Pass[],
  dumpAfter?: RegExp,
): { graph: Graph; dumps: PassDump[] } {
  let current = graph;
  const dumps: PassDump[] = [];
  for (const pass of passes) {
    current = pass.run(current);
    try {
      assertValidGraph(current);
    } catch (e) {
      throw new Error(`pass ${pass.name} produced ${(e as Error).message}`);
    }
    if (dumpAfter?.test(pass.name)) {
      dumps.push({
        pass: pass.name,
        text: printGraph(current, { header: [`IR after pass ${pass.name}: ${pass.description}`] }),
      });
    }
  }
  return { graph: current, dumps };
}
