import jpeg from 'jpeg-js';
import { checkSize, ImageError, maxImagePixels, type RgbImage } from './rgb-image.ts';

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

/**
 * Decodes a JPEG with jpeg-js after checking its markers (see scanJpeg), applying or ignoring its EXIF
 * orientation. Free of Node modules, so the browser page decodes exactly as hrnet predict does.
 */
export function decodeJpeg(bytes: Uint8Array, what: string, orientation: 'apply' | 'ignore'): RgbImage {
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
