import type { WorkgroupCounts } from '../../../../runtime/program.ts';
import { declareBindings, generatorHeader, type KernelBinding, u32, useAllBindings } from '../bindings.ts';
import { vectorElement, vectorWidth } from './vec4-loop.ts';

const generator = 'compiler/codegen/wgsl/train/channel-reductions.ts';
const rw = (name: string): KernelBinding => ({ name, access: 'read_write', element: 'f32' });

/** A per-channel kernel's header, bindings, and the constants C and PLANE. */
export function channelKernelHeader(
  generatorFile: string,
  description: string,
  bindings: KernelBinding[],
  channels: number,
  plane: number,
): string {
  return `${generatorHeader(generatorFile, description)}

${declareBindings(bindings)}

const C: u32 = ${u32(channels)};
const PLANE: u32 = ${u32(plane)};`;
}

/** Lanes of a channel-reduction workgroup. */
const reductionLanes = 64;

/** Workgroups a channel reduction aims for: a few per core of a 2-core CPU adapter. */
const targetWorkgroups = 8;

/** Rounds at most, so that two sums' lane values fit in 16 KiB of workgroup memory. */
const maxRounds = 16;

/**
 * Elements (vec4s or values) of an image's plane per lane at least: with one each, HRNet's small
 * planes spent their time on the per-round work, not the loads.
 */
const laneElements = 4;

/**
 * How a channel reduction's workgroup divides its work: `lanes` adjacent lanes share a channel
 * (a power of two, about laneElements elements of an image's plane each, in vec4s where the plane
 * comes in fours; at most the workgroup), so
 * `parallel` channels run side by side, and the workgroup takes `rounds` such sets of channels, one
 * after the other: `block` channels in all.
 */
export function channelReductionLayout(
  channels: number,
  plane: number,
): { lanes: number; parallel: number; rounds: number; block: number } {
  const elements = plane / vectorWidth(plane);
  const lanes = Math.min(reductionLanes, 2 ** Math.ceil(Math.log2(Math.max(1, elements / laneElements))));
  const parallel = reductionLanes / lanes;
  const rounds = Math.min(maxRounds, Math.max(1, Math.ceil(channels / parallel / targetWorkgroups)));
  return { lanes, parallel, rounds, block: parallel * rounds };
}

/**
 * Workgroups of a channel-reduction kernel (bn_stats, channel_sum, bn_grad_gamma), and of the
 * per-value kernels laid out alike (bn_train, bn_grad_input).
 */
export function channelReductionWorkgroups(channels: number, plane: number): WorkgroupCounts {
  return { kind: 'fixed', x: Math.ceil(channels / channelReductionLayout(channels, plane).block) };
}

/**
 * The header of a kernel over channel blocks (channelReductionLayout): bindings, with those named in
 * `perValue` read as vec4s where the plane comes in fours, and the constants C, PLANE (in elements),
 * G, S, ROUNDS, BLOCK and ZERO (0 of the element type).
 */
export function channelBlockHeader(
  generatorFile: string,
  description: string,
  bindings: readonly KernelBinding[],
  perValue: readonly string[],
  channels: number,
  plane: number,
): string {
  const width = vectorWidth(plane);
  const element = vectorElement(plane);
  const typed = bindings.map((b): KernelBinding => (perValue.includes(b.name) ? { ...b, element } : b));
  const { lanes, parallel, rounds, block } = channelReductionLayout(channels, plane);
  return `${channelKernelHeader(generatorFile, description, typed, channels, plane / width)}
const G: u32 = ${u32(parallel)};
const S: u32 = ${u32(lanes)};
const ROUNDS: u32 = ${u32(rounds)};
const BLOCK: u32 = ${u32(block)};
const ZERO: ${element} = ${element}(0.0);`;
}

/**
 * A workgroup takes BLOCK adjacent channels, G at a time (a round), S = 64 / G lanes each: lane s
 * of a channel sums elements s, s + S, … of every image's plane in order, as vec4s where the plane
 * comes in fours, so that adjacent lanes read adjacent memory. (lavapipe gathers a SIMD group's
 * loads: here one or two cache lines, where lanes in eight channels' planes touched eight. In W32's
 * training step at batch 4, `npm run bench:train -- --experiment experiments/coco/w32_256x192.yaml
 * --batch 4 --profile`, bn_grad_gamma took 128 ms instead of 183, bn_stats 99 instead of 120.)
 * Each lane keeps its sum, (x + y) + (z + w) of a vec4, in workgroup
 * memory; after one barrier, lane j adds channel j's S sums in lane order. No tree: on a CPU adapter
 * a barrier switches every SIMD group of the workgroup, and a 64-lane tree takes eight of them.
 * Rounds keep the workgroups few: lavapipe spent several microseconds on each of the 128 that one
 * channel each gave a 128-channel layer. The order is fixed by the layout, so results are
 * bit-identical every run. `sums` names the sums the body keeps (`keep`) and then adds (`addUp`);
 * ZERO is 0 of the element type (f32 or vec4<f32>) that the bindings named in `perValue` are read as;
 * `perChannel` names workgroup arrays of one value per channel of the block (bn_stats' means, which
 * its second pass reads).
 */
function channelKernel(
  description: string,
  bindings: KernelBinding[],
  perValue: readonly string[],
  channels: number,
  plane: number,
  sums: readonly string[],
  body: string,
  perChannel: readonly string[] = [],
): string {
  const { rounds, block } = channelReductionLayout(channels, plane);
  const width = vectorWidth(plane);
  return `${channelBlockHeader(generator, description, bindings, perValue, channels, plane)}

${[
  ...sums.map((name) => `var<workgroup> ${name}Lanes: array<f32, ${reductionLanes * rounds}>;`),
  ...perChannel.map((name) => `var<workgroup> ${name}: array<f32, ${block}>;`),
].join('\n')}

/** One lane's sum as a scalar. */
fn laneSum(value: ${vectorElement(plane)}) -> f32 {
  return ${width === 4 ? '(value.x + value.y) + (value.z + value.w)' : 'value'};
}

@compute @workgroup_size(${reductionLanes})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % S;
  let count = params.batch * PLANE * ${u32(width)};
  // Lane j < BLOCK adds up, and writes, the sums of the block's channel j.
  let writes = lid < BLOCK && group.x * BLOCK + lid < C;
  let own = min(group.x * BLOCK + lid, C - 1u);
${body}
}
`;
}

/**
 * Runs `statements` once per round with c = the lane's channel (j of the block, clamped to the last
 * channel) and r the round, in a kernel with channelBlockHeader's constants.
 */
export function eachChannel(statements: string): string {
  return `  for (var r = 0u; r < ROUNDS; r = r + 1u) {
    let j = r * G + lid / S;
    let c = min(group.x * BLOCK + j, C - 1u);
${statements}
  }`;
}

/** Runs `statements` with k = the index of each of this lane's elements of channel c. */
export function eachValue(statements: string): string {
  return `    for (var n = 0u; n < params.batch; n = n + 1u) {
      let base = (n * C + c) * PLANE;
      for (var p = lane; p < PLANE; p = p + S) {
        let k = base + p;
${statements}
      }
    }`;
}

/** Keeps this lane's value of sum `name` for its round. */
const keep = (name: string) => `    ${name}Lanes[r * ${u32(reductionLanes)} + lid] = laneSum(${name});`;

/** After a barrier, `total<Name>` is channel `own`'s sum for lanes below BLOCK (0 for the others). */
function addUp(names: readonly string[]): string {
  const total = (name: string) => `total${name[0]!.toUpperCase()}${name.slice(1)}`;
  return `  workgroupBarrier();
${names.map((name) => `  var ${total(name)} = 0.0;`).join('\n')}
  if (lid < BLOCK) {
    for (var s = 0u; s < S; s = s + 1u) {
${names.map((name) => `      ${total(name)} = ${total(name)} + ${name}Lanes[lid * S + s];`).join('\n')}
    }
  }`;
}

/**
 * bn_stats: per channel the batch mean and the biased variance (mean of squared deviations). With
 * `runningMomentum`, it also does bn_running's update of the running statistics (the official
 * momentum and the unbiased variance), saving that launch.
 */
export function batchStatsKernel(channels: number, plane: number, runningMomentum?: number): string {
  const running = runningMomentum === undefined ? [] : [rw('runningMean'), rw('runningVar')];
  const m = runningMomentum;
  return channelKernel(
    `batch mean and variance of ${channels} channels x ${plane}${m === undefined ? '' : `, running statistics (momentum ${m})`}`,
    [rw('stats'), rw('x'), ...running],
    ['x'],
    channels,
    plane,
    ['sum', 'squares'],
    `${eachChannel(`    var sum = ZERO;
${eachValue('        sum = sum + x[k];')}
${keep('sum')}`)}
${addUp(['sum'])}
  let mean = totalSum / f32(count);
  if (lid < BLOCK) {
    means[lid] = mean;
  }
  workgroupBarrier();
${eachChannel(`    let mean = means[j];
    var squares = ZERO;
${eachValue(`        let d = x[k] - mean;
        squares = squares + d * d;`)}
${keep('squares')}`)}
${addUp(['squares'])}
  let variance = totalSquares / f32(count);
  if (writes) {
    stats[own] = mean;
    stats[C + own] = variance;${
      m === undefined
        ? ''
        : `
    let n = f32(count);
    runningMean[own] = ${1 - m} * runningMean[own] + ${m} * mean;
    runningVar[own] = ${1 - m} * runningVar[own] + ${m} * variance * n / (n - 1.0);`
    }
  }`,
    ['means'],
  );
}

/** dy at k, or with a fused ReLU mask, dy where the ReLU's output is positive. */
const gradientAt = (masked: boolean) => (masked ? 'select(ZERO, dy[k], mask[k] > ZERO)' : 'dy[k]');

/** channel_sum: Σ over N, H, W per channel (bias and BN β gradients), optionally ReLU-masked. */
export function channelSumKernel(channels: number, plane: number, masked = false): string {
  return channelKernel(
    `channel sum of ${channels} channels x ${plane}${masked ? ', ReLU-masked' : ''}`,
    [rw('out'), rw('dy'), ...(masked ? [rw('mask')] : [])],
    ['dy', 'mask'],
    channels,
    plane,
    ['sum'],
    `${eachChannel(`    var sum = ZERO;
${eachValue(`        sum = sum + ${gradientAt(masked)};`)}
${keep('sum')}`)}
${addUp(['sum'])}
  if (writes) {
    out[own] = totalSum;
  }`,
  );
}

/**
 * bn_grad_gamma: Σ dy · x̂ per channel, x̂ = (x − mean) / √(var + eps); dy optionally ReLU-masked.
 * With `withBeta`, also channel_sum's Σ dy of the same dy (the β gradient) into `outBeta`: one read
 * of dy and one launch for both. Each sum keeps its own order, so both equal the separate kernels'.
 */
export function batchNormGammaGradKernel(
  channels: number,
  plane: number,
  eps: number,
  masked = false,
  withBeta = false,
): string {
  return channelKernel(
    `BN γ${withBeta ? ' and β' : ''} gradient of ${channels} channels x ${plane}${masked ? ', ReLU-masked' : ''}`,
    [
      rw('out'),
      ...(withBeta ? [rw('outBeta')] : []),
      rw('dy'),
      rw('x'),
      rw('stats'),
      ...(masked ? [rw('mask')] : []),
    ],
    ['dy', 'x', 'mask'],
    channels,
    plane,
    withBeta ? ['sum', 'sumBeta'] : ['sum'],
    `${eachChannel(`    let mean = stats[c];
    let invStd = 1.0 / sqrt(stats[C + c] + ${eps.toExponential()});
    var sum = ZERO;${withBeta ? '\n    var sumBeta = ZERO;' : ''}
${eachValue(
  withBeta
    ? `        let g = ${gradientAt(masked)};
        sum = sum + g * ((x[k] - mean) * invStd);
        sumBeta = sumBeta + g;`
    : `        sum = sum + ${gradientAt(masked)} * ((x[k] - mean) * invStd);`,
)}
${keep('sum')}${withBeta ? `\n${keep('sumBeta')}` : ''}`)}
${addUp(withBeta ? ['sum', 'sumBeta'] : ['sum'])}
  if (writes) {
    out[own] = totalSum;${withBeta ? '\n    outBeta[own] = totalSumBeta;' : ''}
  }`,
  );
}

/**
 * The official JointsMSELoss in one workgroup: 0.5 · Σ (pred·w − gt·w)² / (J · N · h · w), with w the
 * target weight of the image and joint (1 without USE_TARGET_WEIGHT).
 */
export function mseLossKernel(joints: number, plane: number, useTargetWeight: boolean): string {
  return `${generatorHeader(generator, `JointsMSELoss over ${joints} joints x ${plane}`)}

${declareBindings([rw('loss'), rw('output'), rw('targetHeatmaps'), rw('weight')])}

const J: u32 = ${u32(joints)};
const PLANE: u32 = ${u32(plane)};

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
${useAllBindings([rw('loss'), rw('output'), rw('targetHeatmaps'), rw('weight')])}
  let count = params.batch * J * PLANE;
  var sum = 0.0;
  for (var i = lid; i < count; i = i + 256u) {
    let w = ${useTargetWeight ? 'weight[i / PLANE]' : '1.0'};
    let d = output[i] * w - targetHeatmaps[i] * w;
    sum = sum + d * d;
  }
  partial[lid] = sum;
  workgroupBarrier();
  for (var step = 128u; step > 0u; step = step >> 1u) {
    if (lid < step) {
      partial[lid] = partial[lid] + partial[lid + step];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    loss[0] = 0.5 * partial[0] / f32(count);
  }
}
`;
}

/** Workgroups of partialSumKernel: one lane per value, or per vec4 (vectorWidth). */
export function partialSumWorkgroups(elements: number): WorkgroupCounts {
  return { kind: 'fixed', x: Math.ceil(elements / vectorWidth(elements) / 64) };
}

/** Sums the split weight-gradient partials in slice order: dw[i] = Σ_s partial[s][i]. */
export function partialSumKernel(elements: number, splits: number): string {
  const width = vectorWidth(elements);
  const element = vectorElement(elements);
  const bindings: KernelBinding[] = [
    { name: 'dw', access: 'read_write', element },
    { name: 'partial', access: 'read_write', element },
  ];
  return `${generatorHeader(generator, `sum of ${splits} partial weight gradients of ${elements} values`)}

${declareBindings(bindings)}

const COUNT: u32 = ${u32(elements / width)};
const SPLITS: u32 = ${u32(splits)};

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
${useAllBindings(bindings)}
  let i = gid.x;
  if (i >= COUNT) {
    return;
  }
  var sum = partial[i];
  for (var s = 1u; s < SPLITS; s = s + 1u) {
    sum = sum + partial[s * COUNT + i];
  }
  dw[i] = sum;
}
`;
}
