import { mkdirSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { emitArtifacts, emitKinds, lowerExperiment } from '../../compiler/pipeline.ts';
import { loadTestExperiment } from './experiments.ts';

const scratch = new URL('../../.test-output/', import.meta.url).pathname;

/**
 * Compiles experiments/<relative> as `hrnetc` would, into a fresh folder inside the repository (so
 * generated forward.ts files resolve 'hrnetc/runtime' like a user's do), and returns that folder.
 */
export async function compileTestExperiment(relative: string, overrides: string[] = []): Promise<string> {
  const experiment = loadTestExperiment(relative, overrides);
  const lowered = lowerExperiment(experiment);
  if (!lowered.ok) throw new Error(lowered.message);
  mkdirSync(scratch, { recursive: true });
  const dir = join(mkdtempSync(join(scratch, `${experiment.name}-`)), experiment.name);
  const artifacts = await emitArtifacts(
    { experiment, graph: lowered.graph, inputName: relative },
    new Set(emitKinds),
    { outDir: dir },
  );
  for (const artifact of artifacts) writeFileAtomic(join(dir, artifact.path), artifact.content);
  return dir;
}
