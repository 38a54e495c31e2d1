import { join } from 'node:path';
import { UserError } from '../common/user-error.ts';
import { loadExperiment } from '../compiler/config/load-experiment.ts';
import type { RuntimeConfig } from '../runtime/experiment-settings.ts';
import type { Manifest } from '../runtime/program.ts';
import { printDiagnostics } from './diagnostics-output.ts';

/**
 * The config a compiled program was made from (OUT/<exp>/config.yaml) with the command line's
 * `KEY VALUE` overrides, checked by the front end like any experiment file. Overrides may change how
 * the program is run (data, test, training settings), not the network it was compiled for.
 */
export function compiledConfig(
  directory: string,
  manifest: Manifest,
  overrides: readonly string[],
): RuntimeConfig {
  const path = join(directory, 'config.yaml');
  const result = loadExperiment(path, { overrides, resolved: true });
  if (!result.ok) {
    printDiagnostics(result.diagnostics);
    throw new UserError(`the config in ${path} with these overrides is not valid`);
  }
  const config = result.experiment.config as unknown as RuntimeConfig;
  const compiledModel = JSON.stringify((manifest.config as RuntimeConfig | undefined)?.MODEL);
  if (compiledModel !== undefined && JSON.stringify(config.MODEL) !== compiledModel) {
    throw new UserError(
      'overrides of MODEL.* change the network; recompile the experiment with them instead (npx hrnetc EXP.yaml KEY VALUE …)',
    );
  }
  return config;
}
