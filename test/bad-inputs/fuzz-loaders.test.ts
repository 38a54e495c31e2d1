/**
 * Random damage to valid files, fed to the loaders the CLI uses (parseSafetensors, decodeImage):
 * every result either loads, consistently, or throws a UserError — never another exception — and
 * every call returns quickly (a decoder looping on corrupt data would fail the time bound).
 * Fixed seeds and 300 runs per property keep it reproducible and fast.
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../common/user-error.ts';
import { decodeImage, maxImagePixels } from '../../runtime/image/image.ts';
import { parseSafetensors, serializeSafetensors } from '../../runtime/weights/safetensors.ts';

const fixture = (path: string) =>
  new Uint8Array(readFileSync(new URL(`../fixtures/bad-inputs/${path}`, import.meta.url)));

/** The most one call may take: generous for a slow, shared machine; a loop would take forever. */
const maxMs = 2000;
const runs = { numRuns: 300 };

type Outcome = 'loaded' | 'refused';

/** Calls `load`; a UserError is a refusal, any other exception fails, and so does a slow call. */
function outcome(load: () => void): Outcome {
  const start = performance.now();
  let result: Outcome = 'loaded';
  try {
    load();
  } catch (e) {
    if (!(e instanceof UserError)) throw new Error(`not a UserError: ${(e as Error)?.stack ?? e}`);
    if (e.message.includes('\n')) throw new Error(`a message of more than one line: ${e.message}`);
    result = 'refused';
  }
  const ms = performance.now() - start;
  if (ms > maxMs) throw new Error(`took ${ms.toFixed(0)} ms`);
  return result;
}

/** A copy of `base` cut short, with bytes overwritten, or both. */
function damaged(base: Uint8Array): fc.Arbitrary<Uint8Array> {
  const cut = fc.nat({ max: base.length });
  const flips = fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), {
    minLength: 1,
    maxLength: 6,
  });
  const flip = (bytes: Uint8Array, changes: [number, number][]) => {
    const copy = Uint8Array.from(bytes);
    for (const [i, v] of changes) if (i < copy.length) copy[i] = v;
    return copy;
  };
  return fc.oneof(
    cut.map((n) => base.slice(0, n)),
    flips.map((changes) => flip(base, changes)),
    fc.tuple(cut, flips).map(([n, changes]) => flip(base, changes).slice(0, n)),
  );
}

/** Rewrites every complete chunk's CRC, so damage reaches pngjs instead of the CRC check. */
function withFixedCrcs(png: Uint8Array): Uint8Array {
  const out = Uint8Array.from(png);
  const view = new DataView(out.buffer);
  let position = 8;
  while (position + 12 <= out.length) {
    const length = view.getUint32(position);
    if (position + 12 + length > out.length) break;
    view.setUint32(position + 8 + length, crc32(out.subarray(position + 4, position + 8 + length)));
    position += 12 + length;
  }
  return out;
}

function checkImage(bytes: Uint8Array, counts: Record<Outcome, number>): void {
  let image: ReturnType<typeof decodeImage> | undefined;
  counts[
    outcome(() => {
      image = decodeImage(bytes, 'fuzzed', { orientation: 'apply' });
    })
  ]++;
  if (image) {
    expect(image.width * image.height).toBeLessThanOrEqual(maxImagePixels);
    expect(image.width).toBeGreaterThan(0);
    expect(image.data.length).toBe(image.width * image.height * 3);
  }
}

describe('fuzzed images: decodeImage loads or throws a UserError, quickly', () => {
  const pngs = ['rgb-8x6.png', 'rgb-interlaced-8x6.png', 'palette-4bit-8x6.png', 'rgb-16bit-8x6.png'];
  const jpegs = ['blocks-24x16.jpg', 'progressive-24x16.jpg', 'orientation-6.jpg', 'cmyk-16x8.jpg'];

  it.each(pngs)('%s, damaged', (name) => {
    const counts = { loaded: 0, refused: 0 };
    fc.assert(
      fc.property(damaged(fixture(`images/${name}`)), (bytes) => checkImage(bytes, counts)),
      { ...runs, seed: 1 },
    );
    // Both outcomes happen: the damage is neither always fatal nor always harmless.
    expect(counts.refused).toBeGreaterThan(0);
    expect(counts.loaded).toBeGreaterThan(0);
  });

  it.each(pngs)('%s, damaged with CRCs fixed (reaching the decoder)', (name) => {
    const counts = { loaded: 0, refused: 0 };
    fc.assert(
      fc.property(damaged(fixture(`images/${name}`)), (bytes) => checkImage(withFixedCrcs(bytes), counts)),
      { ...runs, seed: 2 },
    );
    expect(counts.refused).toBeGreaterThan(0);
    // Interlaced data is inflated with zlib's Adler-32 check, so damage to it never loads.
    if (!name.includes('interlaced')) expect(counts.loaded).toBeGreaterThan(0);
  });

  it.each(jpegs)('%s, damaged', (name) => {
    const counts = { loaded: 0, refused: 0 };
    fc.assert(
      fc.property(damaged(fixture(`images/${name}`)), (bytes) => checkImage(bytes, counts)),
      { ...runs, seed: 3 },
    );
    expect(counts.refused).toBeGreaterThan(0);
    expect(counts.loaded).toBeGreaterThan(0);
  });

  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0xff, 0xd8, ...b])),
          fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([0x89, 0x50, 0x4e, 0x47, ...b])),
        ),
        (bytes) => checkImage(bytes, { loaded: 0, refused: 0 }),
      ),
      { ...runs, seed: 4 },
    );
  });
});

/** Every loaded tensor holds exactly as many values as its shape says. */
function checkTensors(bytes: Uint8Array, counts: Record<Outcome, number>): void {
  let tensors: ReturnType<typeof parseSafetensors> | undefined;
  counts[
    outcome(() => {
      tensors = parseSafetensors(bytes, 'fuzzed');
    })
  ]++;
  for (const tensor of tensors?.values() ?? []) {
    expect(tensor.data.length).toBe(tensor.shape.reduce((n, d) => n * d, 1));
  }
}

describe('fuzzed safetensors: parseSafetensors loads or throws a UserError, quickly', () => {
  const weightsLike = serializeSafetensors(
    [
      ['conv.weight', { shape: [4, 3, 1, 1], data: Float32Array.from({ length: 12 }, (_, i) => i / 7) }],
      ['bn.running_var', { shape: [4], data: Float32Array.from([1, 2, 3, 4]) }],
      ['input', { shape: [1, 1, 2, 2], data: Float32Array.from([0.5, -1, 2, 8]) }],
    ],
    { format: 'pt' },
  );

  it.each([
    ['a weights-like file', weightsLike],
    ['a file of every dtype', fixture('weights/dtypes.safetensors')],
  ])('%s, damaged', (_, base) => {
    const counts = { loaded: 0, refused: 0 };
    fc.assert(
      fc.property(damaged(base), (bytes) => checkTensors(bytes, counts)),
      { ...runs, seed: 5 },
    );
    expect(counts.refused).toBeGreaterThan(0);
    expect(counts.loaded).toBeGreaterThan(0);
  });

  it('random headers: any JSON, or tensor entries with odd fields', () => {
    const dims = fc.oneof(fc.integer({ min: -3, max: 8 }), fc.constantFrom(2 ** 40, 2 ** 53, 1.5, -0));
    const entry = fc.record({
      dtype: fc.oneof(
        fc.constantFrom('F32', 'F16', 'BF16', 'F64', 'I32', 'I64', 'U8', 'toString'),
        fc.jsonValue(),
      ),
      shape: fc.oneof(fc.array(dims, { maxLength: 4 }), fc.jsonValue()),
      data_offsets: fc.oneof(fc.tuple(fc.nat({ max: 80 }), fc.nat({ max: 80 })), fc.jsonValue()),
    });
    const header = fc.oneof(
      fc.jsonValue(),
      fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__metadata__', '__proto__')), entry, {
        maxKeys: 4,
      }),
    );
    const counts = { loaded: 0, refused: 0 };
    fc.assert(
      fc.property(header, fc.oneof(fc.constant(0), fc.nat({ max: 80 })), (value, dataLength) => {
        const json = new TextEncoder().encode(JSON.stringify(value) ?? 'undefined');
        const bytes = new Uint8Array(8 + json.length + dataLength);
        new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
        bytes.set(json, 8);
        checkTensors(bytes, counts);
      }),
      { ...runs, seed: 6 },
    );
    expect(counts.refused).toBeGreaterThan(0);
    expect(counts.loaded).toBeGreaterThan(0);
  });
});
