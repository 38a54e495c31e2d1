/**
 * The pixel values of the image fixtures in test/fixtures/bad-inputs/images/, shared by their
 * generator (test/fixtures/bad-inputs/make-weights-and-images.ts) and the tests that check decoding.
 */

/** Every PNG fixture is 8 x 6 pixels. */
export const pngWidth = 8;
export const pngHeight = 6;

/** RGB of pixel (x, y) in the 8-bit and 16-bit colour PNGs (16-bit: the high byte). */
export function rgbAt(x: number, y: number): [number, number, number] {
  return [x * 32 + 3, y * 40 + 5, 250 - x * 8 - y * 20];
}

/** Grey level of pixel (x, y) in the 8-bit and 16-bit greyscale PNGs (16-bit: the high byte). */
export function greyAt(x: number, y: number): number {
  return x * 30 + y * 4;
}

/** Alpha of pixel (x, y) in the PNGs with alpha: some fully transparent, which must not matter. */
export function alphaAt(x: number, y: number): number {
  return (x + y) % 3 === 0 ? 0 : (x * 37 + y * 11) % 256;
}

/** The low byte of every 16-bit sample: above 0x80, so rounding (not truncating) would show. */
export const lowByte16 = 0xc0;

/** 4-bit grey level of pixel (x, y) (0..15, decoded as level x 17). */
export function grey4At(x: number, y: number): number {
  return (x + 2 * y) % 16;
}

/** The palette fixture: 4-bit indices into these colours; index 1 is transparent (tRNS). */
export const palette: readonly (readonly [number, number, number])[] = [
  [10, 20, 30],
  [250, 0, 125],
  [0, 255, 0],
  [77, 88, 99],
];
export function paletteIndexAt(x: number, y: number): number {
  return (x + y) % palette.length;
}

/** The colour key of the RGB PNG with a tRNS chunk: pixel (0, 0)'s colour, which must stay. */
export const colourKey = rgbAt(0, 0);

/**
 * The JPEG fixtures are made of flat 8 x 8 blocks (so decoding is near exact): a 24 x 16 grid of
 * 3 x 2 blocks, named A B C over D E F as stored.
 */
export const blockColours: Record<string, readonly [number, number, number]> = {
  A: [200, 40, 40],
  B: [40, 200, 40],
  C: [40, 40, 200],
  D: [200, 200, 40],
  E: [40, 200, 200],
  F: [200, 40, 200],
};
export const storedBlocks = [
  ['A', 'B', 'C'],
  ['D', 'E', 'F'],
];

/**
 * The blocks as displayed for each EXIF orientation (rows top to bottom), worked out from the
 * EXIF specification: 2 mirrors, 3 turns 180°, 4 flips, 5 transposes, 6 turns 90° clockwise,
 * 7 transverses, 8 turns 90° anticlockwise. The generator checks these against PIL's exif_transpose.
 */
export const displayedBlocks: Record<number, string[][]> = {
  1: [
    ['A', 'B', 'C'],
    ['D', 'E', 'F'],
  ],
  2: [
    ['C', 'B', 'A'],
    ['F', 'E', 'D'],
  ],
  3: [
    ['F', 'E', 'D'],
    ['C', 'B', 'A'],
  ],
  4: [
    ['D', 'E', 'F'],
    ['A', 'B', 'C'],
  ],
  5: [
    ['A', 'D'],
    ['B', 'E'],
    ['C', 'F'],
  ],
  6: [
    ['D', 'A'],
    ['E', 'B'],
    ['F', 'C'],
  ],
  7: [
    ['F', 'C'],
    ['E', 'B'],
    ['D', 'A'],
  ],
  8: [
    ['C', 'F'],
    ['B', 'E'],
    ['A', 'D'],
  ],
};

/** The grey JPEG: two 8 x 8 blocks, left and right. */
export const greyBlocks = [50, 200] as const;

/** The CMYK JPEG: two 8 x 8 blocks (C, M, Y, K), and the RGB they mean: (255-C)(255-K)/255, … */
export const cmykBlocks = [
  [0, 255, 255, 0],
  [0, 0, 0, 128],
] as const;
export function cmykToRgb([c, m, y, k]: readonly number[]): [number, number, number] {
  const f = (v: number) => ((255 - v) * (255 - k!)) / 255;
  return [f(c!), f(m!), f(y!)];
}
