import { Command } from 'commander';
import { registerDataCommands } from './commands/data.ts';
import { registerEvaluationCommands } from './commands/evaluation.ts';
import { registerExportCommand } from './commands/export.ts';
import { registerInferenceCommands } from './commands/inference.ts';
import { registerInspectCommand } from './commands/inspect.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerTrainingCommands } from './commands/training.ts';
import { registerTuneCommand } from './commands/tune.ts';
import { runProgram } from './run-program.ts';

const program = new Command('hrnet')
  .description('Run programs compiled by hrnetc on a WebGPU adapter: forward, predict, test, weights, data')
  .showHelpAfterError('(run with --help for usage)');

registerInferenceCommands(program);
registerDataCommands(program);
registerEvaluationCommands(program);
registerTrainingCommands(program);
registerInspectCommand(program);
registerExportCommand(program);
registerServeCommand(program);
registerTuneCommand(program);

await runProgram(program, process.argv);
