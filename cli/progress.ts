import cliProgress from 'cli-progress';

/** A progress bar on stderr (the results go to stdout or files); quiet when stderr is not a terminal. */
export function progressBar(
  label: string,
  total: number,
  extra = '',
  payload: Record<string, string> = {},
): cliProgress.SingleBar {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {value}/{total} {percentage}% | ETA {eta_formatted}${extra ? ` | ${extra}` : ''}`,
      stream: process.stderr,
      noTTYOutput: false,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, payload);
  return bar;
}
