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

/** Lanes of a channel-reduction workgroup: reductionChannels channels × segments of the plane. */
const reductionLanes = 64;

/**
 * Channels per channel-reduction workgroup: 8 to 32, a quarter of the channels, so there are at least
 * 4 workgroups (2 per core of a 2-core CPU adapter) wherever a layer has 32 channels or more.
 */
export function reductionChannels(channels: number): number {
  return Math.min(32, Math.max(8, 2 ** Math.floor(Math.log2(Math.max(1, channels / 4)))));
}

/** Workgroups of a channel-reduction kernel (bn_stats, channel_sum, bn_grad_gamma). */
export function channelReductionWorkgroups(channels: number): WorkgroupCounts {
  return { kind: 'fixed', x: Math.ceil(channels / reductionChannels(channels)) };
}

/**
 * A workgroup takes G adjacent channels and cuts each image's plane into 64 / G contiguous
 * segments: lane (segment s, channel g) sums its segment of every image in order, then the segment
 * sums are added in segment order by one lane per channel. One barrier per sum, no tree: on a CPU
 * adapter a barrier switches every SIMD group of the workgroup, and a 64-lane tree takes eight of
 * them (it also needs a power-of-two lane count). The order is fixed by the layout, so results are
 * bit-identical every run. Per-channel values are read before any loop.
 */
function channelKernel(
  description: string,
  bindings: KernelBinding[],
  channels: number,
  plane: number,
  body: string,
): string {
  const group = reductionChannels(channels);
  const segments = reductionLanes / group;
  return `${channelKernelHeader(generator, description, bindings, channels, plane)}
const G: u32 = ${u32(group)};
const SEGMENTS: u32 = ${u32(segments)};
const SEGMENT: u32 = ${u32(Math.ceil(plane / segments))};

var<workgroup> partial: array<f32, ${reductionLanes}>;
var<workgroup> totals: array<f32, ${group}>;

/** The sum over segments of each lane's value, for the lane's channel (every lane gets it). */
fn channelSum(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  if (lid < G) {
    var total = 0.0;
    for (var s = 0u; s < SEGMENTS; s = s + 1u) {
      total = total + partial[s * G + lid];
    }
    totals[lid] = total;
  }
  workgroupBarrier();
  let total = totals[lid % G];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(${reductionLanes})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let channel = group.x * G + lid % G;
  let writes = channel < C && lid < G;
  let c = min(channel, C - 1u);
  let first = (lid / G) * SEGMENT;
  let last = min(first + SEGMENT, PLANE);
  let count = params.batch * PLANE;
${body}
}
`;
}

/** Runs \`statements\` with k = the index of each of this lane's values of channel c. */
function forEachValue(statements: string): string {
  return `  for (var n = 0u; n < params.batch; n = n + 1u) {
    let base = (n * C + c) * PLANE;
    for (var p = first; p < last; p = p + 1u) {
      let k = base + p;
${statements}
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
    channels,
    plane,
    `  var sum = 0.0;
${forEachValue('      sum = sum + x[k];')}
  let mean = channelSum(lid, sum) / f32(count);
  var squares = 0.0;
${forEachValue(`      let d = x[k] - mean;
      squares = squares + d * d;`)}
  let variance = channelSum(lid, squares) / f32(count);
  if (writes) {
    stats[c] = mean;
    stats[C + c] = variance;${
      m === undefined
        ? ''
        : `
    let n = f32(count);
    runningMean[c] = ${1 - m} * runningMean[c] + ${m} * mean;
    runningVar[c] = ${1 - m} * runningVar[c] + ${m} * variance * n / (n - 1.0);`
    }
  }`,
  );
}

/** dy at k, or with a fused ReLU mask, dy where the ReLU's output is positive. */
const gradientAt = (masked: boolean) => (masked ? 'select(0.0, dy[k], mask[k] > 0.0)' : 'dy[k]');

/** channel_sum: Σ over N, H, W per channel (bias and BN β gradients), optionally ReLU-masked. */
export function channelSumKernel(channels: number, plane: number, masked = false): string {
  return channelKernel(
    `channel sum of ${channels} channels x ${plane}${masked ? ', ReLU-masked' : ''}`,
    [rw('out'), rw('dy'), ...(masked ? [rw('mask')] : [])],
    channels,
    plane,
    `  var sum = 0.0;
${forEachValue(`      sum = sum + ${gradientAt(masked)};`)}
  let total = channelSum(lid, sum);
  if (writes) {
    out[c] = total;
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
    channels,
    plane,
    `  let mean = stats[c];
  let invStd = 1.0 / sqrt(stats[C + c] + ${eps.toExponential()});
  var sum = 0.0;${withBeta ? '\n  var sumBeta = 0.0;' : ''}
${forEachValue(
  withBeta
    ? `      let g = ${gradientAt(masked)};
      sum = sum + g * ((x[k] - mean) * invStd);
      sumBeta = sumBeta + g;`
    : `      sum = sum + ${gradientAt(masked)} * ((x[k] - mean) * invStd);`,
)}
  let total = channelSum(lid, sum);${withBeta ? '\n  let totalBeta = channelSum(lid, sumBeta);' : ''}
  if (writes) {
    out[c] = total;${withBeta ? '\n    outBeta[c] = totalBeta;' : ''}
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
