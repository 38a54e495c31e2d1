import { sharedLoadLanes } from '../../../runtime/device-kernels.ts';
import type { WeightLayout, WeightWindows } from '../../../runtime/program.ts';
import { alignUp } from '../../passes/memory-plan.ts';
import {
  declareBindings,
  generatorHeader,
  type KernelBinding,
  u32,
  uniformBindingBytes,
} from './bindings.ts';
import { convEpilogueSum } from './conv-epilogue.ts';
import { type ConvKernelSpec, convBindings, describeConv } from './conv-gemm.ts';

export interface DirectConvTiling {
  /** Adjacent output pixels of one row per invocation (a multiple of 4). */
  readonly pixels: number;
  /** Output channels per invocation and per workgroup row (a multiple of 4). */
  readonly channels: number;
  /** Most uniform windows of packed weights (maxWindows unless given; `bench:weight-loads` compares). */
  readonly maxWindows?: number;
}

/** Invocations per workgroup, unless an image has fewer pixel blocks. */
const maxThreads = 64;

/**
 * Most windows a weight is split into. Each window is one more dispatch, of fewer workgroups: on
 * lavapipe W32's 64-channel 3×3s in 3 windows ran 1.1–1.75× as long as one dispatch reading the
 * weight from storage with loads shared across subgroups. A weight that fits one window keeps it:
 * there the window took 0.99–1.25× as long as the shared loads, and the storage loads without sharing
 * (what a device without subgroups runs) 1.3–1.5× as long as the window. `npm run bench:weight-loads`
 * measures all three.
 */
const maxWindows = 1;

/**
 * The tilings the direct kernel is compiled with: 16 output channels per invocation over 16, 12 or 8
 * pixels (64, 48 and 32 vec4 accumulators; 12 for 12-, 24- and 48-wide rows, as COCO's 256×192 has).
 * Once each accumulator took all its taps in a row (see generateDirectConvKernel), 16 channels made
 * W32's forward and training step faster on lavapipe than 8 (`npm run bench:ab`, README), since each
 * input value loaded serves twice the channels.
 */
export const directTilings: readonly DirectConvTiling[] = [
  { pixels: 16, channels: 16 },
  { pixels: 12, channels: 16 },
  { pixels: 8, channels: 16 },
];

/**
 * Multiply-adds per image (the real ones: a dilated input's zeros excluded) from which a 3×3
 * convolution takes the large tilings above. Below it, the light tilings: 16 and 8 accumulators,
 * whose kernels lavapipe compiles 2–4× faster (an 8 × 16 3×3 kernel takes 4–6 s with an empty
 * shader cache, an 8 × 8 one 1.2–2 s): `npm run bench:compile` measures it, and the README has the
 * tiny model's numbers both ways; its step ran as fast. W32's 3×3s are above the bound except the
 * fuse layers' strided ones. 1×1 kernels are short to compile whatever their tiling.
 */
export const largeConvolutionFrom = 2 ** 24;

export const lightTilings: readonly DirectConvTiling[] = [
  { pixels: 8, channels: 8 },
  { pixels: 4, channels: 8 },
];

/** Multiply-adds per image that reach a real input value. */
export function convMacsPerImage(
  spec: Pick<
    ConvKernelSpec,
    'outChannels' | 'inChannels' | 'kernel' | 'outHeight' | 'outWidth' | 'inputDilation'
  >,
): number {
  const dilation = spec.inputDilation ?? 1;
  const nominal =
    spec.outChannels * spec.inChannels * spec.kernel * spec.kernel * spec.outHeight * spec.outWidth;
  return nominal / (dilation * dilation);
}

/**
 * A large 3×3 stride-1 convolution whose rows take one block of 8 pixels (5 to 8 wide: W32's lowest
 * branch, 8×6 at 256×192 and 8×8 at 256×256) also gets, and by default takes, 8 channels × 8 pixels:
 * on lavapipe (`npm run bench:direct-tilings`, packed and official weights alike) it ran these shapes 1.5–1.6× faster than any 16-channel tiling (about 63 GFLOP/s at 8×6,
 * 77 at 8×8, against 37–49), where on wider rows 8 and 16 channels run about alike.
 */
const narrowRowTiling: DirectConvTiling = { pixels: 8, channels: 8 };

/** A 3×3 at stride 1 reading its input as it is (not dilated, not upsampled). */
function isPlain3x3(spec: ConvKernelSpec): boolean {
  return spec.kernel === 3 && spec.stride === 1 && (spec.inputDilation ?? 1) === 1 && spec.inputScale === 1;
}

function hasNarrowRows(spec: ConvKernelSpec): boolean {
  return isPlain3x3(spec) && spec.outWidth > 4 && spec.outWidth <= 8;
}

/** Pixels of a row's last block of `pixels` that fall past its end. */
const idlePixels = (spec: ConvKernelSpec, pixels: number) =>
  Math.ceil(spec.outWidth / pixels) * pixels - spec.outWidth;

/** The tilings this convolution is compiled with (the variants `hrnet tune` times). */
export function directTilingsFor(spec: ConvKernelSpec): readonly DirectConvTiling[] {
  if (spec.kernel > 1 && convMacsPerImage(spec) < largeConvolutionFrom) return lightTilings;
  return hasNarrowRows(spec) ? [...directTilings, narrowRowTiling] : directTilings;
}

/**
 * The default tiling: the one that idles the fewest lanes on padding pixels, the wider on a tie
 * (a wider block loads fewer halo values per pixel): 16 × 16 measured fastest on lavapipe wherever
 * rows fill its blocks, 12 × 16 on 12- and 24-wide rows. `hrnet tune` measures all of them on the
 * user's adapter.
 */
export function chooseDirectTiling(spec: ConvKernelSpec): DirectConvTiling {
  const tilings = directTilingsFor(spec);
  if (tilings.includes(narrowRowTiling)) return narrowRowTiling;
  return tilings.reduce((best, t) => (idlePixels(spec, t.pixels) < idlePixels(spec, best.pixels) ? t : best));
}

/**
 * The training step's tiling for its forward and input-gradient convolutions, which read the
 * official weights from storage with loads shared by subgroups: a 3×3 at stride 1 takes 8 channels ×
 * 8 or 4 pixels, whichever idles fewer pixels of a row (8 on a tie); other convolutions take
 * chooseDirectTiling's. On lavapipe at batch 4 (`npm run bench:direct-tilings`) 8 × 8 ran W32's
 * 256-channel 8×6 shape about 1.6× faster than the 16-channel tilings, forward and input gradient, and
 * the 4 × 8 or 8 × 8 tiling of the 12-, 24- and 48-wide rows about as fast as the 16-channel ones or
 * faster; 8-channel kernels also compile 2–3× faster on an empty shader cache.
 */
export function chooseTrainingDirectTiling(spec: ConvKernelSpec): DirectConvTiling {
  if (!isPlain3x3(spec)) return chooseDirectTiling(spec);
  return { pixels: idlePixels(spec, 4) < idlePixels(spec, 8) ? 4 : 8, channels: 8 };
}

/**
 * The tilings the training step's forward or input-gradient convolution is compiled with (the
 * variants `hrnet tune --training` times): the forward's, and for a 3×3 at stride 1 the 8-channel
 * ones it takes by default too. Which is fastest depends on the adapter and on the machine's load
 * (the 16-channel tilings overtook 8 × 8 at some of W32's shapes in a slow hour on this project's
 * machine), so the tuner, not this list's order, decides.
 */
export function trainingDirectTilingsFor(spec: ConvKernelSpec): readonly DirectConvTiling[] {
  const tilings = directTilingsFor(spec);
  if (!isPlain3x3(spec)) return tilings;
  const missing = lightTilings.filter(
    (l) => !tilings.some((t) => t.pixels === l.pixels && t.channels === l.channels),
  );
  return [...tilings, ...missing];
}

/** The name of a direct-kernel variant: `direct-p<pixels>k<channels>`. */
export const directVariantName = (tiling: DirectConvTiling): string =>
  `direct-p${tiling.pixels}k${tiling.channels}`;

/** vec4s of one packed channel block: [I][k·k][K/4]. */
function blockVectors(spec: ConvKernelSpec, tiling: DirectConvTiling): number {
  return (spec.inChannels * spec.kernel * spec.kernel * tiling.channels) / 4;
}

/**
 * How the packed weight is split into uniform-binding windows (WeightWindows), or undefined when it
 * would take more than maxWindows (one channel block too big included): the kernel then reads the
 * weight from storage. Windows share the blocks evenly, so the last one pads least.
 */
export function directWeightWindows(
  spec: ConvKernelSpec,
  tiling: DirectConvTiling,
): WeightWindows | undefined {
  const perBlock = blockVectors(spec, tiling) * 16;
  const fit = Math.floor((uniformBindingBytes - 16) / perBlock);
  if (fit < 1) return undefined;
  const total = Math.ceil(spec.outChannels / tiling.channels);
  const count = Math.ceil(total / fit);
  if (count > (tiling.maxWindows ?? maxWindows)) return undefined;
  const blocks = Math.ceil(total / count);
  return { count, blocks, bytes: alignUp(16 + blocks * perBlock) };
}

/** The packed weight layout the kernel reads for these channels per invocation. */
export function directWeightLayout(tiling: DirectConvTiling): WeightLayout {
  if (tiling.channels === 8) return 'conv-direct-k8';
  if (tiling.channels === 16) return 'conv-direct-k16';
  throw new Error(`no direct-conv weight layout for ${tiling.channels} channels per invocation`);
}

/**
 * Rows are read as aligned vec4s when every row starts on a vec4 and is neither upsampled nor
 * dilated on the fly.
 */
function readsVectors(spec: ConvKernelSpec): boolean {
  return spec.inputScale === 1 && (spec.inputDilation ?? 1) === 1 && spec.width % 4 === 0;
}

/**
 * Where the kernel reads its weights: `packed` is the inference weight buffer's conv-direct-kK layout
 * (one vec4 load per tap and channel group); `official` reads a training parameter in place, [O, I, k, k];
 * `flipped-transposed` reads the official weight of the convolution whose input gradient this is
 * (W[i][o][k·k−1−tap]: the transposed convolution of a stride-1 one is a convolution). In training
 * every binding is read_write, as the training step's buffers are bound.
 */
export type DirectWeights = 'packed' | 'official' | 'flipped-transposed';

/** The conv bindings in their order; `x` is declared as vec4s when rows are read as vec4s. */
export function directConvBindings(
  spec: ConvKernelSpec,
  weights: DirectWeights = 'packed',
  tiling: DirectConvTiling = chooseDirectTiling(spec),
): KernelBinding[] {
  return convBindings(spec).map((b) => {
    if (b.name === 'x' && readsVectors(spec)) return { ...b, element: 'vec4<f32>' as const };
    if (weights === 'packed') {
      const windows = directWeightWindows(spec, tiling);
      return b.name === 'weight' && windows
        ? { ...b, uniformLength: 1 + windows.blocks * blockVectors(spec, tiling) }
        : b;
    }
    return {
      ...b,
      access: 'read_write' as const,
      element: b.name === 'weight' ? ('f32' as const) : b.element,
    };
  });
}

/** Workgroups of one dispatch: pixel blocks × the channel blocks of the weight (or of one window). */
export function directConvWorkgroups(
  spec: ConvKernelSpec,
  tiling: DirectConvTiling,
  weights: DirectWeights,
): { columnsPerImage: number; columnsPerGroup: number; rows: number } {
  // A dilated input's row classes (see generateDirectConvKernel) each take a workgroup row per
  // channel block, and as many blocks as the largest class's rows.
  const dilation = spec.inputDilation ?? 1;
  const blocks = Math.ceil(spec.outHeight / dilation) * Math.ceil(spec.outWidth / tiling.pixels);
  const windows = weights === 'packed' ? directWeightWindows(spec, tiling) : undefined;
  const rows = (windows?.blocks ?? Math.ceil(spec.outChannels / tiling.channels)) * dilation;
  // Inference: halve the workgroup (down to 8 lanes, lavapipe's vector width) until one image gives
  // at least 4: with 3, one of two CPU threads idles half the time. No further: on lavapipe many small
  // workgroups measured slower than fewer large ones at batch 8. (Training batches fill any size.)
  let threads = maxThreads;
  while (weights === 'packed' && threads > 8 && Math.ceil(blocks / threads) * rows < 4) threads /= 2;
  return {
    columnsPerImage: blocks,
    columnsPerGroup: Math.min(threads, blocks),
    rows,
  };
}

/** Lanes that share one load (see runtime/device-kernels.ts, which decides where such kernels run). */
export const subgroupShare = sharedLoadLanes;

/**
 * Whether the weight loads can be shared by subgroups of `lanes`: weights from storage (a uniform
 * window's loads are scalar already), workgroups of whole such subgroups.
 */
export function sharesWeightLoads(
  spec: ConvKernelSpec,
  tiling: DirectConvTiling,
  weights: DirectWeights,
  lanes: number,
): boolean {
  if (weights === 'packed' && directWeightWindows(spec, tiling) !== undefined) return false;
  return directConvWorkgroups(spec, tiling, weights).columnsPerGroup % lanes === 0;
}

const vectorName = (chunk: number) => (chunk < 0 ? `m${-chunk}` : `${chunk}`);

/**
 * Direct convolution without workgroup memory or barriers, which lavapipe runs several times faster
 * than the tiled GEMM. Each invocation owns `pixels` adjacent outputs of one row × `channels` output
 * channels in separate vec4 registers; adjacent invocations own adjacent blocks of a row (the batch
 * folded in after the rows), and workgroup y picks the channel block, so every weight load has one
 * address for the whole workgroup. Per input channel (the only runtime loop) it loads each input
 * row the taps need once, with zeros for padding chosen by select over clamped addresses, and reuses
 * every loaded value for all channels. The epilogue equals conv-gemm's: bias, the other terms in
 * their order (upsampled on the fly), ReLU. Packed weights are read from uniform bindings, one window
 * of channel blocks per dispatch (see directWeightWindows): a loop's load from a uniform buffer at an
 * address the workgroup shares is one scalar load on lavapipe, where a storage load is a gather.
 */
export function generateDirectConvKernel(
  spec: ConvKernelSpec,
  tiling: DirectConvTiling = chooseDirectTiling(spec),
  weightSource: DirectWeights = 'packed',
  sharedLoads?: number,
): string {
  for (const scale of spec.termScales) {
    if (spec.outHeight % scale !== 0 || spec.outWidth % scale !== 0) {
      throw new Error(
        `a term at 1/${scale} resolution does not tile a ${spec.outHeight}x${spec.outWidth} output`,
      );
    }
  }
  const { pixels, channels } = tiling;
  if (pixels % 4 !== 0 || channels % 4 !== 0)
    throw new Error(`direct conv tiles must be multiples of 4, not ${pixels}x${channels}`);
  const groupsPerInvocation = channels / 4;
  const taps = spec.kernel * spec.kernel;
  const groups = directConvWorkgroups(spec, tiling, weightSource);
  const windowed = weightSource === 'packed' && directWeightWindows(spec, tiling) !== undefined;
  if (sharedLoads !== undefined && !sharesWeightLoads(spec, tiling, weightSource, sharedLoads))
    throw new Error(`this convolution's weight loads cannot be shared by ${sharedLoads} lanes`);
  const vectors = readsVectors(spec);
  const { stride, pad, kernel } = spec;
  // A dilated input (a strided convolution's input gradient): a block starts on a real value, so
  // which of its columns are zeros is known here, and their multiply-adds are not generated. Which
  // kernel rows reach real rows depends on the output row modulo the dilation, its row class: each
  // class is a workgroup row of its own (group.y), so a workgroup's rows share one class, and it
  // loads only the weights of that class's kernel rows (a third of them for the even rows of a
  // stride-2 3×3, two thirds for the odd ones). Rows past the input's edges are skipped at run time.
  const dilation = spec.inputDilation ?? 1;
  if (dilation > 1 && (stride !== 1 || pixels % dilation !== 0 || spec.inputScale !== 1))
    throw new Error(`a dilated input needs stride 1 and blocks of a multiple of ${dilation} pixels`);
  if (dilation > 1 && weightSource === 'packed')
    throw new Error('a dilated input (an input gradient) reads training weights, not packed ones');
  const real = (column: number) => ((column % dilation) + dilation) % dilation === 0;
  // Column of the value one tap of one pixel reads, relative to the block's first input column.
  const offset = (pixel: number, kx: number) => pixel * stride + kx - pad;
  const firstOffset = -pad;
  const lastOffset = offset(pixels - 1, kernel - 1);
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const pixelList = range(0, pixels - 1);
  const groupList = range(0, groupsPerInvocation - 1);

  // Column addresses and validity are the same for every row and input channel: computed once.
  const columnSetup: string[] = [];
  const columns = vectors
    ? range(Math.floor(firstOffset / 4), Math.floor(lastOffset / 4))
    : range(firstOffset, lastOffset).filter(real);
  for (const c of columns) {
    const name = vectorName(c);
    if (vectors) {
      columnSetup.push(`  let column${name} = ix0${plus(4 * c)};`);
      columnSetup.push(`  let columnOk${name} = column${name} >= 0 && column${name} < VIRTUAL_W;`);
      columnSetup.push(`  let columnAt${name} = u32(clamp(column${name}, 0, VIRTUAL_W - 4)) / 4u;`);
    } else {
      columnSetup.push(`  let column${name} = ix0${plus(c)};`);
      columnSetup.push(`  let columnOk${name} = column${name} >= 0 && column${name} < VIRTUAL_W;`);
      columnSetup.push(`  let columnAt${name} = ${scaled(`clamp(column${name}, 0, VIRTUAL_W - 1)`, spec)};`);
    }
  }
  const rowSetup = range(0, kernel - 1).flatMap((ky) => [
    `  let row${ky} = i32(oy * ${u32(stride)})${plus(ky - pad)};`,
    `  let rowOk${ky} = row${ky} >= 0 && row${ky} < VIRTUAL_H${dilation > 1 ? ` && row${ky} % ${dilation} == 0` : ''};`,
    `  let rowAt${ky} = ${scaled(`clamp(row${ky}, 0, VIRTUAL_H - 1)`, spec)} * ${vectors ? 'W_VEC' : 'W'};`,
  ]);

  // A vec4 chunk the taps only partly read (the halo either side) is read as the scalars they need.
  const needed = (chunk: number) =>
    [0, 1, 2, 3].filter((k) => 4 * chunk + k >= firstOffset && 4 * chunk + k <= lastOffset);
  const partial = (chunk: number) => needed(chunk).length < 4;
  const value = (ky: number, column: number) => {
    if (!vectors) return `v${ky}_${vectorName(column)}`;
    const chunk = Math.floor(column / 4);
    const lane = 'xyzw'[column - 4 * chunk];
    return partial(chunk) ? `v${ky}_${vectorName(chunk)}${lane}` : `v${ky}_${vectorName(chunk)}.${lane}`;
  };
  // Official layouts: each of the K channels' rows starts at its own address (clamped to a real
  // channel; the padding channels' sums are never stored), one scalar load per channel and tap.
  const channelList = range(0, channels - 1);
  const weightSetup =
    weightSource === 'packed'
      ? []
      : channelList.map((c) =>
          weightSource === 'official'
            ? `  let wRow${c} = min(co0 + ${u32(c)}, COUT - 1u) * CIN * ${u32(taps)};`
            : `  let wRow${c} = min(co0 + ${u32(c)}, COUT - 1u) * ${u32(taps)};`,
        );
  const channelStride = weightSource === 'official' ? u32(taps) : `COUT * ${u32(taps)}`;
  const weightLoad = (tap: number, g: number) => {
    if (weightSource === 'packed') return `weight[weights + ${u32(tap * groupsPerInvocation + g)}]`;
    const t = weightSource === 'official' ? tap : taps - 1 - tap;
    const lanes = [0, 1, 2, 3].map((i) => `weight[wRow${4 * g + i} + weights + ${u32(t)}]`);
    return `vec4<f32>(${lanes.join(', ')})`;
  };
  // With shared loads, one input channel's weights are loaded together before its taps: lane m of
  // each group of S loads values m, m + S, … (vec4s of the packed layout; scalars (channel, tap) of
  // the official ones), and every lane takes them by subgroupBroadcast.
  const sharedWeightLoads = (tapList: readonly number[] = range(0, taps - 1)): string[] => {
    const S = sharedLoads!;
    if (weightSource === 'packed') {
      const count = taps * groupsPerInvocation;
      return [
        ...range(0, Math.ceil(count / S) - 1).map(
          (j) => `      let s${j} = weight[weights + min(${u32(j * S)} + member, ${u32(count - 1)})];`,
        ),
        ...range(0, taps - 1).flatMap((tap) =>
          groupList.map((g) => {
            const i = tap * groupsPerInvocation + g;
            return `      w${tap}_${g} = subgroupBroadcast(s${Math.floor(i / S)}, ${u32(i % S)});`;
          }),
        ),
      ];
    }
    // Value v is (channel v / R, tap t = v % R of tapList). tapList is whole kernel rows, every
    // `dilation`-th from its first (a row class's), so its t-th tap is an expression of t.
    const R = tapList.length;
    const count = channels * R;
    const firstRow = Math.floor(tapList[0]! / kernel);
    const tapOf = (t: string) =>
      R === taps
        ? t
        : `((${u32(firstRow)} + ${u32(dilation)} * (${t} / ${u32(kernel)})) * ${u32(kernel)} + ${t} % ${u32(kernel)})`;
    const rowStride = weightSource === 'official' ? `CIN * ${u32(taps)}` : u32(taps);
    const tapIndex = (t: string) => (weightSource === 'official' ? t : `${u32(taps - 1)} - ${t}`);
    return [
      ...range(0, Math.ceil(count / S) - 1).flatMap((j) => [
        `      let v${j} = min(${u32(j * S)} + member, ${u32(count - 1)});`,
        `      let s${j} = weight[min(co0 + v${j} / ${u32(R)}, COUT - 1u) * ${rowStride} + weights + ${tapIndex(tapOf(`v${j} % ${u32(R)}`))}];`,
      ]),
      ...tapList.flatMap((tap, t) =>
        groupList.map((g) => {
          const lanes = [0, 1, 2, 3].map((k) => {
            const i = (4 * g + k) * R + t;
            return `subgroupBroadcast(s${Math.floor(i / S)}, ${u32(i % S)})`;
          });
          return `      w${tap}_${g} = vec4<f32>(${lanes.join(', ')});`;
        }),
      ),
    ];
  };
  // The weights of the taps in tapList, before their multiply-adds.
  const weightPrologue = (tapList: readonly number[]): string[] =>
    sharedLoads === undefined
      ? tapList.flatMap((tap) => groupList.map((g) => `    let w${tap}_${g} = ${weightLoad(tap, g)};`))
      : [
          ...tapList.flatMap((tap) => groupList.map((g) => `    var w${tap}_${g}: vec4<f32>;`)),
          '    if (sharedSubgroups) {',
          ...sharedWeightLoads(tapList),
          '    } else {',
          ...tapList.flatMap((tap) => groupList.map((g) => `      w${tap}_${g} = ${weightLoad(tap, g)};`)),
          '    }',
        ];
  // Each accumulator takes all of its taps before the next one starts: lavapipe keeps the few live
  // ones in registers, where taps-outer order (every accumulator once per tap) stored and reloaded
  // each of them per tap. Each accumulator's sum keeps the order ky, kx, so results are unchanged.
  const loadRow = (ky: number): string[] => {
    const zero = vectors ? 'vec4<f32>(0.0)' : '0.0';
    return columns.flatMap((c) => {
      const name = vectorName(c);
      const at = `x[plane + rowAt${ky} + columnAt${name}]`;
      const ok = `rowOk${ky} && columnOk${name}`;
      if (vectors && partial(c))
        return needed(c).map((k) => {
          const lane = 'xyzw'[k];
          return `    let v${ky}_${name}${lane} = select(0.0, ${at}.${lane}, ${ok});`;
        });
      return [`    let v${ky}_${name} = select(${zero}, ${at}, ${ok});`];
    });
  };
  const multiplyAdds = (rows: readonly number[]): string[] =>
    pixelList.flatMap((j) =>
      groupList.flatMap((g) =>
        rows.flatMap((ky) =>
          range(0, kernel - 1)
            .filter((kx) => real(offset(j, kx)))
            .map((kx) => {
              const tap = ky * kernel + kx;
              return `    acc${g}_${j} = fma(vec4<f32>(${value(ky, offset(j, kx))}), w${tap}_${g}, acc${g}_${j});`;
            }),
        ),
      ),
    );
  const rowList = range(0, kernel - 1);
  const tapsOfRows = (rows: readonly number[]) =>
    rows.flatMap((ky) => range(0, kernel - 1).map((kx) => ky * kernel + kx));
  const body: string[] = [];
  if (dilation > 1) {
    // Per row class, its kernel rows' weights, then each row that is inside the input (the branch
    // holds no subgroup operation: rowOk differs between lanes).
    const rowsOfClass = (q: number) =>
      rowList.filter((ky) => (((q + ky - pad) % dilation) + dilation) % dilation === 0);
    range(0, dilation - 1).forEach((q) => {
      const rows = rowsOfClass(q);
      body.push(`    ${q === 0 ? '' : '} else '}if (rowClass == ${u32(q)}) {`);
      body.push(...weightPrologue(tapsOfRows(rows)).map((line) => `  ${line}`));
      for (const ky of rows)
        body.push(
          `      if (rowOk${ky}) {`,
          ...[...loadRow(ky), ...multiplyAdds([ky])].map((line) => `    ${line}`),
          '      }',
        );
    });
    body.push('    }');
  } else {
    body.push(...weightPrologue(tapsOfRows(rowList)), ...rowList.flatMap(loadRow), ...multiplyAdds(rowList));
  }

  const declareAccumulators = groupList.flatMap((g) =>
    pixelList.map((j) => `  var acc${g}_${j} = vec4<f32>(0.0);`),
  );
  // One pixel per iteration, the registers shifting down a pixel after each: the epilogue appears
  // once per channel group instead of once per accumulator, which cuts lavapipe's compile time
  // several-fold (every scattered store expands to a per-lane loop).
  const stores = groupList.map((g) => `    store4(image, oy, x0 + j, co0 + ${u32(4 * g)}, acc${g}_0);`);
  const shifts = groupList.flatMap((g) =>
    pixelList.slice(1).map((j) => `    acc${g}_${j - 1} = acc${g}_${j};`),
  );

  const sumLines = convEpilogueSum(spec, '      ');

  return `${generatorHeader('compiler/codegen/wgsl/conv-direct.ts', `${describeConv(spec)}, ${pixels} pixels x ${channels} channels per invocation${weightSource === 'packed' ? '' : `, ${weightSource} weights`}${sharedLoads === undefined ? '' : `, weight loads shared by ${sharedLoads} lanes`}`)}
${sharedLoads === undefined ? '' : '\nenable subgroups;\n'}
${declareBindings(directConvBindings(spec, weightSource, tiling))}

const CIN: u32 = ${u32(spec.inChannels)};
const H: u32 = ${u32(spec.height)};
const W: u32 = ${u32(spec.width)};
const W_VEC: u32 = ${u32(Math.ceil(spec.width / 4))};
const COUT: u32 = ${u32(spec.outChannels)};
const HO: u32 = ${u32(spec.outHeight)};
const WO: u32 = ${u32(spec.outWidth)};
const X_BLOCKS: u32 = ${u32(Math.ceil(spec.outWidth / pixels))};
const BLOCKS: u32 = ${u32(groups.columnsPerImage)};
const VIRTUAL_H: i32 = ${spec.height * spec.inputScale * dilation};
const VIRTUAL_W: i32 = ${spec.width * spec.inputScale * dilation};
const THREADS: u32 = ${u32(groups.columnsPerGroup)};

@compute @workgroup_size(${groups.columnsPerGroup})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32${
    sharedLoads === undefined
      ? ''
      : ', @builtin(subgroup_invocation_id) lane: u32, @builtin(subgroup_size) subgroupSize: u32'
  }) {
${
  sharedLoads === undefined
    ? `  let block = group.x * THREADS + lid;
  // No barriers, so the tail's invocations may leave early.
  if (block >= params.batch * BLOCKS) {
    return;
  }`
    : `  // The tail's invocations compute a real block and store nothing: they load weights for the others.
  let stores = group.x * THREADS + lid < params.batch * BLOCKS;
  let block = min(group.x * THREADS + lid, params.batch * BLOCKS - 1u);
  let sharedSubgroups = subgroupSize % ${u32(sharedLoads)} == 0u && THREADS % subgroupSize == 0u;
  let member = lane % ${u32(sharedLoads)};`
}
  let image = block / BLOCKS;${
    dilation > 1
      ? ''
      : `
  let oy = (block % BLOCKS) / X_BLOCKS;`
  }
  let x0 = (block % X_BLOCKS) * ${u32(pixels)};
  ${
    windowed
      ? `// This dispatch's window of the weight starts with its first channel block.
  let channelBlock = u32(weight[0].x) + group.y;`
      : dilation > 1
        ? `let channelBlock = group.y / ${u32(dilation)};
  // Rows of one class: oy ≡ rowClass modulo the dilation.
  let rowClass = group.y % ${u32(dilation)};
  let oy = (block % BLOCKS) / X_BLOCKS * ${u32(dilation)} + rowClass;${
    sharedLoads === undefined
      ? `
  // A class with fewer rows than the largest ends early.
  if (oy >= HO) {
    return;
  }`
      : ''
  }`
        : 'let channelBlock = group.y;'
  }
  let co0 = channelBlock * ${u32(channels)};
  // The input row and column the block's first pixel starts at.
  let ix0 = i32(x0 * ${u32(stride)});
${[...columnSetup, ...rowSetup, ...weightSetup].join('\n')}

${declareAccumulators.join('\n')}
  for (var ci = 0u; ci < CIN; ci = ci + 1u) {
    let plane = (image * CIN + ci) * H * ${vectors ? 'W_VEC' : 'W'};
    let weights = ${weightSource === 'packed' ? `${windowed ? '1u + ' : ''}(group.y * CIN + ci) * ${u32(taps * groupsPerInvocation)}` : `ci * ${channelStride}`};
${body.join('\n')}
  }

  // A bound the compiler cannot see, so the loop stays a loop; it also skips the tail's pixels.
  let count = ${sharedLoads === undefined ? '' : 'select(0u, '}min(${u32(pixels)}, WO - x0)${sharedLoads === undefined ? '' : `, stores${dilation > 1 ? ' && oy < HO' : ''})`};
  for (var j = 0u; j < count; j = j + 1u) {
${stores.join('\n')}
${shifts.join('\n')}
  }
}

/** The epilogue for four channels of one output pixel: bias, the sum in its original order, ReLU. */
fn store4(image: u32, oy: u32, ox: u32, co0: u32, accumulated: vec4<f32>) {
  if (co0 >= COUT) {
    return;
  }
  for (var i = 0u; i < 4u; i = i + 1u) {
    let co = co0 + i;
    if (co < COUT) {
      let outIndex = ((image * COUT + co) * HO + oy) * WO + ox;
      let own = accumulated[i]${spec.hasBias ? ' + bias[co]' : ''};
${sumLines.join('\n')}
      out[outIndex] = sum;
    }
  }
}
`;
}

const plus = (n: number) => (n < 0 ? ` - ${-n}` : ` + ${n}`);

/** The real row or column of a virtual (upsampled or dilated) one. */
function scaled(index: string, spec: ConvKernelSpec): string {
  const divisor = spec.inputScale * (spec.inputDilation ?? 1);
  return divisor === 1 ? `u32(${index})` : `u32(${index}) / ${u32(divisor)}`;
}
