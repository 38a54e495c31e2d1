import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';

const appendFlag = 0o2000;

/**
 * Whether standard error can be pointed elsewhere and back without harm. Node cannot dup a file
 * descriptor, so "back" means reopening /proc/self/fd/2, a new open file description: harmless for a
 * terminal or a pipe, and for a file opened for appending; for a file written at an offset (`> log`)
 * the shell's offset would fall behind ours and later writes would overwrite this process's lines.
 */
function canSwapStderr(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    fstatSync(0);
    fstatSync(1);
    const stat = fstatSync(2);
    if (stat.isCharacterDevice() || stat.isFIFO()) return true;
    if (!stat.isFile()) return false;
    const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync('/proc/self/fdinfo/2', 'utf8'))?.[1];
    return flags !== undefined && (Number.parseInt(flags, 8) & appendFlag) !== 0;
  } catch {
    return false;
  }
}

/**
 * Runs `work` with native writes to standard error discarded. Dawn prints two warnings from C++
 * (`maxDynamic…BuffersPerPipelineLayout artificially reduced`) while it enumerates adapters: facts
 * about Dawn's own limits, noise to a user. HRNETC_DEBUG=1 shows them. Only the synchronous part
 * of `work` is covered, so it must be short, and nothing of the program's own may be written in it.
 */
export function withNativeStderrQuiet<T>(work: () => T): T {
  if (process.env.HRNETC_DEBUG || !canSwapStderr()) return work();
  let saved: number;
  try {
    saved = openSync('/proc/self/fd/2', 'a');
  } catch {
    return work();
  }
  const restore = () => {
    openSync(`/proc/self/fd/${saved}`, 'a');
    closeSync(saved);
  };
  closeSync(2);
  // 0 and 1 are open (checked), so the lowest free descriptor, 2, goes to /dev/null.
  const quiet = openSync('/dev/null', 'a');
  if (quiet !== 2) {
    closeSync(quiet);
    restore();
    return work();
  }
  try {
    return work();
  } finally {
    closeSync(quiet);
    restore();
  }
}
