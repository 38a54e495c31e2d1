import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describeContent, readInputFile } from '../weights/safetensors.ts';
import { decodeJpeg } from './jpeg.ts';
import { checkSize, ImageError, maxImageFileBytes, type RgbImage } from './rgb-image.ts';

export { ImageError, maxImageFileBytes, maxImagePixels, type RgbImage } from './rgb-image.ts';

export interface DecodeOptions {
  /**
   * A JPEG's EXIF orientation tag: 'apply' rotates and mirrors the pixels as it says, as browsers,
   * PIL's exif_transpose and cv2.imread's default do (the official demo reads its image so);
   * 'ignore' (the default) keeps the stored pixel grid, as the official dataset loader does with
   * cv2.IMREAD_IGNORE_ORIENTATION, since dataset annotations refer to that grid.
   */
  readonly orientation?: 'apply' | 'ignore';
}

/**
 * Decodes a PNG or JPEG (chosen by content, not by name) to 8-bit RGB, as cv2.imread(IMREAD_COLOR)
 * does: greyscale is repeated into R, G and B, palettes are looked up, alpha (and a tRNS colour key)
 * is ignored, not composited, and 16-bit samples keep their high byte. CMYK JPEGs with an Adobe marker
 * are converted to RGB. Everything else that is wrong — empty, truncated, damaged, another format,
 * over maxImagePixels, unsupported JPEG codings — is an ImageError whose message starts with `what`.
 */
export function decodeImage(bytes: Uint8Array, what: string, options: DecodeOptions = {}): RgbImage {
  if (bytes.length === 0) throw new ImageError(`${what}: is empty (0 bytes), not a PNG or JPEG image`);
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47)
    return decodePng(bytes, what);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return decodeJpeg(bytes, what, options.orientation ?? 'ignore');
  const kind = describeContent(bytes);
  throw new ImageError(`${what}: is not a PNG or JPEG image${kind ? ` (it is ${kind})` : ''}`);
}

/** Reads and decodes an image file (see decodeImage); every problem names the path. */
export function readImage(path: string, options: DecodeOptions = {}): RgbImage {
  return decodeImage(readInputFile(path, maxImageFileBytes, 'an image'), path, options);
}

// ---------------------------------------------------------------------------------------------- PNG

const pngSignature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const pngChannels: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const pngDepths: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

interface PngHeader {
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  readonly colorType: number;
  readonly interlaced: boolean;
}

/**
 * Walks the chunks itself first (signature, IHDR, truncation, checksums, IEND), so that size limits
 * and damage get clear messages before pngjs runs; pngjs then decodes.
 */
function decodePng(bytes: Uint8Array, what: string): RgbImage {
  const fail = (problem: string) => new ImageError(`${what}: ${problem}`);
  if (!pngSignature.every((b, i) => bytes[i] === b))
    throw fail('is a damaged PNG: its 8-byte signature is wrong (was it copied as text?)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: PngHeader | undefined;
  let position = 8;
  let ended = false;
  let palette = false;
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  const idat: Uint8Array[] = [];
  while (position < bytes.length) {
    if (position + 8 > bytes.length) throw fail('is a truncated PNG: it ends inside a chunk header');
    const length = view.getUint32(position);
    const type = String.fromCharCode(...bytes.subarray(position + 4, position + 8));
    const name = /^[A-Za-z]{4}$/.test(type) ? type : 'a damaged';
    if (length > 2 ** 31 - 1) throw fail(`is a damaged PNG: ${name} chunk claims ${length} bytes`);
    const end = position + 12 + length;
    if (end > bytes.length) {
      throw fail(
        `is a truncated PNG: it ends inside its ${name} chunk (${bytes.length - position} of ${length + 12} bytes present)`,
      );
    }
    const data = bytes.subarray(position + 8, position + 8 + length);
    if (crc32(bytes.subarray(position + 4, position + 8 + length)) !== view.getUint32(position + 8 + length))
      throw fail(`is a damaged PNG: the checksum (CRC) of its ${name} chunk is wrong`);
    if (!header) {
      if (type !== 'IHDR' || length !== 13)
        throw fail('is a damaged PNG: it does not start with an IHDR chunk');
      header = readIhdr(new DataView(data.buffer, data.byteOffset, 13), fail);
      checkSize(header.width, header.height, what);
    }
    if (type === 'PLTE') palette = true;
    if (type === 'IDAT') idat.push(data);
    // A colour key only makes pixels transparent; alpha is ignored, and pngjs would blacken them.
    const colourKey = type === 'tRNS' && (header.colorType === 0 || header.colorType === 2);
    if (!colourKey) keep.push(bytes.subarray(position, end));
    position = end;
    if (type === 'IEND') {
      ended = true;
      break;
    }
  }
  if (!header) throw fail('is a truncated PNG: nothing follows its signature');
  if (!ended) throw fail('is a truncated PNG: it ends before its IEND chunk');
  if (!idat.length) throw fail('is a damaged PNG: it has no image data (IDAT chunk)');
  if (header.colorType === 3 && !palette)
    throw fail('is a damaged PNG: a palette image without a PLTE chunk');
  // Deflate packs at most 1032 bytes into one, so a few bytes of data cannot hold a large image:
  // refused here rather than after pngjs has allocated the image.
  const needed = header.interlaced ? interlacedBytes(header) : scanlineBytes(header);
  const compressed = idat.reduce((n, d) => n + d.length, 0);
  if (compressed * 1032 + 64 < needed) {
    throw fail(
      `is a truncated or damaged PNG: its ${compressed} bytes of image data cannot hold ${header.width}x${header.height} pixels`,
    );
  }
  // pngjs bounds the inflated size of non-interlaced images itself, but not of interlaced ones.
  if (header.interlaced) checkInflatedSize(Buffer.concat(idat), needed, fail);
  let png: { width: number; height: number; data: Uint8Array | Uint16Array };
  try {
    png = PNG.sync.read(Buffer.concat(keep), { skipRescale: true, checkCRC: false }) as typeof png;
  } catch (e) {
    throw fail(`is a damaged PNG (${pngProblem(e)})`);
  }
  const { width, height, depth, colorType } = header;
  if (png.width !== width || png.height !== height || png.data.length < width * height * 4)
    throw fail('is a damaged PNG (its decoded size does not match its IHDR)');
  const rgb = new Uint8Array(width * height * 3);
  const source = png.data;
  // 16-bit samples keep their high byte (libpng's strip_16, as OpenCV reads them); 1, 2 and 4-bit
  // grey levels are spread over 0..255 (pngjs leaves them as they are with skipRescale).
  const shift = depth === 16 ? 8 : 0;
  const scale = colorType === 0 && depth < 8 ? 255 / (2 ** depth - 1) : 1;
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = (source[i * 4]! >> shift) * scale;
    rgb[i * 3 + 1] = (source[i * 4 + 1]! >> shift) * scale;
    rgb[i * 3 + 2] = (source[i * 4 + 2]! >> shift) * scale;
  }
  return { width, height, data: rgb };
}

const crcTable = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]!) & 255]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function readIhdr(view: DataView, fail: (problem: string) => ImageError): PngHeader {
  const header = {
    width: view.getUint32(0),
    height: view.getUint32(4),
    depth: view.getUint8(8),
    colorType: view.getUint8(9),
    interlaced: view.getUint8(12) === 1,
  };
  if (header.width === 0 || header.height === 0)
    throw fail(`is a damaged PNG: its IHDR gives a size of ${header.width}x${header.height} pixels`);
  if (!pngDepths[header.colorType]?.includes(header.depth)) {
    throw fail(
      `is a damaged PNG: colour type ${header.colorType} with bit depth ${header.depth} is not a valid combination`,
    );
  }
  if (view.getUint8(10) !== 0 || view.getUint8(11) !== 0 || view.getUint8(12) > 1)
    throw fail('is a damaged PNG: its IHDR names an unknown compression, filter or interlace method');
  return header;
}

/** The inflated size of a non-interlaced image: its rows, each with a filter byte. */
function scanlineBytes({ width, height, depth, colorType }: PngHeader): number {
  return height * (1 + Math.ceil((width * pngChannels[colorType]! * depth) / 8));
}

/** The inflated size of an Adam7-interlaced image: each pass's rows, each with a filter byte. */
function interlacedBytes({ width, height, depth, colorType }: PngHeader): number {
  const bits = pngChannels[colorType]! * depth;
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ] as const;
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const columns = Math.ceil(Math.max(0, width - x0) / dx);
    const rows = Math.ceil(Math.max(0, height - y0) / dy);
    if (columns && rows) total += rows * (1 + Math.ceil((columns * bits) / 8));
  }
  return total;
}

function checkInflatedSize(compressed: Buffer, expected: number, fail: (problem: string) => ImageError) {
  try {
    inflateSync(compressed, { maxOutputLength: expected });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw fail(
        `is a damaged PNG: its image data inflates to more than the ${expected} bytes its size needs`,
      );
    throw fail(`is a damaged PNG (its compressed image data is corrupt: ${(e as Error).message})`);
  }
}

function pngProblem(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/crc/i.test(message)) return "a chunk's checksum (CRC) is wrong";
  if (/unexpected end of file/i.test(message)) return 'its compressed image data ends early';
  return `decoder: ${message.split('\n')[0]}`;
}

export function encodePng(image: RgbImage): Uint8Array {
  const png = new PNG({ width: image.width, height: image.height });
  for (let i = 0; i < image.width * image.height; i++) {
    png.data[i * 4] = image.data[i * 3]!;
    png.data[i * 4 + 1] = image.data[i * 3 + 1]!;
    png.data[i * 4 + 2] = image.data[i * 3 + 2]!;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}
