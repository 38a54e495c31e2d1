import { spawnSync } from 'node:child_process';

const root = new URL('../../', import.meta.url).pathname;

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one of the package's bins as a user would (`npx hrnetc …`), from the repository root. */
export function runCli(
  bin: 'hrnetc' | 'hrnet',
  args: readonly string[],
  options: { timeoutMs?: number; cwd?: string } = {},
): CliResult {
  const result = spawnSync(process.execPath, [`${root}bin/${bin}.js`, ...args], {
    cwd: options.cwd ?? root,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 600_000,
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
