import { type LoadedExperiment, loadExperiment } from '../../compiler/config/load-experiment.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { lowerExperiment } from '../../compiler/pipeline.ts';

const experimentsDir = new URL('../../experiments/', import.meta.url);

/** Loads experiments/<relative> (with overrides) and fails the test with its diagnostics if invalid. */
export function loadTestExperiment(relative: string, overrides: string[] = []): LoadedExperiment {
  const result = loadExperiment(new URL(relative, experimentsDir).pathname, { overrides });
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.experiment;
}

/** The verified IR of experiments/<relative>. */
export function lowerTestExperiment(relative: string, overrides: string[] = []): Graph {
  const lowered = lowerExperiment(loadTestExperiment(relative, overrides));
  if (!lowered.ok) throw new Error(lowered.message);
  return lowered.graph;
}
