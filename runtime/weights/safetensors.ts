import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { UserError } from '../../common/user-error.ts';

/** A tensor read from or written to a safetensors file; values are converted to float32. */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type TensorMap = ReadonlyMap<string, NamedTensor>;

const dtypeBytes: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4 };

/** The largest header accepted, as in the reference safetensors implementation (100 MB). */
export const maxHeaderBytes = 100_000_000;
/** The most dimensions a tensor may have. */
const maxRank = 64;
/** The largest weight or tensor file read: 2 GiB, the most Node reads into one buffer. */
export const maxTensorFileBytes = 2 ** 31 - 1;

export class SafetensorsError extends UserError {}

/** The file each tensor map came from (set by readSafetensors), so later checks can name it. */
const sources = new WeakMap<TensorMap, string>();

/** Records the file `tensors` came from (for readers of other formats, like readWeights). */
export function setTensorSource(tensors: TensorMap, path: string): void {
  sources.set(tensors, path);
}

/** The path readSafetensors read `tensors` from, if it did. */
export function tensorSource(tensors: TensorMap): string | undefined {
  return sources.get(tensors);
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes. Every failure is a UserError that starts
 * with the path: a missing file, a folder, a device or pipe (which could be endless, like
 * /dev/zero), a file too large to read, one that cannot be opened.
 */
export function readInputFile(path: string, maxBytes: number, kind: string): Buffer {
  let fd: number | undefined;
  try {
    // stat first: opening a FIFO would wait for a writer.
    const stat = statSync(path);
    if (stat.isDirectory()) throw new UserError(`${path}: is a folder, not ${kind}`);
    if (!stat.isFile()) throw new UserError(`${path}: is not a regular file (a device, pipe or socket)`);
    if (stat.size > maxBytes) {
      throw new UserError(
        `${path}: is ${stat.size} bytes, more than the ${formatBytes(maxBytes)} hrnet reads as ${kind}`,
      );
    }
    fd = openSync(path, 'r');
    const bytes = Buffer.alloc(Math.min(fstatSync(fd).size, maxBytes));
    let filled = 0;
    while (filled < bytes.length) {
      const n = readSync(fd, bytes, filled, bytes.length - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${path}: ${describeFsError(e)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a folder, not a file';
  return `cannot read it (${code ?? (e as Error).message})`;
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${Math.round(n / 2 ** 30)} GiB` : `${Math.round(n / 2 ** 20)} MiB`;
}

/**
 * Names a few kinds of file by their first bytes, for messages about a file of the wrong kind
 * ("it is a PNG image"); undefined for anything else.
 */
export function describeContent(bytes: Uint8Array): string | undefined {
  const starts = (...prefix: number[]) => prefix.every((b, i) => bytes[i] === b);
  const ascii = (from: number, text: string) =>
    [...text].every((c, i) => bytes[from + i] === c.charCodeAt(0));
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'a PNG image';
  if (starts(0xff, 0xd8, 0xff)) return 'a JPEG image';
  if (ascii(0, 'GIF8')) return 'a GIF image';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'a WebP image';
  if (ascii(0, 'BM') && bytes.length >= 26) return 'a BMP image';
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return 'a TIFF image';
  if (ascii(4, 'ftyp')) return 'an ISO media file (HEIC/AVIF image or MP4 video)';
  if (starts(0x50, 0x4b, 0x03, 0x04)) return 'a zip archive (PyTorch .pth/.pt files are zip archives)';
  if (bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] >= 2 && bytes[1] <= 5)
    return 'a Python pickle (an old-style PyTorch .pth file?)';
  if (starts(0x93) && ascii(1, 'NUMPY')) return 'a NumPy .npy file';
  if (starts(0x89) && ascii(1, 'HDF')) return 'an HDF5 file';
  if (starts(0x1f, 0x8b)) return 'a gzip file';
  if (bytes.length >= 9 && bytes[8] === 0x7b && bytes[6] === 0 && bytes[7] === 0) return 'a safetensors file';
  const head = bytes.subarray(0, 24);
  if (head.length > 0 && head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127))) {
    const text = new TextDecoder().decode(head).replace(/\s+/g, ' ');
    return `text ("${text}${bytes.length > head.length ? '…' : ''}")`;
  }
  return undefined;
}

const pthHint =
  '; convert it in Python: safetensors.torch.save_file(torch.load(FILE, map_location="cpu"), "W.safetensors")';

function notSafetensors(what: string, bytes: Uint8Array, reason: string): SafetensorsError {
  const kind = describeContent(bytes);
  if (kind && kind !== 'a safetensors file') {
    const hint = kind.startsWith('a zip') || kind.startsWith('a Python pickle') ? pthHint : '';
    return new SafetensorsError(`${what}: is ${kind}, not a safetensors file${hint}`);
  }
  return new SafetensorsError(`${what}: is not a safetensors file (${reason})`);
}

interface HeaderEntry {
  readonly name: string;
  readonly dtype: string;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/**
 * Parses the safetensors format (8-byte little-endian header length, JSON header, raw data). F32,
 * F64, F16, BF16 and integer tensors are read and converted to float32, so weights exported from
 * PyTorch in any of these load. The whole header is checked before any tensor is decoded, as the
 * reference implementation does: field types, dtypes, shapes against byte ranges, ranges inside the
 * file, and ranges that neither overlap nor leave bytes unused. Every problem is a SafetensorsError
 * whose message starts with `what` (the path).
 */
export function parseSafetensors(bytes: Uint8Array, what = 'safetensors file'): Map<string, NamedTensor> {
  if (bytes.length === 0) throw new SafetensorsError(`${what}: is empty (0 bytes), not a safetensors file`);
  if (bytes.length < 8) {
    const kind = describeContent(bytes);
    if (kind && !kind.startsWith('text')) throw notSafetensors(what, bytes, '');
    throw new SafetensorsError(
      `${what}: is ${bytes.length} bytes, too short for a safetensors file (its header length alone takes 8)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getBigUint64(0, true);
  const available = bytes.length - 8;
  if (declared > BigInt(Math.min(available, maxHeaderBytes))) {
    throw notSafetensors(
      what,
      bytes,
      declared > BigInt(available)
        ? `its first 8 bytes give a header length of ${declared} bytes, but only ${available} bytes follow them`
        : `its header length ${declared} is over the ${maxHeaderBytes}-byte limit`,
    );
  }
  const headerLength = Number(declared);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    throw notSafetensors(what, bytes, 'its header is not UTF-8 text');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw notSafetensors(what, bytes, `its header is not JSON: ${(e as Error).message.slice(0, 80)}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    const kind = Array.isArray(header) ? 'an array' : header === null ? 'null' : `a ${typeof header}`;
    throw new SafetensorsError(`${what}: its safetensors header is ${kind}, not a JSON object`);
  }
  const dataLength = available - headerLength;
  const entries = headerEntries(header as Record<string, unknown>, dataLength, what);
  checkCoverage(entries, dataLength, what);
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const count = shape.reduce((n, d) => n * d, 1);
    tensors.set(name, {
      shape,
      data: decode(bytes.subarray(dataStart + begin, dataStart + end), dtype, count),
    });
  }
  return tensors;
}

function headerEntries(header: Record<string, unknown>, dataLength: number, what: string): HeaderEntry[] {
  const entries: HeaderEntry[] = [];
  const fail = (message: string) => new SafetensorsError(`${what}: ${message}`);
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      const ok =
        typeof info === 'object' &&
        info !== null &&
        !Array.isArray(info) &&
        Object.values(info).every((v) => typeof v === 'string');
      if (!ok) throw fail(`its __metadata__ is ${brief(info)}, not an object of strings`);
      continue;
    }
    if (typeof info !== 'object' || info === null || Array.isArray(info))
      throw fail(`tensor '${name}' is described by ${brief(info)}, not {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string') throw fail(`tensor '${name}' has dtype ${brief(dtype)}, not a string`);
    const size = dtypeBytes[dtype];
    if (!size || !Object.hasOwn(dtypeBytes, dtype)) {
      throw fail(
        `tensor '${name}' has dtype ${dtype}, which hrnet does not read (it reads ${Object.keys(dtypeBytes).join(', ')})`,
      );
    }
    if (!Array.isArray(shape) || !shape.every(isIndex))
      throw fail(`tensor '${name}' has shape ${brief(shape)}, not a list of non-negative integers`);
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every(isIndex) ||
      offsets[0]! > offsets[1]!
    ) {
      throw fail(
        `tensor '${name}' has data_offsets ${brief(offsets)}, not [begin, end] with 0 ≤ begin ≤ end`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (shape.length > maxRank)
      throw fail(`tensor '${name}' has ${shape.length} dimensions (hrnet reads at most ${maxRank})`);
    const needed = (shape as number[]).reduce((n, d) => n * BigInt(d), BigInt(size));
    if (needed !== BigInt(end - begin)) {
      throw fail(
        `tensor '${name}' is ${shapeText(shape)} ${dtype} (${needed} bytes), but its data_offsets [${begin}, ${end}] hold ${end - begin} bytes`,
      );
    }
    if (end > dataLength) {
      throw fail(
        `tensor '${name}' lies at bytes ${begin}..${end} of the data, but the file holds only ${dataLength} bytes of data (truncated?)`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  return entries;
}

/** Tensors must tile the data exactly: no overlaps, no unused bytes (as the reference requires). */
function checkCoverage(entries: readonly HeaderEntry[], dataLength: number, what: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: HeaderEntry | undefined;
  for (const entry of sorted) {
    if (entry.begin < position && previous) {
      throw new SafetensorsError(
        `${what}: tensors '${previous.name}' (bytes ${previous.begin}..${previous.end}) and '${entry.name}' (bytes ${entry.begin}..${entry.end}) overlap`,
      );
    }
    if (entry.begin > position) {
      throw new SafetensorsError(
        `${what}: bytes ${position}..${entry.begin} of the data belong to no tensor (a damaged or hand-made file)`,
      );
    }
    position = entry.end;
    previous = entry;
  }
  if (position !== dataLength) {
    throw new SafetensorsError(
      `${what}: has ${dataLength - position} bytes after the last tensor's data (a damaged or concatenated file)`,
    );
  }
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function shapeText(shape: readonly unknown[]): string {
  return shape.length === 0 ? 'a scalar' : shape.join('x');
}

function brief(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function decode(raw: Uint8Array, dtype: string, count: number): Float32Array {
  // A copy, aligned for typed-array views (Buffer.slice would share the unaligned pool).
  const copy = new Uint8Array(raw);
  const view = new DataView(copy.buffer);
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      return new Float32Array(copy.buffer, 0, count);
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    case 'F16':
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    case 'BF16': {
      const f = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        f.setUint32(0, view.getUint16(i * 2, true) << 16);
        out[i] = f.getFloat32(0);
      }
      return out;
    }
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
      return out;
    default:
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
  }
}

/** An IEEE half-precision value (as its 16 bits) as a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * Refuses a tensor holding NaN or ±infinity, naming it, how many such values it has and where the
 * first one is (as an index into its shape).
 */
export function requireFinite(what: string, name: string, tensor: NamedTensor): void {
  const data = tensor.data;
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first < 0) return;
  throw new SafetensorsError(
    `${what}: tensor '${name}' has ${count} non-finite value${count > 1 ? 's' : ''} (the first, ${data[first]}, at [${unravel(first, tensor.shape).join(', ')}])`,
  );
}

function unravel(index: number, shape: readonly number[]): number[] {
  const position: number[] = [];
  let rest = index;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const d = shape[axis]!;
    position.unshift(rest % d);
    rest = Math.floor(rest / d);
  }
  return position.length ? position : [index];
}

/** Reads a safetensors file (see parseSafetensors); every problem names the path. */
export function readSafetensors(path: string): Map<string, NamedTensor> {
  const tensors = parseSafetensors(readInputFile(path, maxTensorFileBytes, 'a safetensors file'), path);
  sources.set(tensors, path);
  return tensors;
}

/** Serializes float32 tensors in the given order, with optional string metadata. */
export function serializeSafetensors(
  tensors: Iterable<readonly [string, NamedTensor]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [name, tensor] of tensors) {
    const count = tensor.shape.reduce((n, d) => n * d, 1);
    if (count !== tensor.data.length)
      throw new SafetensorsError(
        `tensor ${name} has ${tensor.data.length} values for shape ${tensor.shape.join('x')}`,
      );
    header[name] = { dtype: 'F32', shape: tensor.shape, data_offsets: [offset, offset + count * 4] };
    chunks.push(tensor.data);
    offset += count * 4;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let position = 8 + headerBytes.length;
  for (const chunk of chunks) {
    out.set(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), position);
    position += chunk.byteLength;
  }
  return out;
}

export function writeSafetensors(
  path: string,
  tensors: Iterable<readonly [string, NamedTensor]>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata));
}
