import { inflateSync } from 'fflate';
import { UserError } from '../../common/user-error.ts';

/**
 * A strict reader for zip archives such as torch.save writes (stored entries, zip64 records), with
 * every offset, size and count checked against the file before it is used, so that a damaged
 * archive is a UserError rather than a hang or a huge allocation. Deflated entries (an archive
 * re-zipped by another tool) are inflated with fflate, lazily, when read.
 */
export interface ZipArchive {
  readonly names: readonly string[];
  /** The entry's contents, or undefined when there is no such entry. */
  read(name: string): Uint8Array | undefined;
}

interface Entry {
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

const maxEntrySize = 2 ** 31 - 1;

export function readZip(bytes: Uint8Array, what: string): ZipArchive {
  const fail = (message: string) => new UserError(`${what}: is a damaged zip archive (${message})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => {
    if (at < 0 || at + 2 > bytes.length) throw fail('a record runs past the end of the file');
    return view.getUint16(at, true);
  };
  const u32 = (at: number) => {
    if (at < 0 || at + 4 > bytes.length) throw fail('a record runs past the end of the file');
    return view.getUint32(at, true);
  };
  const u64 = (at: number) => {
    if (at < 0 || at + 8 > bytes.length) throw fail('a record runs past the end of the file');
    const value = view.getBigUint64(at, true);
    if (value > BigInt(bytes.length)) throw fail('a zip64 size or offset beyond the end of the file');
    return Number(value);
  };

  let end = -1;
  for (let at = bytes.length - 22; at >= 0 && at >= bytes.length - 22 - 65535; at--) {
    if (view.getUint32(at, true) === 0x06054b50) {
      end = at;
      break;
    }
  }
  if (end < 0) throw fail('no end-of-central-directory record; truncated?');
  let count = u16(end + 10);
  let directorySize = u32(end + 12);
  let directoryOffset = u32(end + 16);
  if (end >= 20 && u32(end - 20) === 0x07064b50) {
    const zip64End = u64(end - 12);
    if (u32(zip64End) !== 0x06064b50) throw fail('a zip64 locator that points to no zip64 record');
    count = u64(zip64End + 32);
    directorySize = u64(zip64End + 40);
    directoryOffset = u64(zip64End + 48);
  }
  if (directoryOffset + directorySize > bytes.length || count * 46 > directorySize)
    throw fail(`a central directory of ${count} entries that does not fit in the file`);

  const entries = new Map<string, Entry>();
  let at = directoryOffset;
  for (let i = 0; i < count; i++) {
    if (u32(at) !== 0x02014b50) throw fail(`central directory entry ${i} has no signature`);
    const method = u16(at + 10);
    let compressedSize = u32(at + 20);
    let size = u32(at + 24);
    const nameLength = u16(at + 28);
    const extraLength = u16(at + 30);
    const commentLength = u16(at + 32);
    let localOffset = u32(at + 42);
    const nameAt = at + 46;
    if (nameAt + nameLength + extraLength + commentLength > bytes.length)
      throw fail('an entry runs past the end');
    const name = new TextDecoder().decode(bytes.subarray(nameAt, nameAt + nameLength));
    // Zip64: the sizes and offset that are 0xffffffff are in extra field 0x0001, in this order.
    if (size === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff) {
      let field = nameAt + nameLength;
      const extraEnd = field + extraLength;
      while (field + 4 <= extraEnd && u16(field) !== 0x0001) field += 4 + u16(field + 2);
      if (field + 4 > extraEnd) throw fail(`entry ${name} lacks its zip64 sizes`);
      let value = field + 4;
      if (size === 0xffffffff) {
        size = u64(value);
        value += 8;
      }
      if (compressedSize === 0xffffffff) {
        compressedSize = u64(value);
        value += 8;
      }
      if (localOffset === 0xffffffff) localOffset = u64(value);
    }
    if (entries.has(name)) throw fail(`entry ${name} appears twice`);
    entries.set(name, { method, compressedSize, size, localOffset });
    at = nameAt + nameLength + extraLength + commentLength;
  }

  return {
    names: [...entries.keys()],
    read(name: string): Uint8Array | undefined {
      const entry = entries.get(name);
      if (!entry) return undefined;
      if (u32(entry.localOffset) !== 0x04034b50) throw fail(`entry ${name} has no local header`);
      const start = entry.localOffset + 30 + u16(entry.localOffset + 26) + u16(entry.localOffset + 28);
      if (start + entry.compressedSize > bytes.length)
        throw fail(`entry ${name} runs past the end of the file; truncated?`);
      const data = bytes.subarray(start, start + entry.compressedSize);
      if (entry.method === 0) {
        if (entry.size !== entry.compressedSize) throw fail(`stored entry ${name} has two sizes`);
        return data;
      }
      if (entry.method !== 8)
        throw new UserError(
          `${what}: zip entry ${name} uses compression method ${entry.method}, not stored or deflate`,
        );
      // Deflate expands at most ~1032 times: a larger claim is damage, not data.
      if (entry.size > maxEntrySize || entry.size > entry.compressedSize * 1100 + 1024)
        throw fail(`entry ${name} claims an impossible size`);
      let out: Uint8Array;
      try {
        out = inflateSync(data, { out: new Uint8Array(entry.size) });
      } catch (e) {
        throw fail(`entry ${name} does not inflate: ${(e as Error).message}`);
      }
      if (out.length !== entry.size) throw fail(`entry ${name} inflates to the wrong size`);
      return out;
    },
  };
}
