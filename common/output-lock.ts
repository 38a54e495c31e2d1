import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { makeDirectory, writeErrorMessage } from './atomic-write.ts';
import { UserError } from './user-error.ts';

/** The lock file a command holds in the output folder it writes. */
export const lockFileName = 'hrnet.lock';

/** What a lock file holds: who holds it, so that others can name it and tell a stale lock. */
export interface LockHolder {
  readonly pid: number;
  /** ISO time the lock was taken. */
  readonly started: string;
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat), to tell a reused pid. */
  readonly processStart?: string;
  readonly host: string;
  readonly command: string;
}

export interface OutputLock {
  readonly path: string;
  /** The holder of a stale lock this one replaced (its process had ended). */
  readonly tookOverFrom?: LockHolder;
  /** Removes the lock file (if it is still this process's); also done on exit and on SIGINT/SIGTERM. */
  release(): void;
}

/** Fields 3 onwards of /proc/<pid>/stat, or undefined off Linux or for a process that is gone. */
function processStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat (the start time). */
function processStart(pid: number): string | undefined {
  return processStat(pid)?.[19];
}

/** Whether the process that wrote `holder` still runs (a holder on another host counts as running). */
function holderRuns(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A killed holder whose parent has not reaped it yet still answers kill(pid, 0): a zombie holds nothing.
  if (processStat(holder.pid)?.[0] === 'Z') return false;
  const start = processStart(holder.pid);
  return holder.processStart === undefined || start === undefined || start === holder.processStart;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return Number.isInteger(holder.pid) && holder.pid > 0 ? holder : undefined;
  } catch {
    return undefined;
  }
}

const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Takes an exclusive lock on an output folder (creating the folder): a lock file made exclusively
 * (a hard link, which fails when the name exists, or O_EXCL) holding this process's pid and start time. When another live process holds it, throws a UserError
 * naming that pid; a lock whose process has ended (killed, crashed) is taken over. The lock is released
 * by `release()`, on exit (normal or by process.exit, e.g. after an error), and on SIGINT, SIGTERM and
 * SIGHUP, which then end the process after `onSignal` has run: by the signal itself (the shell sees
 * 128 + its number), not process.exit, whose teardown of native modules crashed (SIGSEGV) while
 * WebGPU kernels were still compiling on other threads.
 */
export function lockOutputDirectory(
  dir: string,
  options: {
    /** How messages name the folder, and what they add (see makeDirectory). */
    what?: string;
    hint?: string;
    /** How others' messages name the holder, e.g. 'hrnet train'. */
    command?: string;
    onSignal?: (signal: NodeJS.Signals) => void;
  } = {},
): OutputLock {
  makeDirectory(dir, options.what ?? 'the output folder', options.hint);
  const path = join(dir, lockFileName);
  const myStart = processStart(process.pid);
  const me: LockHolder = {
    pid: process.pid,
    started: new Date().toISOString(),
    ...(myStart !== undefined ? { processStart: myStart } : {}),
    host: hostname(),
    command: options.command ?? 'hrnet',
  };
  // The lock file appears whole or not at all: written under a name of its own, then hard-linked to
  // hrnet.lock, which fails if that exists (O_EXCL semantics, but no reader ever sees it empty).
  const draft = join(dir, `.${lockFileName}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`);
  try {
    writeFileSync(draft, `${JSON.stringify(me)}\n`, { flag: 'wx' });
  } catch (e) {
    rmSync(draft, { force: true });
    throw new UserError(writeErrorMessage(path, e, 'write the lock file'));
  }
  let tookOverFrom: LockHolder | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, path);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          // A file system without hard links: O_EXCL alone.
          try {
            writeFileSync(path, readFileSync(draft), { flag: 'wx' });
            break;
          } catch (e2) {
            if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST')
              throw new UserError(writeErrorMessage(path, e2, 'create the lock file'));
          }
        } else if (code !== 'EEXIST') {
          throw new UserError(writeErrorMessage(path, e, 'create the lock file'));
        }
      }
      const holder = readHolder(path);
      if (holder && holderRuns(holder)) {
        throw new UserError(
          `${dir} is in use by another ${holder.command} (pid ${holder.pid}${holder.host !== me.host ? ` on ${holder.host}` : ''}, since ${holder.started}); wait for it to end or stop it, or write elsewhere (${lockFileName} there names the holder)`,
        );
      }
      if (attempt >= 3) throw new UserError(`cannot take the lock ${path}: it keeps changing`);
      // Its holder ended without releasing it (killed, crashed), or it is not a lock file: take it over.
      tookOverFrom = holder ?? tookOverFrom;
      try {
        rmSync(path, { force: true });
      } catch (e) {
        throw new UserError(writeErrorMessage(path, e, 'remove the stale lock file'));
      }
    }
  } finally {
    rmSync(draft, { force: true });
  }

  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    for (const signal of signals) process.off(signal, onSignal);
    // Only this process's own lock is removed.
    try {
      if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
    } catch {
      // The folder is gone or unwritable: there is no lock left to hold others off.
    }
  };
  const onSignal = (signal: NodeJS.Signals) => {
    options.onSignal?.(signal);
    // release() removes this listener: the signal raised again takes its default action.
    release();
    process.kill(process.pid, signal);
  };
  process.on('exit', release);
  for (const signal of signals) process.on(signal, onSignal);
  return { path, ...(tookOverFrom ? { tookOverFrom } : {}), release };
}
