import { type Command, CommanderError } from 'commander';
import { UserError } from '../common/user-error.ts';

/** Exit codes shared by both tools: diagnostics are 1, usage errors 2, as compilers do. */
export const exitCodes = { ok: 0, diagnostics: 1, usage: 2 } as const;

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
    if (e instanceof UserError && !process.env.HRNETC_DEBUG) {
      process.stderr.write(`${program.name()}: ${e.message}\n`);
      process.exit(exitCodes.diagnostics);
    }
    if (process.env.HRNETC_DEBUG) throw e;
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(
      `${program.name()}: ${message}\n(internal error; rerun with HRNETC_DEBUG=1 for details)\n`,
    );
    process.exit(70);
  }
}
