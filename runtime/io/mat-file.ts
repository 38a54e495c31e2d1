import { inflateSync } from 'node:zlib';
import { UserError } from '../../common/user-error.ts';

/**
 * A MATLAB array: numeric (column-major values), char (a string), cell (column-major items), or
 * another class this reader does not decode (struct, sparse, object…), kept by its class name.
 */
export type MatValue =
  | { readonly kind: 'numeric'; readonly dims: readonly number[]; readonly data: Float64Array }
  | { readonly kind: 'char'; readonly dims: readonly number[]; readonly text: string }
  | { readonly kind: 'cell'; readonly dims: readonly number[]; readonly items: readonly MatValue[] }
  | { readonly kind: 'other'; readonly dims: readonly number[]; readonly className: string };

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
/** mxDOUBLE_CLASS … mxUINT64_CLASS. */
const mxFirstNumeric = 6;
const mxLastNumeric = 15;
const otherClassNames: Record<number, string> = {
  2: 'struct',
  3: 'object',
  5: 'sparse',
  16: 'function handle',
  17: 'opaque object',
};

/** A structural problem in the bytes (truncation, an impossible size): reported with the file name. */
class MatFormatError extends Error {}

/** String.fromCharCode over many codes without spreading them all onto the stack at once. */
function charCodesToString(codes: readonly number[]): string {
  let text = '';
  for (let i = 0; i < codes.length; i += 8192) text += String.fromCharCode(...codes.slice(i, i + 8192));
  return text;
}

class MatReader {
  constructor(
    private readonly view: DataView,
    private readonly littleEndian: boolean,
    /** Where these bytes come from, for messages: '' for the file, else 'in a compressed element'. */
    private readonly where: string,
  ) {}

  /**
   * Reads the data element at `offset`: its type, payload bounds, and where the next one starts.
   * `end` bounds the enclosing element; an element reaching past it means truncated or corrupt bytes.
   */
  tag(
    offset: number,
    end = this.view.byteLength,
  ): { type: number; start: number; size: number; next: number } {
    if (offset + 8 > end)
      throw new MatFormatError(
        `a data element at byte ${offset}${this.where} needs 8 header bytes but only ${Math.max(0, end - offset)} remain`,
      );
    const first = this.view.getUint32(offset, this.littleEndian);
    if (first >>> 16 !== 0) {
      // Small data element: type and size share the first 4 bytes, data in the next 4.
      const size = first >>> 16;
      if (size > 4)
        throw new MatFormatError(`a small data element at byte ${offset}${this.where} claims ${size} bytes`);
      return { type: first & 0xffff, start: offset + 4, size, next: offset + 8 };
    }
    const size = this.view.getUint32(offset + 4, this.littleEndian);
    if (offset + 8 + size > end)
      throw new MatFormatError(
        `a data element at byte ${offset}${this.where} holds ${size} bytes but only ${end - offset - 8} remain`,
      );
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
    if (!reader) throw new MatFormatError(`unknown data type ${type} at byte ${start - 8}${this.where}`);
    const [width, get] = reader;
    if (size % width !== 0)
      throw new MatFormatError(
        `${size} bytes at byte ${start}${this.where} are not whole values of ${width} bytes`,
      );
    return Array.from({ length: size / width }, (_, i) => get(start + i * width));
  }

  /** A miMATRIX element's contents (flags, dims, name, data). */
  matrix(start: number, end: number): { name: string; value: MatValue } {
    let offset = start;
    const flags = this.tag(offset, end);
    const arrayClass = this.view.getUint32(flags.start, this.littleEndian) & 0xff;
    offset = flags.next;
    const dimsTag = this.tag(offset, end);
    const dims = this.numbers(dimsTag.type, dimsTag.start, dimsTag.size);
    offset = dimsTag.next;
    const nameTag = this.tag(offset, end);
    const name = charCodesToString(this.numbers(nameTag.type, nameTag.start, nameTag.size));
    offset = nameTag.next;
    const count = dims.reduce((n, d) => n * d, 1);
    if (arrayClass === mxCELL) {
      const items: MatValue[] = [];
      for (let i = 0; i < count && offset < end; i++) {
        const item = this.tag(offset, end);
        items.push(this.matrix(item.start, item.start + item.size).value);
        offset = item.next;
      }
      return { name, value: { kind: 'cell', dims, items } };
    }
    if (arrayClass !== mxCHAR && (arrayClass < mxFirstNumeric || arrayClass > mxLastNumeric)) {
      const className = otherClassNames[arrayClass] ?? `class ${arrayClass}`;
      return { name, value: { kind: 'other', dims, className } };
    }
    if (count === 0) return { name, value: { kind: 'numeric', dims, data: new Float64Array(0) } };
    const real = this.tag(offset, end);
    const values = this.numbers(real.type, real.start, real.size);
    if (arrayClass === mxCHAR)
      return { name, value: { kind: 'char', dims, text: charCodesToString(values) } };
    return { name, value: { kind: 'numeric', dims, data: Float64Array.from(values) } };
  }
}

/**
 * Reads the variables of a MATLAB v5/v7 .mat file (compressed or not): numeric arrays, char arrays
 * and cell arrays, which is what MPII's gt_valid.mat holds; other classes (structs, sparse arrays)
 * are kept as kind 'other'. `what` (the path) starts every message: a file that is too short, not a
 * v5 MAT file (v7.3 files are HDF5), truncated or corrupt is a UserError that says which.
 */
export function readMatFile(bytes: Uint8Array, what: string): Map<string, MatValue> {
  if (bytes.length < 128)
    throw new UserError(
      `${what}: not a MAT file: ${bytes.length} bytes, shorter than the 128-byte MAT header`,
    );
  const endian = String.fromCharCode(bytes[126]!, bytes[127]!);
  if (endian !== 'IM' && endian !== 'MI')
    throw new UserError(
      `${what}: not a MATLAB v5 MAT file (no MAT header; save it with MATLAB's -v7 or scipy)`,
    );
  const littleEndian = endian === 'IM';
  const version = littleEndian ? bytes[124]! | (bytes[125]! << 8) : (bytes[124]! << 8) | bytes[125]!;
  if (version === 0x0200)
    throw new UserError(
      `${what}: a MATLAB v7.3 (HDF5) MAT file; save it with -v7 (or scipy's savemat) instead`,
    );
  if (version !== 0x0100) throw new UserError(`${what}: unknown MAT file version 0x${version.toString(16)}`);
  const variables = new Map<string, MatValue>();
  const walk = (data: Uint8Array, from: number, where: string) => {
    const reader = new MatReader(
      new DataView(data.buffer, data.byteOffset, data.byteLength),
      littleEndian,
      where,
    );
    let offset = from;
    while (offset < data.length) {
      const tag = reader.tag(offset);
      if (tag.type === miCOMPRESSED) {
        let inflated: Uint8Array;
        try {
          inflated = inflateSync(data.subarray(tag.start, tag.start + tag.size));
        } catch (e) {
          throw new MatFormatError(
            `the compressed element at byte ${offset}${where} does not decompress (${(e as Error).message})`,
          );
        }
        walk(inflated, 0, ` in the compressed element at byte ${offset}`);
      } else if (tag.type === miMATRIX) {
        const { name, value } = reader.matrix(tag.start, tag.start + tag.size);
        variables.set(name, value);
      }
      offset = tag.next;
    }
  };
  try {
    walk(bytes, 128, '');
  } catch (e) {
    if (e instanceof MatFormatError)
      throw new UserError(`${what}: truncated or corrupt MAT file: ${e.message}`);
    if (e instanceof UserError) throw e;
    throw new UserError(`${what}: could not be read as a MAT file: ${(e as Error).message}`);
  }
  return variables;
}
