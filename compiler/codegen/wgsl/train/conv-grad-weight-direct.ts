import { declareBindings, generatorHeader, type KernelBinding, u32 } from '../bindings.ts';
import { convMacsPerImage, largeConvolutionFrom } from '../conv-direct.ts';
import type { ConvShape } from './conv-train.ts';

/**
 * The weight gradient without workgroup memory: dW[o][i][t] = Σ over images and output pixels of
 * dy[n][o][p] · x[n][i][p + t]. Invocations of a workgroup take adjacent input channels, so the
 * output-gradient values are the same for every lane (loaded once per subgroup and broadcast, where the
 * kernel is generated with sharedLoads) and only the input rows are per-lane reads. Each invocation
 * accumulates CHANNELS output channels × every tap for each of its input channels (one, or `inputs`)
 * over a slice of the image rows (workgroup z), walking each row PIXELS output pixels at a time: per
 * block it reads each of the k input rows once and reuses every value for all taps and channels. Slices store partial sums that a second kernel adds in a fixed order, as the
 * GEMM's split weight gradient does.
 */
export interface DirectWeightGradTiling {
  /** Invocations per workgroup. */
  readonly lanes: number;
  /**
   * Input channels per invocation (1 when absent): k's channel is LANES · k past the first, so the
   * lanes of each stay adjacent.
   */
  readonly inputs?: number;
  /** Output channels per invocation. */
  readonly channels: number;
  /** Output pixels of a row per step. */
  readonly pixels: number;
  /** Slices of the batch's output rows (workgroup z). */
  readonly splits: number;
}

/** The batch size splits are chosen for (the kernel works for any). */
const nominalBatch = 16;

/** Workgroups wanted per dispatch, so that every CPU thread gets several. */
const targetWorkgroups = 32;

/**
 * A 3x3 weight gradient from largeConvolutionFrom multiply-adds per image takes 16 output channels ×
 * 4 pixels per invocation where its rows are read as vec4s, else 8 (6 or 4 pixels where the rows'
 * width idles fewer; fewestIdlePixels).
 * Sixteen channels ran W32's weight gradients about 20% faster on lavapipe than 8 (a one-off comparison of `bench:train --profile` with both) but compile about 3× as long with
 * an empty shader cache, so smaller convolutions (the tiny model's, W32's strided fuse-layer ones)
 * take 8 channels × 4 pixels: half the unrolled multiply-adds of 8 × 8, which compiled the tiny
 * model's weight gradients in 38 s instead of 57 s, and ran W32's strided fuse-layer shapes faster than 8 × 8
 * in a scratch comparison of the two.
 */
export function chooseDirectWeightGradTiling(s: ConvShape): DirectWeightGradTiling {
  const large = convMacsPerImage(s) >= largeConvolutionFrom;
  // A 1x1's lane takes 4 input channels, 4 pixels at a time: each broadcast output-gradient value
  // then feeds 4 multiply-adds, not 1 (1.86–1.89× faster at W32's stage-1 64→256 and 256→64 on
  // lavapipe, `npm run bench:weight-gradients`).
  const inputs = s.kernel === 1 ? Math.min(4, s.inChannels) : 1;
  const lanes = Math.min(
    s.kernel === 1 ? 16 : 64,
    2 ** Math.ceil(Math.log2(Math.ceil(s.inChannels / inputs))),
  );
  // Fewer taps, more channels: keeps the FMAs per loaded value up for 1x1 convolutions.
  const channels = Math.min(s.kernel === 1 || large ? 16 : 8, s.outChannels);
  // Where rows can be read as vec4s (readsVectorRows), 4 pixels: faster than vec4 rows of 6 to 16,
  // which keep more values live (`npm run bench:weight-gradients -- --sweep`); against the scalar
  // reads of 8 (or 6) before, 1.2–1.4× at W32's 3×3 shapes in a one-off comparison of the two
  // generators (identical results).
  const vectorRows = s.width % 4 === 0 && s.outWidth % 4 === 0;
  const pixels =
    s.kernel === 1
      ? fewestIdlePixels(s.outWidth, [4, 3, 2])
      : vectorRows
        ? 4
        : large
          ? fewestIdlePixels(s.outWidth, [8, 6, 4])
          : Math.min(4, s.outWidth);
  const groups = Math.ceil(s.outChannels / channels) * Math.ceil(s.inChannels / (lanes * inputs));
  const rows = nominalBatch * s.outHeight;
  // A slice keeps at least 4 rows so that partial sums stay few.
  const splits = Math.max(1, Math.min(Math.ceil(targetWorkgroups / groups), Math.floor(rows / 4), 64));
  return { lanes, channels, pixels, splits, ...(inputs > 1 ? { inputs } : {}) };
}

/**
 * Pixels per step for a row of `width` output pixels: of `candidates` (largest first), whichever
 * leaves the fewest pixels of the row's last step idle (the larger on a tie). On COCO's 12-wide rows
 * 8 idles 4 of every 16, and 6 ran W32's 128-channel 3x3 weight gradient 1.2× faster (`npm run
 * bench:weight-gradients`).
 */
function fewestIdlePixels(width: number, candidates: readonly number[]): number {
  const idle = (p: number) => Math.ceil(width / p) * p - width;
  return candidates.map((p) => Math.min(p, width)).reduce((best, p) => (idle(p) < idle(best) ? p : best));
}

/**
 * Whether the kernel reads x and dy as vec4s: a convolution whose input and output rows, and the
 * blocks of its rows (in the input too, at any stride), start on a vec4. On lavapipe every lane's
 * load is a scalar load of its own (with its bounds check), so a vec4 load brings four values for
 * the cost of one.
 */
export function readsVectorRows(s: ConvShape, t: DirectWeightGradTiling): boolean {
  return s.width % 4 === 0 && s.outWidth % 4 === 0 && t.pixels % 4 === 0;
}

export function directWeightGradBindings(splits: number, vectors = false): KernelBinding[] {
  const rows = vectors ? ('vec4<f32>' as const) : ('f32' as const);
  return [
    splits > 1
      ? { name: 'partial', access: 'read_write', element: 'f32' }
      : { name: 'dw', access: 'read_write', element: 'f32' },
    { name: 'x', access: 'read_write', element: rows },
    { name: 'dy', access: 'read_write', element: rows },
  ];
}

/** Workgroups: output-channel blocks × input-channel blocks × slices. */
export function directWeightGradWorkgroups(
  s: ConvShape,
  t: DirectWeightGradTiling,
): [number, number, number] {
  return [
    Math.ceil(s.outChannels / t.channels),
    Math.ceil(s.inChannels / (t.lanes * (t.inputs ?? 1))),
    t.splits,
  ];
}

export function describeDirectWeightGrad(s: ConvShape, t: DirectWeightGradTiling): string {
  return `weight gradient${t.splits > 1 ? ` (${t.splits} partial sums)` : ''} of conv ${s.kernel}x${s.kernel}${s.stride > 1 ? `/${s.stride}` : ''} ${s.inChannels}→${s.outChannels}, ${s.height}x${s.width}→${s.outHeight}x${s.outWidth}, ${t.channels} channels × ${t.pixels} pixels${(t.inputs ?? 1) > 1 ? ` × ${t.inputs} input channels` : ''} per invocation`;
}

/**
 * With `sharedLoads` (S), the output-gradient values of a block are read once per subgroup rather
 * than once per lane: lane l of each group of S loads values l, l + S, …, and every lane takes them
 * from there by subgroupBroadcast. On lavapipe a storage load at an address the whole subgroup shares
 * is still a gather of S copies; this measured 2× faster there. The kernel checks at run time that
 * its subgroups are whole multiples of S (lanes ≥ S and a multiple of it), and reads every value itself
 * otherwise, so it is correct on any subgroup size; it needs the `subgroups` feature.
 */
export function generateDirectWeightGradKernel(
  s: ConvShape,
  t: DirectWeightGradTiling,
  sharedLoads?: number,
): string {
  const { channels, pixels, splits } = t;
  const inputs = t.inputs ?? 1;
  const taps = s.kernel * s.kernel;
  // Input values one row of a block reads: the taps of P output pixels, stride apart.
  const segment = (pixels - 1) * s.stride + s.kernel;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  // Names of input channel k's values; with one input channel per invocation, the names it always had.
  const ofInput = (k: number) => (inputs === 1 ? '' : `_${k}`);
  const acc = (c: number, tap: number, k: number) => `a${c}_${tap}${ofInput(k)}`;
  const declarations = range(inputs).flatMap((k) =>
    range(channels).flatMap((c) => range(taps).map((tap) => `  var ${acc(c, tap, k)} = 0.0;`)),
  );
  if (sharedLoads !== undefined && t.lanes % sharedLoads !== 0)
    throw new Error(`${t.lanes} lanes are not whole subgroups of ${sharedLoads}`);
  const vectors = readsVectorRows(s, t);
  const values = channels * pixels;
  // The value (c, p) of a block, 0 past the last channel or pixel; c and p are WGSL expressions.
  const gradientAt = (c: string, p: string) =>
    `select(0.0, dy[dyRow + min(co0 + ${c}, COUT - 1u) * HO * WO + min(xo0 + ${p}, WO - 1u)], (co0 + ${c} < COUT) & (xo0 + ${p} < WO))`;
  const ownLoads = range(channels).flatMap((c) =>
    range(pixels).map((p) => `d${c}_${p} = ${gradientAt(u32(c), u32(p))};`),
  );
  // As vec4s: the vec4 (c, r) of a block holds its pixels 4r to 4r + 3.
  const quads = pixels / 4;
  const quadAt = (c: string, r: string) =>
    `select(vec4<f32>(0.0), dy[dyRow + min(co0 + ${c}, COUT - 1u) * HO * WO_VEC + min(xo0 / 4u + ${r}, WO_VEC - 1u)], (co0 + ${c} < COUT) & (xo0 / 4u + ${r} < WO_VEC))`;
  const ownQuads = range(channels).flatMap((c) =>
    range(quads).map((r) => `e${c}_${r} = ${quadAt(u32(c), u32(r))};`),
  );
  const quadValues = range(channels).flatMap((c) =>
    range(pixels).map((p) => `      let d${c}_${p} = e${c}_${Math.floor(p / 4)}.${'xyzw'[p % 4]};`),
  );
  const vectorLoads =
    sharedLoads === undefined
      ? [...ownQuads.map((line) => `      let ${line}`), ...quadValues]
      : [
          ...range(channels).flatMap((c) => range(quads).map((r) => `      var e${c}_${r}: vec4<f32>;`)),
          '      if (sharedSubgroups) {',
          ...range(Math.ceil((channels * quads) / sharedLoads)).flatMap((j) => [
            `        let u${j} = min(${u32(j * sharedLoads)} + member, ${u32(channels * quads - 1)});`,
            `        let g${j} = ${quadAt(`u${j} / ${u32(quads)}`, `u${j} % ${u32(quads)}`)};`,
          ]),
          ...range(channels * quads).map(
            (i) =>
              `        e${Math.floor(i / quads)}_${i % quads} = subgroupBroadcast(g${Math.floor(i / sharedLoads)}, ${u32(i % sharedLoads)});`,
          ),
          '      } else {',
          ...ownQuads.map((line) => `        ${line}`),
          '      }',
          ...quadValues,
        ];
  const gradientLoads = vectors
    ? vectorLoads
    : sharedLoads === undefined
      ? ownLoads.map((line) => `      let ${line}`)
      : [
          ...range(channels).flatMap((c) => range(pixels).map((p) => `      var d${c}_${p}: f32;`)),
          '      if (sharedSubgroups) {',
          ...range(Math.ceil(values / sharedLoads)).map(
            (j) =>
              `        let g${j} = ${gradientAt(`min((${u32(j * sharedLoads)} + member) / PIXELS, CHANNELS - 1u)`, `(${u32(j * sharedLoads)} + member) % PIXELS`)};`,
          ),
          ...range(values).map(
            (i) =>
              `        d${Math.floor(i / pixels)}_${i % pixels} = subgroupBroadcast(g${Math.floor(i / sharedLoads)}, ${u32(i % sharedLoads)});`,
          ),
          '      } else {',
          ...ownLoads.map((line) => `        ${line}`),
          '      }',
        ];
  // Column addresses and padding of the block's input segment, the same for every row. Conditions
  // use the non-short-circuit &: SwiftShader crashed compiling this kernel's chains of && (branches).
  // As vec4s: value j of the segment, column xo0·stride − pad + j, is component o − 4q of chunk
  // q = ⌊o / 4⌋, o = j − pad, which starts at column xo0·stride + 4q; chunks outside the row are zeros.
  const chunkOf = (j: number) => Math.floor((j - s.pad) / 4);
  const chunks = range(chunkOf(segment - 1) - chunkOf(0) + 1).map((i) => chunkOf(0) + i);
  const chunkName = (q: number) => (q < 0 ? `m${-q}` : `${q}`);
  const columns = vectors
    ? chunks.flatMap((q) => [
        `      let chunk${chunkName(q)} = u32(clamp(i32(xo0 * STRIDE / 4u) + ${q}, 0, i32(W_VEC) - 1));`,
        `      let chunkInside${chunkName(q)} = (i32(xo0 * STRIDE / 4u) + ${q} >= 0) & (i32(xo0 * STRIDE / 4u) + ${q} < i32(W_VEC));`,
      ])
    : range(segment).flatMap((j) => [
        `      let column${j} = u32(clamp(ix0 + ${j}, 0, i32(W) - 1));`,
        `      let columnInside${j} = (ix0 + ${j} >= 0) & (ix0 + ${j} < i32(W));`,
      ]);
  const rowSteps = range(s.kernel).map((ky) => {
    const reads = range(inputs).flatMap((k) =>
      vectors
        ? [
            ...chunks.map(
              (q) =>
                `        let c${chunkName(q)}${ofInput(k)} = select(vec4<f32>(0.0), x[rowBase${ofInput(k)} + chunk${chunkName(q)}], rowInside & chunkInside${chunkName(q)});`,
            ),
            ...range(segment).map((j) => {
              const q = chunkOf(j);
              return `        let v${j}${ofInput(k)} = c${chunkName(q)}${ofInput(k)}.${'xyzw'[j - s.pad - 4 * q]};`;
            }),
          ]
        : range(segment).map(
            (j) =>
              `        let v${j}${ofInput(k)} = select(0.0, x[rowBase${ofInput(k)} + column${j}], rowInside & columnInside${j});`,
          ),
    );
    const fmas = range(s.kernel).flatMap((kx) =>
      range(channels).flatMap((c) =>
        range(inputs).map((k) => {
          const tap = ky * s.kernel + kx;
          const sum = range(pixels).reduce(
            (e, p) => `fma(d${c}_${p}, v${p * s.stride + kx}${ofInput(k)}, ${e})`,
            acc(c, tap, k),
          );
          return `        ${acc(c, tap, k)} = ${sum};`;
        }),
      ),
    );
    const rowWidth = vectors ? 'W_VEC' : 'W';
    const rowBases =
      inputs === 1
        ? `        let rowBase = imageBase + u32(clamp(iy, 0, i32(H) - 1)) * ${rowWidth};`
        : [
            `        let rowOffset = u32(clamp(iy, 0, i32(H) - 1)) * ${rowWidth};`,
            ...range(inputs).map(
              (k) => `        let rowBase${ofInput(k)} = imageBase${ofInput(k)} + rowOffset;`,
            ),
          ].join('\n');
    return `      {
        let iy = i32(yo * STRIDE + ${u32(ky)}) - i32(PAD);
        let rowInside = (iy >= 0) & (iy < i32(H));
${rowBases}
${reads.join('\n')}
${fmas.join('\n')}
      }`;
  });
  const target =
    splits > 1 ? 'partial[((group.z * COUT + co) * CIN + ci) * TAPS' : 'dw[(co * CIN + ci) * TAPS';
  const stores = range(inputs).flatMap((k) => [
    `  if (ci${ofInput(k)} < CIN) {`,
    ...(inputs === 1 ? [] : [`    let ci = ci${ofInput(k)};`]),
    ...range(channels).map(
      (c) => `    if (co0 + ${u32(c)} < COUT) {
      let co = co0 + ${u32(c)};
${range(taps)
  .map((tap) => `      ${target} + ${u32(tap)}] = ${acc(c, tap, k)};`)
  .join('\n')}
    }`,
    ),
    '  }',
  ]);
  const subgroupInputs =
    sharedLoads === undefined
      ? ''
      : ', @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32';
  return `${generatorHeader('compiler/codegen/wgsl/train/conv-grad-weight-direct.ts', `${describeDirectWeightGrad(s, t)}${vectors ? ', rows read as vec4s' : ''}${sharedLoads === undefined ? '' : `, gradient loads shared by ${sharedLoads} lanes`}`)}
${sharedLoads === undefined ? '' : '\nenable subgroups;\n'}
${declareBindings(directWeightGradBindings(splits, vectors))}

const CIN: u32 = ${u32(s.inChannels)};
const H: u32 = ${u32(s.height)};
const W: u32 = ${u32(s.width)};
const COUT: u32 = ${u32(s.outChannels)};
const HO: u32 = ${u32(s.outHeight)};
const WO: u32 = ${u32(s.outWidth)};${
    vectors
      ? `
const W_VEC: u32 = ${u32(s.width / 4)};
const WO_VEC: u32 = ${u32(s.outWidth / 4)};`
      : ''
  }
const TAPS: u32 = ${u32(taps)};
const STRIDE: u32 = ${u32(s.stride)};
const PAD: u32 = ${u32(s.pad)};
const LANES: u32 = ${u32(t.lanes)};
const CHANNELS: u32 = ${u32(channels)};
const PIXELS: u32 = ${u32(pixels)};
const SPLITS: u32 = ${u32(splits)};

@compute @workgroup_size(${t.lanes})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32${subgroupInputs}) {
${range(inputs)
  .map(
    (k) =>
      `  let ci${ofInput(k)} = group.y * LANES${inputs === 1 ? '' : ` * ${u32(inputs)}`} + ${k === 0 ? '' : `${u32(k)} * LANES + `}lid;`,
  )
  .join('\n')}${
  sharedLoads === undefined
    ? ''
    : `
  let sharedSubgroups = subgroupSize % ${u32(sharedLoads)} == 0u && LANES % subgroupSize == 0u;
  let member = lane % ${u32(sharedLoads)};`
}
  // Lanes past the last input channel read a real channel and store nothing.
${range(inputs)
  .map((k) => `  let channel${ofInput(k)} = min(ci${ofInput(k)}, CIN - 1u);`)
  .join('\n')}
  let co0 = group.x * CHANNELS;
  let rows = params.batch * HO;
  let slice = (rows + SPLITS - 1u) / SPLITS;
  let rowEnd = min(rows, group.z * slice + slice);
${declarations.join('\n')}
  for (var r = group.z * slice; r < rowEnd; r = r + 1u) {
    let n = r / HO;
    let yo = r % HO;
${range(inputs)
  .map(
    (k) =>
      `    let imageBase${ofInput(k)} = (n * CIN + channel${ofInput(k)}) * H * ${vectors ? 'W_VEC' : 'W'};`,
  )
  .join('\n')}
    let dyRow = ${vectors ? 'n * COUT * HO * WO_VEC + yo * WO_VEC' : 'n * COUT * HO * WO + yo * WO'};
    for (var xo0 = 0u; xo0 < WO; xo0 = xo0 + PIXELS) {
${vectors ? '' : '      let ix0 = i32(xo0 * STRIDE) - i32(PAD);\n'}${columns.join('\n')}
${gradientLoads.join('\n')}
${rowSteps.join('\n')}
    }
  }
${stores.join('\n')}
}
`;
}
