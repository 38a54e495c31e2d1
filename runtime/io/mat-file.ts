import { inflateSync } from 'node:zlib';
import { UserError } from '../../common/user-error.ts';

/** A MATLAB array: numeric (column-major values), char (a string), or cell (column-major items). */
export type MatValue =
  | { readonly kind: 'numeric'; readonly dims: readonly number[]; readonly data: Float64Array }
  | { readonly kind: 'char'; readonly dims: readonly number[]; readonly text: string }
  | { readonly kind: 'cell'; readonly dims: readonly number[]; readonly items: readonly MatValue[] };

const miINT8 = 1;
const miUINT8 = 2;
const miINT16 = 3;
const miUINT16 = 4;
const miINT32 = 5;
const miUINT32 = 6;
const miSINGLE = 7;
const miDOUBLE = 9;
const miINT64 = 12;
const miUINT64 = 13;
const miMATRIX = 14;
const miCOMPRESSED = 15;
const miUTF8 = 16;
const mxCELL = 1;
const mxCHAR = 4;

class MatReader {
  constructor(
    private readonly view: DataView,
    private readonly littleEndian: boolean,
  ) {}

  /** Reads the data element at `offset`: its type, payload bounds, and where the next one starts. */
  tag(offset: number): { type: number; start: number; size: number; next: number } {
    const first = this.view.getUint32(offset, this.littleEndian);
    if (first >>> 16 !== 0) {
      // Small data element: type and size share the first 4 bytes, data in the next 4.
      return { type: first & 0xffff, start: offset + 4, size: first >>> 16, next: offset + 8 };
    }
    const size = this.view.getUint32(offset + 4, this.littleEndian);
    const padded = first === miCOMPRESSED ? size : Math.ceil(size / 8) * 8;
    return { type: first, start: offset + 8, size, next: offset + 8 + padded };
  }

  numbers(type: number, start: number, size: number): number[] {
    const v = this.view;
    const le = this.littleEndian;
    const read: Record<number, [number, (o: number) => number]> = {
      [miINT8]: [1, (o) => v.getInt8(o)],
      [miUINT8]: [1, (o) => v.getUint8(o)],
      [miINT16]: [2, (o) => v.getInt16(o, le)],
      [miUINT16]: [2, (o) => v.getUint16(o, le)],
      [miINT32]: [4, (o) => v.getInt32(o, le)],
      [miUINT32]: [4, (o) => v.getUint32(o, le)],
      [miSINGLE]: [4, (o) => v.getFloat32(o, le)],
      [miDOUBLE]: [8, (o) => v.getFloat64(o, le)],
      [miINT64]: [8, (o) => Number(v.getBigInt64(o, le))],
      [miUINT64]: [8, (o) => Number(v.getBigUint64(o, le))],
      [miUTF8]: [1, (o) => v.getUint8(o)],
    };
    const reader = read[type];
    if (!reader) throw new UserError(`unsupported MAT data type ${type}`);
    const [width, get] = reader;
    return Array.from({ length: size / width }, (_, i) => get(start + i * width));
  }

  /** A miMATRIX element's contents (flags, dims, name, data). */
  matrix(start: number, end: number): { name: string; value: MatValue } {
    let offset = start;
    const flags = this.tag(offset);
    const arrayClass = this.view.getUint32(flags.start, this.littleEndian) & 0xff;
    offset = flags.next;
    const dimsTag = this.tag(offset);
    const dims = this.numbers(dimsTag.type, dimsTag.start, dimsTag.size);
    offset = dimsTag.next;
    const nameTag = this.tag(offset);
    const name = String.fromCharCode(...this.numbers(nameTag.type, nameTag.start, nameTag.size));
    offset = nameTag.next;
    const count = dims.reduce((n, d) => n * d, 1);
    if (arrayClass === mxCELL) {
      const items: MatValue[] = [];
      for (let i = 0; i < count && offset < end; i++) {
        const item = this.tag(offset);
        items.push(this.matrix(item.start, item.start + item.size).value);
        offset = item.next;
      }
      return { name, value: { kind: 'cell', dims, items } };
    }
    if (count === 0) return { name, value: { kind: 'numeric', dims, data: new Float64Array(0) } };
    const real = this.tag(offset);
    const values = this.numbers(real.type, real.start, real.size);
    if (arrayClass === mxCHAR)
      return { name, value: { kind: 'char', dims, text: String.fromCharCode(...values) } };
    return { name, value: { kind: 'numeric', dims, data: Float64Array.from(values) } };
  }
}

/**
 * Reads the variables of a MATLAB v5/v7 .mat file (compressed or not): numeric arrays, char arrays
 * and cell arrays, which is what MPII's gt_valid.mat holds. Structs and sparse arrays are refused.
 */
export function readMatFile(bytes: Uint8Array, what: string): Map<string, MatValue> {
  if (bytes.length < 128) throw new UserError(`${what} is too short to be a MAT file`);
  const endian = String.fromCharCode(bytes[126]!, bytes[127]!);
  if (endian !== 'IM' && endian !== 'MI')
    throw new UserError(`${what} is not a MATLAB v5 MAT file (v7.3 files are HDF5; save with -v7)`);
  const variables = new Map<string, MatValue>();
  const walk = (data: Uint8Array, from: number) => {
    const reader = new MatReader(
      new DataView(data.buffer, data.byteOffset, data.byteLength),
      endian === 'IM',
    );
    let offset = from;
    while (offset + 8 <= data.length) {
      const tag = reader.tag(offset);
      if (tag.type === miCOMPRESSED) {
        walk(inflateSync(data.subarray(tag.start, tag.start + tag.size)), 0);
      } else if (tag.type === miMATRIX) {
        const { name, value } = reader.matrix(tag.start, tag.start + tag.size);
        variables.set(name, value);
      }
      offset = tag.next;
    }
  };
  try {
    walk(bytes, 128);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${what} could not be read as a MAT file: ${(e as Error).message}`);
  }
  return variables;
}
