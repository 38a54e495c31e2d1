import { declareBindings, generatorHeader, type KernelBinding, u32, useAllBindings } from '../bindings.ts';

const generator = 'compiler/codegen/wgsl/train/channel-reductions.ts';
const rw = (name: string): KernelBinding => ({ name, access: 'read_write', element: 'f32' });

/** Lanes per channel: 64, fewer for planes smaller than that (a multiple of 8, lavapipe's width). */
export function channelLanes(plane: number): number {
  return Math.min(64, 8 * Math.ceil(plane / 8));
}

/** A per-channel kernel's header, bindings, and the constants C, PLANE and LANES. */
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
const PLANE: u32 = ${u32(plane)};
const LANES: u32 = ${u32(channelLanes(plane))};`;
}

/**
 * One workgroup per channel: its lanes walk each image's plane of the channel (adjacent lanes,
 * adjacent values), then a tree sum in workgroup memory. The order is fixed by the lane index, so
 * results are bit-identical every run. Per-channel values are read before any loop, where a CPU
 * adapter loads them once for the workgroup rather than per lane.
 */
function channelKernel(
  description: string,
  bindings: KernelBinding[],
  channels: number,
  plane: number,
  body: string,
): string {
  const lanes = channelLanes(plane);
  return `${channelKernelHeader(generator, description, bindings, channels, plane)}

var<workgroup> partial: array<f32, ${lanes}>;

/** The workgroup's sum of every lane's value (all lanes get it). */
fn workgroupSum(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var step = LANES / 2u; step > 0u; step = step >> 1u) {
    if (lid < step) {
      partial[lid] = partial[lid] + partial[lid + step];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = group.x;
  let count = params.batch * PLANE;
${body}
}
`;
}

/** Runs `statements` with k = the index of each of this lane's values of channel c. */
function forEachValue(statements: string): string {
  return `  for (var n = 0u; n < params.batch; n = n + 1u) {
    let base = (n * C + c) * PLANE;
    for (var p = lid; p < PLANE; p = p + LANES) {
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
  let mean = workgroupSum(lid, sum) / f32(count);
  var squares = 0.0;
${forEachValue(`      let d = x[k] - mean;
      squares = squares + d * d;`)}
  let variance = workgroupSum(lid, squares) / f32(count);
  if (lid == 0u) {
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
  let total = workgroupSum(lid, sum);
  if (lid == 0u) {
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
  let total = workgroupSum(lid, sum);${withBeta ? '\n  let totalBeta = workgroupSum(lid, sumBeta);' : ''}
  if (lid == 0u) {
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

/** Sums the split weight-gradient partials in slice order: dw[i] = Σ_s partial[s][i]. */
export function partialSumKernel(elements: number, splits: number): string {
  return `${generatorHeader(generator, `sum of ${splits} partial weight gradients of ${elements} values`)}

${declareBindings([rw('dw'), rw('partial')])}

const ELEMENTS: u32 = ${u32(elements)};
const SPLITS: u32 = ${u32(splits)};

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
${useAllBindings([rw('dw'), rw('partial')])}
  let i = gid.x;
  if (i >= ELEMENTS) {
    return;
  }
  var sum = 0.0;
  for (var s = 0u; s < SPLITS; s = s + 1u) {
    sum = sum + partial[s * ELEMENTS + i];
  }
  dw[i] = sum;
}
`;
}
