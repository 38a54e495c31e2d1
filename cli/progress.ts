import cliProgress from 'cli-progress';
import type { KernelProgress } from '../runtime/gpu/adapter.ts';

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

/**
 * Progress of kernel preparation (createPipelines) as a bar per program: on a machine whose shader
 * cache is empty this is where the first run spends its minutes. Without a terminal, one line when
 * preparation took long enough to matter.
 */
export function kernelProgress(): KernelProgress {
  let bar: cliProgress.SingleBar | undefined;
  let started = 0;
  return (what, done, total) => {
    if (done === 0) {
      started = performance.now();
      bar = process.stderr.isTTY ? progressBar(`preparing ${what} kernels`, total) : undefined;
      return;
    }
    bar?.update(done);
    if (done < total) return;
    bar?.stop();
    const seconds = (performance.now() - started) / 1000;
    if (!process.stderr.isTTY && seconds >= 5)
      process.stderr.write(`hrnet: prepared ${total} ${what} kernels in ${seconds.toFixed(1)} s\n`);
  };
}
