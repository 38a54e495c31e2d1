import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UserError } from './user-error.ts';

/** The nearest of `path` and its ancestors that exists, or undefined (a relative root that is gone). */
function nearestExisting(path: string): string | undefined {
  let at = resolve(path);
  for (;;) {
    if (existsSync(at)) return at;
    const parent = dirname(at);
    if (parent === at) return undefined;
    at = parent;
  }
}

/** The ancestor of `path` (or `path` itself) that exists and is not a folder, if any. */
function fileInTheWay(path: string): string | undefined {
  const existing = nearestExisting(path);
  if (existing === undefined) return undefined;
  try {
    return statSync(existing).isDirectory() ? undefined : existing;
  } catch {
    return undefined;
  }
}

/** As the user wrote it when possible: `a/b` rather than /abs/a/b. */
function shown(absolute: string, asWritten: string): string {
  const written = resolve(asWritten);
  if (absolute === written) return asWritten;
  if (written.startsWith(`${absolute}/`)) {
    const tail = written.slice(absolute.length);
    return asWritten.endsWith(tail) ? asWritten.slice(0, asWritten.length - tail.length) || '/' : absolute;
  }
  return absolute;
}

/**
 * Why a file-system call on `path` failed, in words, from Node's error code: a full disk, a file where
 * a folder is needed, a read-only file system, no permission… `shownPath` is the path as the user gave
 * it (ancestors are named relative to it when possible).
 */
function reasonFor(path: string, error: unknown, shownPath: string): string {
  const e = error as NodeJS.ErrnoException;
  const code = e?.code;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return `the disk is full (${code})`;
    case 'ENOTDIR':
    case 'EEXIST': {
      const file = fileInTheWay(path);
      return file !== undefined
        ? `${shown(file, shownPath)} is a file, not a folder`
        : `a part of the path is not a folder (${code})`;
    }
    case 'EISDIR':
      return `${shownPath} is a folder`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'EROFS':
      return 'the file system is read-only (EROFS)';
    case 'ENOENT':
      return `${shown(dirname(resolve(path)), shownPath)} does not accept new files or folders (ENOENT)`;
    case 'ENAMETOOLONG':
      return 'the name is too long (ENAMETOOLONG)';
    case 'EMFILE':
    case 'ENFILE':
      return `too many open files (${code})`;
    case 'EIO':
      return 'an input/output error on the device (EIO)';
    default:
      return (e instanceof Error ? e.message : String(error)).split('\n')[0]!;
  }
}

/** Node's file-system errors (they carry a `code` such as ENOSPC), as opposed to bugs. */
function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string';
}

/**
 * One line saying why `path` could not be written (`verb` 'write', 'append to', …), from a Node
 * file-system error. For 'write' (always atomic here), adds that an existing file is unchanged.
 */
export function writeErrorMessage(path: string, error: unknown, verb = 'write'): string {
  let kept = '';
  try {
    if (verb === 'write' && statSync(path).isFile()) kept = `; the previous ${basename(path)} is unchanged`;
  } catch {
    // No previous file.
  }
  return `cannot ${verb} ${path}: ${reasonFor(path, error, path)}${kept}`;
}

/**
 * mkdir -p, one component at a time; returns why it failed, or undefined. (Node 20's
 * `mkdirSync(…, { recursive: true })` never returns on a path under /proc: ENOENT there makes it retry
 * the parent forever.)
 */
function createFolders(path: string, shownPath: string): string | undefined {
  const target = resolve(path);
  const missing: string[] = [];
  for (let at = target; !existsSync(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  const top = missing.length ? dirname(missing[0]!) : target;
  let at = top;
  try {
    if (!statSync(top).isDirectory()) return `${shown(top, shownPath)} is a file, not a folder`;
    for (const dir of missing) {
      at = dir;
      try {
        mkdirSync(dir);
      } catch (e) {
        // Another process may have made it meanwhile; anything else is an error.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(dir).isDirectory()) throw e;
      }
    }
    return undefined;
  } catch (e) {
    if (isFsError(e)) return reasonFor(at, e, shownPath);
    throw e;
  }
}

/**
 * Creates a folder and its missing parents; a failure throws a UserError naming the folder and saying
 * what is in the way. `what` names the folder in the message (e.g. 'the training output folder'), and
 * `hint` ends it (e.g. ' (check OUTPUT_DIR)').
 */
export function makeDirectory(path: string, what = 'the folder', hint = ''): void {
  const reason = createFolders(path, path);
  if (reason !== undefined) throw new UserError(`cannot create ${what} ${path}: ${reason}${hint}`);
}

/**
 * Writes a file so that readers see the old content or the new, never a torn one: write a temporary
 * file beside it, flush it to disk, then rename over the target. A failure (disk full, a file where a
 * folder should be, no permission) throws a UserError naming the path; the temporary file is removed
 * and the previous file, if any, is left exactly as it was.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const folderProblem = createFolders(dirname(path), path);
  if (folderProblem !== undefined) throw new UserError(`cannot write ${path}: ${folderProblem}`);
  const temporary = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    const fd = openSync(temporary, 'w');
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let offset = 0;
      while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (e) {
    try {
      rmSync(temporary, { force: true });
    } catch {
      // The error that stopped the write is the one to report.
    }
    if (isFsError(e)) throw new UserError(writeErrorMessage(path, e));
    throw e;
  }
}

/** appendFileSync with the same one-line errors as writeFileAtomic (a log line is the only change). */
export function appendFileChecked(path: string, data: string): void {
  try {
    appendFileSync(path, data);
  } catch (e) {
    if (isFsError(e)) throw new UserError(writeErrorMessage(path, e, 'append to'));
    throw e;
  }
}

/** Temporary files writeFileAtomic makes: `<name>.tmp-<pid>-<6 characters>`. */
export const temporaryFilePattern = /\.tmp-(\d+)-[a-z0-9]{1,6}$/;

/**
 * Checks, before any work is done, that `path` can be written as a file: a probe file is made (and
 * removed at once) beside it, or in its nearest existing ancestor folder. Throws a UserError naming the path and the reason; `flag`
 * names the option in the message (e.g. `-o`). Nothing that exists is changed.
 */
export function checkOutputFile(path: string, flag = '-o'): void {
  if (existsSync(path) && statSync(path).isDirectory())
    throw new UserError(`${flag} ${path} is a folder; name a file to write`);
  const problem = probeFolder(dirname(path), path);
  if (problem !== undefined) throw new UserError(`cannot write ${flag} ${path}: ${problem}`);
}

/** As checkOutputFile, for a folder the command fills with files (the command creates it when missing). */
export function checkOutputDirectory(path: string, flag = '-o'): void {
  const file = fileInTheWay(path);
  if (file !== undefined && file === resolve(path))
    throw new UserError(`${flag} ${path} is a file; it must be a folder (or a name for a new one)`);
  const problem = probeFolder(path, path);
  if (problem !== undefined) throw new UserError(`cannot write into ${flag} ${path}: ${problem}`);
}

/**
 * Checks that files can be made in `dir`: makes and removes a probe file in it or, when it does not
 * exist yet, in its nearest existing ancestor (nothing is created for good). Returns why not, or
 * undefined.
 */
function probeFolder(dir: string, shownPath: string): string | undefined {
  const existing = nearestExisting(dir) ?? resolve(dir);
  try {
    if (!statSync(existing).isDirectory()) return `${shown(existing, shownPath)} is a file, not a folder`;
  } catch (e) {
    if (isFsError(e)) return reasonFor(existing, e, shownPath);
    throw e;
  }
  const probe = join(existing, `.hrnet-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    closeSync(openSync(probe, 'wx'));
    return undefined;
  } catch (e) {
    if (isFsError(e)) return reasonFor(probe, e, shownPath);
    throw e;
  } finally {
    try {
      rmSync(probe, { force: true });
    } catch {
      // Nothing to clean.
    }
  }
}
