import { readFileSync, statSync } from 'node:fs';
import { type Diagnostic, error } from '../diagnostics/diagnostic.ts';
import { makeSourceText, type SourceText } from '../diagnostics/source-text.ts';

/** Experiment files are a few kilobytes; anything near this is a mistake, not a config. */
export const maxExperimentBytes = 1024 * 1024;

export type ReadResult =
  | { readonly ok: true; readonly source: SourceText }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** Reads a text file, refusing what cannot be an experiment before any parser sees it. */
export function readTextSource(path: string, displayName = path): ReadResult {
  let bytes: Buffer;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return fail(`${displayName} is a directory, not an experiment file`);
    if (stat.size > maxExperimentBytes) {
      return fail(
        `${displayName} is ${formatBytes(stat.size)}; experiment files are at most ${formatBytes(maxExperimentBytes)}`,
        'E002',
      );
    }
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? e);
    return fail(`cannot read ${displayName}: ${reason}`);
  }
  return decodeTextSource(bytes, displayName);
}

export function decodeTextSource(bytes: Uint8Array, displayName: string): ReadResult {
  const nul = bytes.indexOf(0);
  const badByte = nul >= 0 ? nul : isValidUtf8(bytes) ? -1 : firstInvalidUtf8(bytes);
  if (badByte >= 0) {
    // Point at the offending byte using the valid text before it.
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, badByte));
    const source = makeSourceText(displayName, before + ' ');
    const what = nul >= 0 ? 'a NUL byte' : 'bytes that are not UTF-8';
    return {
      ok: false,
      diagnostics: [
        error('E003', `${displayName} contains ${what}; experiment files are UTF-8 YAML text`, {
          source,
          start: before.length,
          end: before.length + 1,
        }),
      ],
    };
  }
  let text = new TextDecoder('utf-8').decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { ok: true, source: makeSourceText(displayName, text) };
}

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Index of the first byte that does not start or continue a valid UTF-8 sequence, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    const length =
      lead < 0x80
        ? 1
        : lead >= 0xc2 && lead <= 0xdf
          ? 2
          : lead >= 0xe0 && lead <= 0xef
            ? 3
            : lead >= 0xf0 && lead <= 0xf4
              ? 4
              : 0;
    if (length === 0 || i + length > bytes.length) return i;
    for (let k = 1; k < length; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    if (length > 1) {
      // Overlong forms, surrogates and code points past U+10FFFF are invalid too.
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(i, i + length));
      } catch {
        return i;
      }
    }
    i += length;
  }
  return -1;
}

function fail(message: string, code: 'E001' | 'E002' = 'E001'): ReadResult {
  return { ok: false, diagnostics: [error(code, message)] };
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}
