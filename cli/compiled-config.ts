import { join } from 'node:path';
import { UserError } from '../common/user-error.ts';
import { compileTimeOverrideErrors } from '../compiler/config/compile-time-keys.ts';
import { loadExperiment } from '../compiler/config/load-experiment.ts';
import type { RuntimeConfig } from '../runtime/experiment-settings.ts';
import type { Manifest } from '../runtime/program.ts';
import { printDiagnostics } from './diagnostics-output.ts';

/**
 * The config a compiled program was made from (OUT/<exp>/config.yaml) with the command line's
 * `KEY VALUE` overrides, checked by the front end like any experiment file. Overrides may change how
 * the program is run (data, test, training settings), not what was compiled into it: an override of a
 * compile-time key (compiler/config/compile-time-keys.ts) to another value is a located error.
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
  const compileTime = compileTimeOverrideErrors(overrides, result.experiment.tree, manifest.config);
  if (compileTime.length > 0) {
    printDiagnostics(compileTime);
    throw new UserError(
      `the program in ${directory} was compiled with other values of these keys; recompile the experiment (npx hrnetc EXP.yaml KEY VALUE …)`,
    );
  }
  return result.experiment.config as unknown as RuntimeConfig;
}
