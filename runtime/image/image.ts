import { inflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UserError } from '../../common/user-error.ts';
import { describeContent, readInputFile } from '../weights/safetensors.ts';

/** An 8-bit RGB image, rows top to bottom. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/**
 * The most pixels an image may have: 2^26 (8192 x 8192, 67 megapixels). The size is read from the
 * PNG IHDR or JPEG SOF header before anything is decoded, so a header claiming 10^10 pixels is
 * refused without allocating.
 */
export const maxImagePixels = 2 ** 26;
/** The largest image file read: 1 GiB. */
export const maxImageFileBytes = 2 ** 30;

export class ImageError extends UserError {}

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

function checkSize(width: number, height: number, what: string): void {
  if (width * height > maxImagePixels) {
    throw new ImageError(
      `${what}: is ${width}x${height} pixels (${width * height}), more than the ${maxImagePixels} (8192x8192) hrnet decodes; scale it down first`,
    );
  }
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

// --------------------------------------------------------------------------------------------- JPEG

interface JpegFrame {
  readonly marker: number;
  readonly precision: number;
  readonly width: number;
  readonly height: number;
  readonly components: number;
  /** Each component's horizontal and vertical sampling factors. */
  readonly sampling: readonly (readonly [number, number])[];
}

const unsupportedCodings = new Map<number, string>([
  [0xc3, 'lossless'],
  [0xc5, 'differential'],
  [0xc6, 'differential progressive'],
  [0xc7, 'differential lossless'],
  [0xc9, 'arithmetic-coded'],
  [0xca, 'arithmetic-coded progressive'],
  [0xcb, 'arithmetic-coded lossless'],
  [0xcd, 'differential arithmetic-coded'],
  [0xce, 'differential arithmetic-coded progressive'],
  [0xcf, 'differential arithmetic-coded lossless'],
]);

function decodeJpeg(bytes: Uint8Array, what: string, orientation: 'apply' | 'ignore'): RgbImage {
  const fail = (problem: string) => new ImageError(`${what}: ${problem}`);
  const { frame, end, exifOrientation } = scanJpeg(bytes, what, fail);
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes.subarray(0, end), {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: maxImagePixels / 1e6 + 1,
      maxMemoryUsageInMB: 4096,
    });
  } catch (e) {
    throw fail(`is a damaged JPEG (decoder: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
  }
  if (
    decoded.width !== frame.width ||
    decoded.height !== frame.height ||
    decoded.data.length !== frame.width * frame.height * 3
  )
    throw fail('is a damaged JPEG (its decoded size does not match its frame header)');
  const image = { width: decoded.width, height: decoded.height, data: decoded.data };
  return orientation === 'apply' ? orient(image, exifOrientation) : image;
}

/**
 * Walks the JPEG's markers: the frame header (size, coding, components) is checked before decoding,
 * the EXIF orientation is read, and a file that ends before its end-of-image marker is truncated
 * (jpeg-js would decode it silently, filling the rest with grey).
 */
function scanJpeg(
  bytes: Uint8Array,
  what: string,
  fail: (problem: string) => ImageError,
): { frame: JpegFrame; end: number; exifOrientation: number } {
  let position = 2;
  let frame: JpegFrame | undefined;
  let scans = 0;
  let entropyBytes = 0;
  let adobe = false;
  let exifOrientation: number | undefined;
  const truncated = () =>
    fail(
      scans
        ? 'is a truncated JPEG: it ends inside its image data, before the end-of-image marker'
        : 'is a truncated JPEG: it ends before its image data',
    );
  for (;;) {
    // Bytes between segments are skipped, as libjpeg does (with a warning).
    position = bytes.indexOf(0xff, position);
    if (position < 0) throw truncated();
    while (bytes[position] === 0xff) position++;
    if (position >= bytes.length) throw truncated();
    const marker = bytes[position++]!;
    if (marker === 0xd9) break;
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    if (position + 2 > bytes.length) throw truncated();
    const length = (bytes[position]! << 8) | bytes[position + 1]!;
    const end = position + length;
    if (length < 2) throw fail(`is a damaged JPEG: a segment at byte ${position} has length ${length}`);
    if (end > bytes.length) throw truncated();
    const segment = bytes.subarray(position + 2, end);
    position = end;
    if (marker === 0xe1 && exifOrientation === undefined && startsWith(segment, 'Exif\0\0'))
      exifOrientation = readExifOrientation(segment.subarray(6));
    else if (marker === 0xee && startsWith(segment, 'Adobe')) adobe = true;
    else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (frame) throw fail('is a JPEG with more than one frame, which hrnet does not read');
      frame = readFrame(marker, segment, what, fail);
    } else if (marker === 0xda) {
      if (!frame) throw fail('is a damaged JPEG: its image data comes before its frame header (SOF)');
      scans++;
      const start = position;
      // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart.
      for (;;) {
        position = bytes.indexOf(0xff, position);
        if (position < 0 || position + 1 >= bytes.length) throw truncated();
        const next = bytes[position + 1]!;
        if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) position += 2;
        else if (next === 0xff) position += 1;
        else break;
      }
      entropyBytes += position - start;
    }
  }
  if (!frame) throw fail('is a damaged JPEG: it has no frame header (SOF)');
  if (!scans) throw fail('is a damaged JPEG: it has no image data (SOS)');
  // Every 8 x 8 block of every component takes at least one bit (its DC code), so a few bytes of
  // data cannot hold a large image: refused here rather than after jpeg-js has allocated it.
  if (entropyBytes * 8 < blockCount(frame)) {
    throw fail(
      `is a truncated or damaged JPEG: its ${entropyBytes} bytes of image data cannot hold ${frame.width}x${frame.height} pixels`,
    );
  }
  if (frame.components === 4 && !adobe) {
    throw fail(
      'is a 4-channel (CMYK) JPEG without an Adobe marker, so its colours cannot be known; save it as RGB',
    );
  }
  return { frame, end: position, exifOrientation: exifOrientation ?? 1 };
}

function readFrame(
  marker: number,
  segment: Uint8Array,
  what: string,
  fail: (problem: string) => ImageError,
): JpegFrame {
  if (segment.length < 6) throw fail('is a damaged JPEG: its frame header (SOF) is too short');
  const frame = {
    marker,
    precision: segment[0]!,
    height: (segment[1]! << 8) | segment[2]!,
    width: (segment[3]! << 8) | segment[4]!,
    components: segment[5]!,
    sampling: Array.from({ length: segment[5]! }, (_, i): [number, number] => {
      const factors = segment[6 + 3 * i + 1] ?? 0;
      return [factors >> 4, factors & 15];
    }),
  };
  const coding = unsupportedCodings.get(marker);
  if (coding)
    throw fail(`is a ${coding} JPEG, which hrnet does not decode; save it as a baseline JPEG or PNG`);
  if (frame.precision !== 8)
    throw fail(
      `is a ${frame.precision}-bit JPEG, which hrnet does not decode; save it as an 8-bit JPEG or PNG`,
    );
  if (frame.width === 0) throw fail('is a damaged JPEG: its frame header gives a width of 0');
  if (frame.height === 0)
    throw fail('is a JPEG whose height comes after its image data (DNL marker), which hrnet does not decode');
  checkSize(frame.width, frame.height, what);
  if (![1, 3, 4].includes(frame.components))
    throw fail(`is a JPEG with ${frame.components} colour channels; hrnet decodes 1 (grey), 3 and 4 (CMYK)`);
  if (segment.length < 6 + 3 * frame.components)
    throw fail('is a damaged JPEG: its frame header (SOF) is too short');
  if (frame.sampling.some(([h, v]) => h < 1 || h > 4 || v < 1 || v > 4))
    throw fail('is a damaged JPEG: its frame header gives a sampling factor outside 1 to 4');
  return frame;
}

/** The 8 x 8 blocks of all components (without MCU padding). */
function blockCount({ width, height, sampling }: JpegFrame): number {
  const hMax = Math.max(...sampling.map(([h]) => h));
  const vMax = Math.max(...sampling.map(([, v]) => v));
  return sampling.reduce(
    (n, [h, v]) =>
      n + Math.ceil(Math.ceil((width * h) / hMax) / 8) * Math.ceil(Math.ceil((height * v) / vMax) / 8),
    0,
  );
}

function startsWith(bytes: Uint8Array, text: string): boolean {
  return [...text].every((c, i) => bytes[i] === c.charCodeAt(0));
}

/**
 * The orientation tag (0x0112) of IFD0 of an EXIF block (from its TIFF header on): 1 to 8, or
 * undefined when absent or unreadable (damaged metadata is ignored, as viewers do).
 */
export function readExifOrientation(tiff: Uint8Array): number | undefined {
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return undefined;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const u16 = (at: number) => (at + 2 <= tiff.length ? view.getUint16(at, little) : undefined);
  const u32 = (at: number) => (at + 4 <= tiff.length ? view.getUint32(at, little) : undefined);
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  const count = ifd === undefined ? undefined : u16(ifd);
  if (ifd === undefined || count === undefined) return undefined;
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > tiff.length) return undefined;
    if (u16(entry) !== 0x0112) continue;
    const value = u16(entry + 8)!;
    return u16(entry + 2) === 3 && value >= 1 && value <= 8 ? value : undefined;
  }
  return undefined;
}

/**
 * Turns stored pixels into the displayed image for an EXIF orientation (1 to 8): 2 mirrors, 3 turns
 * 180°, 4 flips, 5 transposes, 6 turns 90° clockwise, 7 transverses, 8 turns 90° anticlockwise.
 */
export function orient(image: RgbImage, orientation: number): RgbImage {
  if (orientation < 2 || orientation > 8) return image;
  const { width: w, height: h, data } = image;
  const swap = orientation >= 5;
  const width = swap ? h : w;
  const height = swap ? w : h;
  const out = new Uint8Array(data.length);
  // For each displayed pixel (x, y), the stored pixel (sx, sy) it shows.
  const source: (x: number, y: number) => [number, number] = [
    (x: number, y: number): [number, number] => [w - 1 - x, y],
    (x: number, y: number): [number, number] => [w - 1 - x, h - 1 - y],
    (x: number, y: number): [number, number] => [x, h - 1 - y],
    (x: number, y: number): [number, number] => [y, x],
    (x: number, y: number): [number, number] => [y, h - 1 - x],
    (x: number, y: number): [number, number] => [w - 1 - y, h - 1 - x],
    (x: number, y: number): [number, number] => [w - 1 - y, x],
  ][orientation - 2]!;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = source(x, y);
      const from = (sy * w + sx) * 3;
      const to = (y * width + x) * 3;
      out[to] = data[from]!;
      out[to + 1] = data[from + 1]!;
      out[to + 2] = data[from + 2]!;
    }
  }
  return { width, height, data: out };
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
