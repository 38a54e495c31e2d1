import { Command } from 'commander';
import { registerTrainingCommands } from './commands/training.ts';
import { runProgram } from './run-program.ts';

/** What a generated train.ts calls: `hrnet train <its folder> …`. */
export async function runTrainCommand(compiledDirectory: string, args: readonly string[]): Promise<void> {
  const program = new Command('train.ts').showHelpAfterError('(run with --help for usage)');
  registerTrainingCommands(program);
  await runProgram(program, [process.argv[0]!, 'train.ts', 'train', compiledDirectory, ...args]);
}
