import { declareBindings, generatorHeader, type KernelBinding, u32, useAllBindings } from '../bindings.ts';

const generator = 'compiler/codegen/wgsl/train/channel-reductions.ts';
const rw = (name: string): KernelBinding => ({ name, access: 'read_write', element: 'f32' });

/**
 * One workgroup per channel: 256 threads stride over the channel's N·H·W values, then a tree sum in
 * workgroup memory. The order is fixed by the thread index, so results are bit-identical every run.
 */
function channelKernel(
  description: string,
  bindings: KernelBinding[],
  channels: number,
  plane: number,
  body: string,
): string {
  return `${generatorHeader(generator, description)}

${declareBindings(bindings)}

const C: u32 = ${u32(channels)};
const PLANE: u32 = ${u32(plane)};

var<workgroup> partial: array<f32, 256>;

fn index(c: u32, i: u32) -> u32 {
  return ((i / PLANE) * C + c) * PLANE + i % PLANE;
}

/** The workgroup's sum of every thread's value (all threads get it). */
fn workgroupSum(lid: u32, value: f32) -> f32 {
  partial[lid] = value;
  workgroupBarrier();
  for (var step = 128u; step > 0u; step = step >> 1u) {
    if (lid < step) {
      partial[lid] = partial[lid] + partial[lid + step];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = group.x;
  let count = params.batch * PLANE;
${body}
}
`;
}

/** bn_stats: per channel the batch mean and the biased variance (mean of squared deviations). */
export function batchStatsKernel(channels: number, plane: number): string {
  return channelKernel(
    `batch mean and variance of ${channels} channels x ${plane}`,
    [rw('stats'), rw('x')],
    channels,
    plane,
    `  var sum = 0.0;
  for (var i = lid; i < count; i = i + 256u) {
    sum = sum + x[index(c, i)];
  }
  let mean = workgroupSum(lid, sum) / f32(count);
  var squares = 0.0;
  for (var i = lid; i < count; i = i + 256u) {
    let d = x[index(c, i)] - mean;
    squares = squares + d * d;
  }
  let variance = workgroupSum(lid, squares) / f32(count);
  if (lid == 0u) {
    stats[c] = mean;
    stats[C + c] = variance;
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
  for (var i = lid; i < count; i = i + 256u) {
    let k = index(c, i);
    sum = sum + ${gradientAt(masked)};
  }
  let total = workgroupSum(lid, sum);
  if (lid == 0u) {
    out[c] = total;
  }`,
  );
}

/** bn_grad_gamma: Σ dy · x̂ per channel, x̂ = (x − mean) / √(var + eps); dy optionally ReLU-masked. */
export function batchNormGammaGradKernel(
  channels: number,
  plane: number,
  eps: number,
  masked = false,
): string {
  return channelKernel(
    `BN γ gradient of ${channels} channels x ${plane}${masked ? ', ReLU-masked' : ''}`,
    [rw('out'), rw('dy'), rw('x'), rw('stats'), ...(masked ? [rw('mask')] : [])],
    channels,
    plane,
    `  let mean = stats[c];
  let invStd = 1.0 / sqrt(stats[C + c] + ${eps.toExponential()});
  var sum = 0.0;
  for (var i = lid; i < count; i = i + 256u) {
    let k = index(c, i);
    sum = sum + ${gradientAt(masked)} * ((x[k] - mean) * invStd);
  }
  let total = workgroupSum(lid, sum);
  if (lid == 0u) {
    out[c] = total;
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
