/**
 * Every bad or odd weight file, tensor file and image given to `hrnet forward` and `hrnet predict`:
 * a table of rows, each a file, the command or loader that reads it, and what must come of it —
 * exit 1 with one line naming the file and the problem (and no output written), or a result with
 * the right values. docs/bad-inputs.md lists the same cases for users.
 *
 * Rows marked `cli` run the real CLI (about 2 s each, mostly start-up); the others call the loader
 * the CLI calls (readSafetensors and checkWeights, readImage as predict does), whose message is the
 * CLI's line without its prefix.
 */
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  ftruncateSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../common/user-error.ts';
import { decodeImage, type RgbImage, readImage } from '../../runtime/image/image.ts';
import type { ParameterInfo } from '../../runtime/program.ts';
import { loadManifest } from '../../runtime/program-loader.ts';
import { checkWeights } from '../../runtime/weights/pack-weights.ts';
import {
  type NamedTensor,
  readSafetensors,
  serializeSafetensors,
} from '../../runtime/weights/safetensors.ts';
import { compileTestExperiment } from '../helpers/compile.ts';
import {
  alphaAt,
  blockColours,
  cmykBlocks,
  cmykToRgb,
  colourKey,
  displayedBlocks,
  grey4At,
  greyAt,
  greyBlocks,
  palette,
  paletteIndexAt,
  pngHeight,
  pngWidth,
  rgbAt,
  storedBlocks,
} from './fixture-pixels.ts';

const root = new URL('../../', import.meta.url).pathname;
const weightsDir = 'test/fixtures/bad-inputs/weights';
const imagesDir = 'test/fixtures/bad-inputs/images';

interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one of the package's bins as a user would, asynchronously, so that rows can run side by side. */
function run(bin: 'hrnet' | 'hrnetc', args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${root}bin/${bin}.js`, ...args],
      { cwd: root, timeout: 600_000, env: { ...process.env, FORCE_COLOR: '0', HRNETC_DEBUG: '' } },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ status, stdout, stderr });
      },
    );
  });
}

const hrnet = (args: readonly string[]) => run('hrnet', args);

// ----------------------------------------------------------------------------------- the set-up

/** What the rows refer to, made once: a compiled tiny experiment, weights, inputs, broken copies. */
const at = {
  compiled: '',
  parameters: [] as readonly ParameterInfo[],
  work: '',
  weights: '',
  input: '',
  /** Generated files by name (weights and inputs derived from good ones). */
  made: new Map<string, string>(),
};

function made(name: string): () => string {
  return () => {
    const path = at.made.get(name);
    if (!path) throw new Error(`no generated file ${name}`);
    return path;
  };
}

function input(shape: number[], edit?: (data: Float32Array) => void, name = 'input'): Uint8Array {
  const data = Float32Array.from({ length: shape.reduce((n, d) => n * d, 1) }, (_, i) => Math.sin(i) * 2);
  edit?.(data);
  return serializeSafetensors([[name, { shape, data }]]);
}

beforeAll(async () => {
  at.compiled = await compileTestExperiment('tiny/w8_64x64.yaml');
  at.parameters = loadManifest(at.compiled).parameters;
  at.work = mkdtempSync(join(tmpdir(), 'hrnet-bad-inputs-'));
  at.weights = join(at.work, 'w.safetensors');
  const work = at.work;
  const made = (name: string, bytes: Uint8Array | string) => {
    const path = join(work, name);
    writeFileSync(path, bytes);
    at.made.set(name, path);
  };
  // The weights of the 96x64 experiment (17 joints): only its manifest is needed.
  const [init, compile96] = await Promise.all([
    hrnet(['init-weights', at.compiled, '-o', at.weights, '--seed', '3']),
    run('hrnetc', ['experiments/tiny/w8_96x64.yaml', '-o', join(work, 'other'), '--emit', 'manifest']),
  ]);
  expect(init.status, init.stderr).toBe(0);
  expect(compile96.status, compile96.stderr).toBe(0);
  const init96 = await hrnet([
    'init-weights',
    join(work, 'other', 'w8_96x64'),
    '-o',
    join(work, 'w96.safetensors'),
  ]);
  expect(init96.status, init96.stderr).toBe(0);
  at.made.set('w96.safetensors', join(work, 'w96.safetensors'));

  at.input = join(work, 'x.safetensors');
  writeFileSync(at.input, input([1, 3, 64, 64]));
  const good = readSafetensors(at.weights);
  const variant = (name: string, edit: (tensors: Map<string, NamedTensor>) => void) => {
    const tensors = new Map(
      [...good].map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }]),
    );
    edit(tensors);
    made(name, serializeSafetensors(tensors));
  };
  const bytes = readFileSync(at.weights);
  made('truncated.safetensors', bytes.subarray(0, bytes.length >> 1));
  variant('missing-key.safetensors', (t) => t.delete('final_layer.bias'));
  variant('unexpected-key.safetensors', (t) =>
    t.set('extra.weight', { shape: [1], data: new Float32Array(1) }),
  );
  variant('wrong-shape.safetensors', (t) => t.set('conv1.weight', { shape: [1], data: new Float32Array(1) }));
  made(
    'module-prefix.safetensors',
    serializeSafetensors([...good].map(([k, v]) => [`module.${k}`, v] as const)),
  );
  variant('nan.safetensors', (t) => {
    t.get('conv2.weight')!.data[5] = Number.NaN;
  });
  variant('inf.safetensors', (t) => {
    t.get('bn1.weight')!.data[2] = Number.POSITIVE_INFINITY;
    t.get('bn1.weight')!.data[9] = Number.NEGATIVE_INFINITY;
  });
  variant('negative-var.safetensors', (t) => {
    t.get('bn1.running_var')!.data[0] = -0.5;
  });
  // 3 GiB, sparse: refused from its size, never read.
  const huge = join(work, 'huge.safetensors');
  const fd = openSync(huge, 'w');
  ftruncateSync(fd, 3 * 2 ** 30);
  closeSync(fd);
  at.made.set('huge.safetensors', huge);

  made('input-1-channel.safetensors', input([1, 1, 64, 64]));
  made('input-h32.safetensors', input([1, 3, 32, 64]));
  made('input-w48.safetensors', input([1, 3, 64, 48]));
  made('input-3d.safetensors', input([3, 64, 64]));
  made('input-named-x.safetensors', input([1, 3, 64, 64], undefined, 'x'));
  made(
    'input-nan.safetensors',
    input([1, 3, 64, 64], (d) => {
      d[1 * 64 * 64 + 2 * 64 + 3] = Number.NaN;
    }),
  );
  made('input-batch-0.safetensors', input([0, 3, 64, 64]));
  // An input in F64, which forward must read and convert.
  const f64 = new Float64Array(2 * 3 * 64 * 64).map((_, i) => Math.cos(i) * 1.5);
  const header = JSON.stringify({
    input: { dtype: 'F64', shape: [2, 3, 64, 64], data_offsets: [0, f64.byteLength] },
  });
  const f64File = Buffer.alloc(8 + header.length + f64.byteLength);
  f64File.writeBigUInt64LE(BigInt(header.length));
  f64File.write(header, 8, 'latin1');
  f64File.set(new Uint8Array(f64.buffer), 8 + header.length);
  made('input-f64.safetensors', f64File);
  mkdirSync(join(work, 'a-folder'));
  at.made.set('a-folder', join(work, 'a-folder'));
});

afterAll(() => {
  if (at.work) rmSync(at.work, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------------ the table

type Command =
  /** `hrnet forward` with this file as --weights (and a good --input). */
  | 'forward --weights'
  /** `hrnet forward` with this file as --input (and good weights). */
  | 'forward --input'
  /** `hrnet predict` with this file as --weights (and a good image). */
  | 'predict --weights'
  /** `hrnet predict` on this image (or these images). */
  | 'predict'
  /** readSafetensors then checkWeights against the compiled model, as forward and predict do. */
  | 'load weights'
  /** readImage with orientation applied, as predict does. */
  | 'load image';

interface FailingRow {
  readonly name: string;
  readonly file: string | (() => string);
  readonly command: Command;
  /** The message after "<file>: ". */
  readonly message: RegExp;
  /** Images given before the bad one (predict). */
  readonly before?: readonly string[];
  /** The output exists beforehand and must be left as it was. */
  readonly existingOutput?: boolean;
}

const w = (name: string) => `${weightsDir}/${name}`;
const img = (name: string) => `${imagesDir}/${name}`;

const failing: FailingRow[] = [
  // Safetensors structure.
  {
    name: 'empty file',
    file: w('empty.safetensors'),
    command: 'load weights',
    message: /is empty \(0 bytes\), not a safetensors file/,
  },
  {
    name: '5 bytes',
    file: w('short.safetensors'),
    command: 'load weights',
    message: /is 5 bytes, too short for a safetensors file \(its header length alone takes 8\)/,
  },
  {
    name: 'header length 2^60',
    file: w('header-length-2e60.safetensors'),
    command: 'forward --weights',
    message:
      /is not a safetensors file \(its first 8 bytes give a header length of 1152921504606846976 bytes, but only 2 bytes follow them\)/,
  },
  {
    name: 'header length past the end',
    file: w('header-past-end.safetensors'),
    command: 'load weights',
    message:
      /is not a safetensors file \(its first 8 bytes give a header length of 1000 bytes, but only 58 bytes follow them\)/,
  },
  {
    name: 'header not JSON',
    file: w('header-not-json.safetensors'),
    command: 'load weights',
    message: /is not a safetensors file \(its header is not JSON: .+\)/,
  },
  {
    name: 'header not UTF-8',
    file: w('header-not-utf8.safetensors'),
    command: 'load weights',
    message: /is not a safetensors file \(its header is not UTF-8 text\)/,
  },
  {
    name: 'header a JSON array',
    file: w('header-array.safetensors'),
    command: 'load weights',
    message: /its safetensors header is an array, not a JSON object/,
  },
  {
    name: 'shape a string',
    file: w('header-wrong-types.safetensors'),
    command: 'load weights',
    message: /tensor 'input' has shape "1x3x64x64", not a list of non-negative integers/,
  },
  {
    name: 'negative dimension',
    file: w('header-negative-dim.safetensors'),
    command: 'load weights',
    message: /tensor 'a' has shape \[-4\], not a list of non-negative integers/,
  },
  {
    name: '__metadata__ with a number',
    file: w('header-metadata-numbers.safetensors'),
    command: 'load weights',
    message: /its __metadata__ is \{"epoch":3\}, not an object of strings/,
  },
  {
    name: 'data offsets past the end',
    file: w('offsets-past-end.safetensors'),
    command: 'load weights',
    message:
      /tensor 'a' lies at bytes 0\.\.4096 of the data, but the file holds only 16 bytes of data \(truncated\?\)/,
  },
  {
    name: 'overlapping tensors',
    file: w('overlap.safetensors'),
    command: 'load weights',
    message: /tensors 'a' \(bytes 0\.\.16\) and 'b' \(bytes 8\.\.24\) overlap/,
  },
  {
    name: 'bytes of no tensor',
    file: w('gap.safetensors'),
    command: 'load weights',
    message: /bytes 8\.\.16 of the data belong to no tensor \(a damaged or hand-made file\)/,
  },
  {
    name: 'bytes after the last tensor',
    file: w('trailing-bytes.safetensors'),
    command: 'load weights',
    message: /has 16 bytes after the last tensor's data \(a damaged or concatenated file\)/,
  },
  {
    name: 'shape x dtype is not the byte range',
    file: w('shape-vs-bytes.safetensors'),
    command: 'load weights',
    message: /tensor 'a' is 2x3 F32 \(24 bytes\), but its data_offsets \[0, 20\] hold 20 bytes/,
  },
  {
    name: 'shape of 2^80 values',
    file: w('huge-shape.safetensors'),
    command: 'load weights',
    message:
      /tensor 'a' is 1099511627776x1099511627776 F32 \(4835703278458516698824704 bytes\), but its data_offsets \[0, 16\] hold 16 bytes/,
  },
  {
    name: 'unsupported dtype',
    file: w('dtype-f8.safetensors'),
    command: 'load weights',
    message:
      /tensor 'a' has dtype F8_E4M3, which hrnet does not read \(it reads F32, F64, F16, BF16, I64, I32\)/,
  },
  {
    name: 'truncated weights',
    file: made('truncated.safetensors'),
    command: 'forward --weights',
    message:
      /tensor '[\w.]+' lies at bytes \d+\.\.\d+ of the data, but the file holds only \d+ bytes of data \(truncated\?\)/,
  },
  // Other kinds of file.
  {
    // .pth files are read (test/weights/pth.test.ts); this one is a zip whose pickle holds no tensors.
    name: 'a PyTorch zip .pth without tensors',
    file: w('pytorch-zip.pth'),
    command: 'forward --weights',
    message: /holds an empty dict: no tensors/,
  },
  {
    name: 'a legacy pickle .pth',
    file: w('pytorch-legacy.pth'),
    command: 'load weights',
    message:
      /is a Python pickle \(an old-style PyTorch \.pth file\?\), not a safetensors file; convert it in Python: .*/,
  },
  {
    name: 'a PNG as weights',
    file: img('rgb-8x6.png'),
    command: 'load weights',
    message: /is a PNG image, not a safetensors file/,
  },
  {
    name: 'text as weights',
    file: img('text.png'),
    command: 'load weights',
    message: /is text \("this is a text file, not…"\), not a safetensors file/,
  },
  {
    name: 'a folder',
    file: made('a-folder'),
    command: 'load weights',
    message: /is a folder, not a safetensors file/,
  },
  {
    name: 'no such file',
    file: () => join(at.work, 'nope.safetensors'),
    command: 'load weights',
    message: /no such file/,
  },
  {
    name: 'a device (/dev/zero)',
    file: '/dev/zero',
    command: 'forward --weights',
    message: /is not a regular file \(a device, pipe or socket\)/,
  },
  {
    name: '3 GiB file',
    file: made('huge.safetensors'),
    command: 'load weights',
    message: /is 3221225472 bytes, more than the 2 GiB hrnet reads as a safetensors file/,
  },
  // Weights against the model.
  {
    name: 'missing key',
    file: made('missing-key.safetensors'),
    command: 'load weights',
    message: /weights do not match the model \(missing 1: final_layer\.bias\)/,
  },
  {
    name: 'unexpected key',
    file: made('unexpected-key.safetensors'),
    command: 'load weights',
    message: /weights do not match the model \(unexpected 1: extra\.weight\)/,
  },
  {
    name: 'wrong shape',
    file: made('wrong-shape.safetensors'),
    command: 'load weights',
    message:
      /weights do not match the model \(wrong shape 1: conv1\.weight \(file 1, model 64x3x3x3\)\); weights of another experiment \(another width or number of joints\)\?/,
  },
  {
    name: 'weights of the 96x64 experiment (17 joints)',
    file: made('w96.safetensors'),
    command: 'forward --weights',
    message:
      /weights do not match the model \(wrong shape 2: final_layer\.weight \(file 17x8x1x1, model 16x8x1x1\), final_layer\.bias \(file 17, model 16\)\); weights of another experiment \(another width or number of joints\)\?/,
  },
  {
    name: "DataParallel 'module.' names",
    file: made('module-prefix.safetensors'),
    command: 'load weights',
    message:
      /weights do not match the model \(missing 247: conv1\.weight, .*; unexpected 247: module\.conv1\.weight, .*\); every name starts with 'module\.' \(a DataParallel state_dict\): remove that prefix/,
  },
  {
    name: 'NaN in a weight',
    file: made('nan.safetensors'),
    command: 'forward --weights',
    message: /tensor 'conv2\.weight' has 1 non-finite value \(the first, NaN, at \[0, 0, 1, 2\]\)/,
  },
  {
    name: 'NaN in a weight, predict',
    file: made('nan.safetensors'),
    command: 'predict --weights',
    message: /tensor 'conv2\.weight' has 1 non-finite value \(the first, NaN, at \[0, 0, 1, 2\]\)/,
  },
  {
    name: '±infinity in a weight',
    file: made('inf.safetensors'),
    command: 'load weights',
    message: /tensor 'bn1\.weight' has 2 non-finite values \(the first, Infinity, at \[2\]\)/,
  },
  {
    name: 'negative running variance',
    file: made('negative-var.safetensors'),
    command: 'load weights',
    message: /tensor 'bn1\.running_var' holds a negative variance \(-0\.5 at \[0\]\)/,
  },
  // Forward inputs.
  {
    name: 'input with 1 channel',
    file: made('input-1-channel.safetensors'),
    command: 'forward --input',
    message: /input is 1x1x64x64; this program takes N x 3 x 64 x 64/,
  },
  {
    name: 'input 32 high',
    file: made('input-h32.safetensors'),
    command: 'forward --input',
    message: /input is 1x3x32x64; this program takes N x 3 x 64 x 64/,
  },
  {
    name: 'input 48 wide',
    file: made('input-w48.safetensors'),
    command: 'forward --input',
    message: /input is 1x3x64x48; this program takes N x 3 x 64 x 64/,
  },
  {
    name: 'input without N',
    file: made('input-3d.safetensors'),
    command: 'forward --input',
    message: /input is 3x64x64; this program takes N x 3 x 64 x 64/,
  },
  {
    name: "no tensor 'input'",
    file: made('input-named-x.safetensors'),
    command: 'forward --input',
    message: /has no tensor named 'input' \(it has: x\)/,
  },
  {
    name: 'weights given as input',
    file: () => at.weights,
    command: 'forward --input',
    message:
      /has no tensor named 'input' \(it has: conv1\.weight, bn1\.weight, bn1\.bias, bn1\.running_mean, bn1\.running_var, …\)/,
  },
  {
    name: 'NaN in the input',
    file: made('input-nan.safetensors'),
    command: 'forward --input',
    message: /tensor 'input' has 1 non-finite value \(the first, NaN, at \[0, 1, 2, 3\]\)/,
    existingOutput: true,
  },
  {
    name: 'input of 0 images',
    file: made('input-batch-0.safetensors'),
    command: 'forward --input',
    message: /input holds no images \(N is 0\)/,
  },
  // Images.
  {
    name: 'empty image',
    file: img('empty.png'),
    command: 'load image',
    message: /is empty \(0 bytes\), not a PNG or JPEG image/,
  },
  {
    name: 'text, not an image',
    file: img('text.png'),
    command: 'predict',
    message: /is not a PNG or JPEG image \(it is text \("this is a text file, not…"\)\)/,
  },
  {
    name: 'a GIF',
    file: img('tiny.gif'),
    command: 'load image',
    message: /is not a PNG or JPEG image \(it is a GIF image\)/,
  },
  {
    name: 'PNG cut inside IDAT',
    file: img('truncated-in-idat.png'),
    command: 'predict',
    message: /is a truncated PNG: it ends inside its IDAT chunk \(\d+ of \d+ bytes present\)/,
  },
  {
    name: 'PNG without IEND',
    file: img('truncated-before-iend.png'),
    command: 'load image',
    message: /is a truncated PNG: it ends before its IEND chunk/,
  },
  {
    name: 'PNG with a bad CRC',
    file: img('bad-crc.png'),
    command: 'load image',
    message: /is a damaged PNG: the checksum \(CRC\) of its IDAT chunk is wrong/,
  },
  {
    name: 'PNG signature CR LF -> LF',
    file: img('bad-signature.png'),
    command: 'load image',
    message: /is a damaged PNG: its 8-byte signature is wrong \(was it copied as text\?\)/,
  },
  {
    name: 'PNG IHDR of 10^10 pixels',
    file: img('huge-ihdr.png'),
    command: 'predict',
    message:
      /is 100000x100000 pixels \(10000000000\), more than the 67108864 \(8192x8192\) hrnet decodes; scale it down first/,
  },
  {
    name: 'PNG IHDR of 64 megapixels, 12 bytes of data',
    file: img('big-ihdr-little-data.png'),
    command: 'load image',
    message: /is a truncated or damaged PNG: its 12 bytes of image data cannot hold 8000x8000 pixels/,
  },
  {
    name: 'JPEG SOF of 64 megapixels, 53 bytes of data',
    file: img('big-sof-little-data.jpg'),
    command: 'load image',
    message: /is a truncated or damaged JPEG: its 53 bytes of image data cannot hold 8000x8000 pixels/,
  },
  {
    name: 'PNG 0 pixels wide',
    file: img('zero-width.png'),
    command: 'load image',
    message: /is a damaged PNG: its IHDR gives a size of 0x6 pixels/,
  },
  {
    name: 'PNG RGB at 4 bits',
    file: img('bad-depth.png'),
    command: 'load image',
    message: /is a damaged PNG: colour type 2 with bit depth 4 is not a valid combination/,
  },
  {
    name: 'PNG palette without PLTE',
    file: img('palette-no-plte.png'),
    command: 'load image',
    message: /is a damaged PNG: a palette image without a PLTE chunk/,
  },
  {
    name: 'PNG without IDAT',
    file: img('no-idat.png'),
    command: 'load image',
    message: /is a damaged PNG: it has no image data \(IDAT chunk\)/,
  },
  {
    name: 'interlaced PNG inflating to 10 MB',
    file: img('inflate-bomb.png'),
    command: 'load image',
    message: /is a damaged PNG: its image data inflates to more than the 156 bytes its size needs/,
  },
  {
    name: 'JPEG cut inside its scan',
    file: img('truncated-in-scan.jpg'),
    command: 'load image',
    message: /is a truncated JPEG: it ends inside its image data, before the end-of-image marker/,
  },
  {
    name: 'JPEG cut inside its tables',
    file: img('truncated-in-header.jpg'),
    command: 'load image',
    message: /is a truncated JPEG: it ends before its image data/,
  },
  {
    name: 'JPEG SOF of 65535x65535',
    file: img('huge-sof.jpg'),
    command: 'predict',
    message:
      /is 65535x65535 pixels \(4294836225\), more than the 67108864 \(8192x8192\) hrnet decodes; scale it down first/,
  },
  {
    name: 'lossless JPEG',
    file: img('lossless.jpg'),
    command: 'load image',
    message: /is a lossless JPEG, which hrnet does not decode; save it as a baseline JPEG or PNG/,
  },
  {
    name: '12-bit JPEG',
    file: img('twelve-bit.jpg'),
    command: 'load image',
    message: /is a 12-bit JPEG, which hrnet does not decode; save it as an 8-bit JPEG or PNG/,
  },
  {
    name: 'JPEG of height 0 (DNL)',
    file: img('height-zero.jpg'),
    command: 'load image',
    message: /is a JPEG whose height comes after its image data \(DNL marker\), which hrnet does not decode/,
  },
  {
    name: 'JPEG with 2 channels',
    file: img('two-channel.jpg'),
    command: 'load image',
    message: /is a JPEG with 2 colour channels; hrnet decodes 1 \(grey\), 3 and 4 \(CMYK\)/,
  },
  {
    name: 'JPEG without a frame',
    file: img('no-frame.jpg'),
    command: 'load image',
    message: /is a damaged JPEG: it has no frame header \(SOF\)/,
  },
  {
    name: 'CMYK JPEG without Adobe marker',
    file: img('cmyk-no-adobe.jpg'),
    command: 'load image',
    message:
      /is a 4-channel \(CMYK\) JPEG without an Adobe marker, so its colours cannot be known; save it as RGB/,
  },
  {
    name: 'image is a folder',
    file: made('a-folder'),
    command: 'load image',
    message: /is a folder, not an image/,
  },
  {
    name: 'no such image',
    file: () => join(at.work, 'nope.jpg'),
    command: 'load image',
    message: /no such file/,
  },
  {
    name: 'a good image, then a bad one',
    file: img('truncated-in-scan.jpg'),
    before: [img('rgb-8x6.png')],
    command: 'predict',
    message: /is a truncated JPEG: it ends inside its image data, before the end-of-image marker/,
    existingOutput: true,
  },
];

const cliCommands: readonly Command[] = [
  'forward --weights',
  'forward --input',
  'predict --weights',
  'predict',
];

function resolve(file: string | (() => string)): string {
  return typeof file === 'string' ? file : file();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let outputs = 0;

describe('bad weights, tensors and images: exit 1 and one line naming the file', () => {
  it('has a row for every kind of bad input', () => {
    expect(failing.length).toBeGreaterThanOrEqual(60);
    expect(new Set(failing.map((r) => r.name)).size).toBe(failing.length);
  });

  it.concurrent.for(failing.filter((r) => cliCommands.includes(r.command)))(
    'hrnet $command: $name',
    async (row, { expect }) => {
      const file = resolve(row.file);
      const id = outputs++;
      const forward = row.command.startsWith('forward');
      const output = forward ? join(at.work, `out-${id}.safetensors`) : join(at.work, `pred-${id}`);
      if (row.existingOutput) {
        if (forward) writeFileSync(output, 'kept\n');
        else {
          mkdirSync(output);
          writeFileSync(join(output, 'kept.txt'), 'kept\n');
        }
      }
      const args =
        row.command === 'forward --weights'
          ? ['forward', at.compiled, '--weights', file, '--input', at.input, '-o', output]
          : row.command === 'forward --input'
            ? ['forward', at.compiled, '--weights', at.weights, '--input', file, '-o', output]
            : row.command === 'predict --weights'
              ? ['predict', at.compiled, img('rgb-8x6.png'), '--weights', file, '-o', output]
              : ['predict', at.compiled, ...(row.before ?? []), file, '--weights', at.weights, '-o', output];
      const result = await hrnet(args);
      expect(result.status, result.stderr).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).not.toMatch(/^\s+at /m);
      const lines = result.stderr.replace(/\n$/, '').split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^(error|hrnet): ${escapeRegExp(file)}: ${row.message.source}$`));
      if (!row.existingOutput) expect(existsSync(output)).toBe(false);
      else if (forward) expect(readFileSync(output, 'utf8')).toBe('kept\n');
      else expect(readdirSync(output)).toEqual(['kept.txt']);
    },
  );

  it.each(failing.filter((r) => !cliCommands.includes(r.command)))('$command: $name', (row) => {
    const file = resolve(row.file);
    let error: unknown;
    try {
      if (row.command === 'load weights') checkWeights(at.parameters, readSafetensors(file), true, file);
      else readImage(file, { orientation: 'apply' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(new RegExp(`^${escapeRegExp(file)}: ${row.message.source}$`));
  });
});

// ---------------------------------------------------------------------------- odd but valid files

function pixel(image: RgbImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * 3;
  return [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
}

/** Every pixel equals expected(x, y) exactly. */
function exactly(image: RgbImage, expected: (x: number, y: number) => readonly number[]): void {
  const wrong: string[] = [];
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const want = expected(x, y);
      if (pixel(image, x, y).some((v, c) => v !== want[c]))
        wrong.push(`(${x},${y}) ${pixel(image, x, y)} ≠ ${want}`);
    }
  }
  expect(wrong.slice(0, 5)).toEqual([]);
}

/** Every pixel is within `tolerance` of expected(x, y) in each channel (JPEG). */
function nearly(image: RgbImage, expected: (x: number, y: number) => readonly number[], tolerance = 3): void {
  const wrong: string[] = [];
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const want = expected(x, y);
      if (pixel(image, x, y).some((v, c) => Math.abs(v - want[c]!) > tolerance))
        wrong.push(`(${x},${y}) ${pixel(image, x, y)} ≉ ${want.map((v) => v.toFixed(1))}`);
    }
  }
  expect(wrong.slice(0, 5)).toEqual([]);
}

const grey = (v: number) => [v, v, v];
const blocks = (layout: string[][]) => (x: number, y: number) => blockColours[layout[y >> 3]![x >> 3]!]!;

interface WorkingImage {
  readonly name: string;
  readonly file: string;
  readonly orientation?: 'apply' | 'ignore';
  readonly size: readonly [number, number];
  readonly check: (image: RgbImage) => void;
}

const working: WorkingImage[] = [
  { name: 'RGB PNG', file: 'rgb-8x6.png', size: [8, 6], check: (i) => exactly(i, rgbAt) },
  {
    name: 'interlaced (Adam7) PNG',
    file: 'rgb-interlaced-8x6.png',
    size: [8, 6],
    check: (i) => exactly(i, rgbAt),
  },
  {
    name: 'greyscale PNG',
    file: 'grey-8x6.png',
    size: [8, 6],
    check: (i) => exactly(i, (x, y) => grey(greyAt(x, y))),
  },
  {
    name: '4-bit greyscale PNG',
    file: 'grey-4bit-8x6.png',
    size: [8, 6],
    check: (i) => exactly(i, (x, y) => grey(grey4At(x, y) * 17)),
  },
  {
    name: 'greyscale + alpha PNG (alpha ignored, even 0)',
    file: 'grey-alpha-8x6.png',
    size: [8, 6],
    check: (i) => exactly(i, (x, y) => grey(greyAt(x, y))),
  },
  {
    name: 'RGBA PNG (alpha ignored, even 0)',
    file: 'rgba-8x6.png',
    size: [8, 6],
    check: (i) => exactly(i, rgbAt),
  },
  {
    name: '16-bit RGB PNG (high byte, not rounded)',
    file: 'rgb-16bit-8x6.png',
    size: [8, 6],
    check: (i) => exactly(i, rgbAt),
  },
  {
    name: '16-bit greyscale PNG',
    file: 'grey-16bit-8x6.png',
    size: [8, 6],
    check: (i) => exactly(i, (x, y) => grey(greyAt(x, y))),
  },
  {
    name: '4-bit palette PNG with a transparent entry',
    file: 'palette-4bit-8x6.png',
    size: [8, 6],
    check: (i) => exactly(i, (x, y) => palette[paletteIndexAt(x, y)]!),
  },
  {
    name: 'RGB PNG with a tRNS colour key (keyed pixels keep their colour)',
    file: 'rgb-colour-key-8x6.png',
    size: [8, 6],
    check: (i) => {
      expect(pixel(i, 0, 0)).toEqual([...colourKey]);
      exactly(i, rgbAt);
    },
  },
  {
    name: 'JPEG named .png (read by content)',
    file: 'jpeg-named.png',
    size: [24, 16],
    check: (i) => nearly(i, blocks(storedBlocks)),
  },
  {
    name: 'baseline JPEG',
    file: 'blocks-24x16.jpg',
    size: [24, 16],
    check: (i) => nearly(i, blocks(storedBlocks)),
  },
  {
    name: 'progressive JPEG',
    file: 'progressive-24x16.jpg',
    size: [24, 16],
    check: (i) => nearly(i, blocks(storedBlocks)),
  },
  {
    name: 'JPEG with bytes after its end',
    file: 'trailing-bytes.jpg',
    size: [24, 16],
    check: (i) => nearly(i, blocks(storedBlocks)),
  },
  {
    name: 'greyscale JPEG',
    file: 'grey-16x8.jpg',
    size: [16, 8],
    check: (i) => nearly(i, (x) => grey(greyBlocks[x >> 3]!)),
  },
  {
    name: 'CMYK JPEG (Adobe)',
    file: 'cmyk-16x8.jpg',
    size: [16, 8],
    check: (i) => nearly(i, (x) => cmykToRgb(cmykBlocks[x >> 3]!)),
  },
  ...[1, 2, 3, 4, 5, 6, 7, 8].map(
    (o): WorkingImage => ({
      name: `JPEG with EXIF orientation ${o}, applied`,
      file: `orientation-${o}.jpg`,
      orientation: 'apply',
      size: o >= 5 ? [16, 24] : [24, 16],
      check: (i) => nearly(i, blocks(displayedBlocks[o]!)),
    }),
  ),
  {
    name: 'JPEG with EXIF orientation 6, ignored (as the dataset loader reads)',
    file: 'orientation-6.jpg',
    orientation: 'ignore',
    size: [24, 16],
    check: (i) => nearly(i, blocks(storedBlocks)),
  },
];

describe('odd but valid images decode to the right pixels', () => {
  it.each(working)('$name', ({ file, orientation, size, check }) => {
    const image = decodeImage(readFileSync(img(file)), file, orientation ? { orientation } : {});
    expect([image.width, image.height]).toEqual(size);
    expect(image.data).toHaveLength(size[0] * size[1] * 3);
    check(image);
  });

  it('the PNG fixtures are the 8 x 6 images the pixel functions describe', () => {
    expect([pngWidth, pngHeight]).toEqual([8, 6]);
    // alphaAt makes some pixels fully transparent and some not: alpha is ignored for both.
    const alphas = new Set(Array.from({ length: 48 }, (_, i) => alphaAt(i % 8, i >> 3) === 0));
    expect(alphas).toEqual(new Set([true, false]));
  });
});

describe('odd but valid tensor files', () => {
  it('reads every dtype, metadata and an empty tensor, converting exactly to float32', () => {
    const tensors = readSafetensors(w('dtypes.safetensors'));
    const values = Object.fromEntries([...tensors].map(([k, v]) => [k, [v.shape, Array.from(v.data)]]));
    expect(values).toEqual({
      f64: [[2], [1.5, -2.25]],
      f16: [[3], [1, -2, 65504]],
      bf16: [[2], [1, -0.5]],
      i32: [[2], [7, -9]],
      i64: [[1], [2 ** 40]],
      f32: [
        [2, 1],
        [0.25, -8],
      ],
      empty: [[0, 3], []],
    });
  });

  it('hrnet forward reads an F64 input of 2 images and writes their heatmaps', async () => {
    const output = join(at.work, 'forward-f64.safetensors');
    const result = await hrnet([
      'forward',
      at.compiled,
      '--weights',
      at.weights,
      '--input',
      made('input-f64.safetensors')(),
      '-o',
      output,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const out = readSafetensors(output).get('output')!;
    expect(out.shape).toEqual([2, 16, 16, 16]);
    expect(out.data.every(Number.isFinite)).toBe(true);
    // Two different images give two different heatmap sets.
    const half = out.data.length / 2;
    expect(out.data.subarray(0, half).some((v, i) => v !== out.data[half + i])).toBe(true);
  });

  it('hrnet predict applies EXIF orientation 6: the result is the upright 16 x 24 image', async () => {
    const dir = join(at.work, 'pred-rotated');
    const result = await hrnet([
      'predict',
      at.compiled,
      img('orientation-6.jpg'),
      '--threshold',
      '1',
      '--weights',
      at.weights,
      '-o',
      dir,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'orientation-6.json'), 'utf8')) as {
      width: number;
      height: number;
      joints: unknown[];
    };
    expect([json.width, json.height]).toEqual([16, 24]);
    expect(json.joints).toHaveLength(16);
    // The picture is drawn scaled up with a legend; the image it draws is embedded in the SVG beside it.
    const drawn = decodeImage(readFileSync(join(dir, 'orientation-6.png')), 'picture');
    expect(Math.min(drawn.width, drawn.height)).toBeGreaterThanOrEqual(256);
    const embedded = /xlink:href="data:image\/png;base64,([^"]+)"/.exec(
      readFileSync(join(dir, 'orientation-6.svg'), 'utf8'),
    )![1]!;
    const picture = decodeImage(Buffer.from(embedded, 'base64'), 'embedded picture');
    expect([picture.width, picture.height]).toEqual([16, 24]);
    // The top-left block of the upright image is D (stored bottom-left), as the picture shows.
    expect(pixel(picture, 0, 0).map((v, c) => Math.abs(v - blockColours.D![c]!) <= 3)).toEqual([
      true,
      true,
      true,
    ]);
  });
});
