import { type Command, CommanderError, Option } from 'commander';

/** Exit codes shared by both tools: diagnostics are 1, usage errors 2, as compilers do. */
export const exitCodes = { ok: 0, diagnostics: 1, usage: 2 } as const;

/** --dataDir/--modelDir/--logDir, as the official tools/train.py and tools/test.py take them. */
export function addDirectoryOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--dataDir <dir>',
        'data directory, joined in front of DATASET.ROOT, MODEL.PRETRAINED, TEST.MODEL_FILE',
      ),
    )
    .addOption(new Option('--modelDir <dir>', 'sets OUTPUT_DIR'))
    .addOption(new Option('--logDir <dir>', 'sets LOG_DIR'));
}

/**
 * Runs a commander program and turns its outcomes into exit codes: usage errors exit 2 (commander
 * has already printed them), help and version exit 0, and unexpected exceptions print one line
 * instead of a stack trace (set HRNETC_DEBUG=1 to see it).
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<never> {
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv as string[]);
    process.exit(process.exitCode ?? exitCodes.ok);
  } catch (e) {
    if (e instanceof CommanderError) {
      const helpOrVersion = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(
        e.code,
      );
      process.exit(helpOrVersion ? exitCodes.ok : exitCodes.usage);
    }
    if (process.env.HRNETC_DEBUG) throw e;
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`error: ${message}\n(internal error; rerun with HRNETC_DEBUG=1 for details)\n`);
    process.exit(70);
  }
}

export interface DirectoryFlags {
  dataDir?: string;
  modelDir?: string;
  logDir?: string;
}
