import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { UserError } from '../../common/user-error.ts';

/** A tensor read from or written to a safetensors file; values are converted to float32. */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type TensorMap = ReadonlyMap<string, NamedTensor>;

const dtypeBytes: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I64: 8, I32: 4 };

export class SafetensorsError extends UserError {}

/**
 * Parses the safetensors format (8-byte little-endian header length, JSON header, raw data). F32,
 * F64, F16, BF16 and integer tensors are read and converted to float32, so weights exported from
 * PyTorch in any of these load.
 */
export function parseSafetensors(bytes: Uint8Array, what = 'safetensors file'): Map<string, NamedTensor> {
  if (bytes.length < 8) throw new SafetensorsError(`${what} is too short to be safetensors`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8 || headerLength > 100 * 1024 * 1024) {
    throw new SafetensorsError(`${what} is not safetensors (header length ${headerLength} exceeds the file)`);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new SafetensorsError(`${what} is not safetensors (its header is not JSON)`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const size = dtypeBytes[info.dtype];
    if (!size) throw new SafetensorsError(`${what}: tensor ${name} has unsupported dtype ${info.dtype}`);
    const [begin, end] = info.data_offsets;
    const count = info.shape.reduce((n, d) => n * d, 1);
    if (end - begin !== count * size || dataStart + end > bytes.length) {
      throw new SafetensorsError(`${what}: tensor ${name} has inconsistent offsets or is truncated`);
    }
    tensors.set(name, {
      shape: info.shape,
      data: decode(bytes.subarray(dataStart + begin, dataStart + end), info.dtype, count),
    });
  }
  return tensors;
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

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function readSafetensors(path: string): Map<string, NamedTensor> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SafetensorsError(
      `cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : String(code ?? e)}`,
    );
  }
  return parseSafetensors(bytes, path);
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
