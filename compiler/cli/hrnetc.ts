import { Command } from 'commander';
import { dumpConfig } from '../config/dump-config.ts';
import { loadExperiment } from '../config/load-experiment.ts';
import { printDiagnostics } from './diagnostics-output.ts';
import { addDirectoryOptions, type DirectoryFlags, exitCodes, runProgram } from './program.ts';

const program = new Command('hrnetc')
  .description('Compile HRNet experiment files into WebGPU programs')
  .showHelpAfterError('(run with --help for usage)');

addDirectoryOptions(
  program
    .command('check')
    .description('validate an experiment and print the resolved config (every key) as YAML')
    .argument('<experiment>', 'experiment YAML file')
    .argument('[overrides...]', 'KEY VALUE pairs, as in the official tools (values are Python literals)'),
).action((experiment: string, overrides: string[], flags: DirectoryFlags) => {
  const result = loadExperiment(experiment, { ...flags, overrides });
  if (!result.ok) {
    printDiagnostics(result.diagnostics);
    process.exitCode = exitCodes.diagnostics;
    return;
  }
  printDiagnostics(result.experiment.warnings);
  process.stdout.write(dumpConfig(result.experiment.tree));
});

await runProgram(program, process.argv);
