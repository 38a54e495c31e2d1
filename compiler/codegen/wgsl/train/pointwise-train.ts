import { declareBindings, generatorHeader, type KernelBinding, u32, useAllBindings } from '../bindings.ts';
import { channelBlockHeader, eachChannel, eachValue } from './channel-reductions.ts';
import { vectorElement, vectorWidth } from './vec4-loop.ts';

const generator = 'compiler/codegen/wgsl/train/pointwise-train.ts';
const rw = (name: string): KernelBinding => ({ name, access: 'read_write', element: 'f32' });
export const pointwiseMaxGroups = 4096;

/** A grid-stride loop over `perImage` values of every image; `body` computes out[i]. */
function pointwise(
  description: string,
  bindings: KernelBinding[],
  perImage: number,
  constants: [string, number][],
  body: string,
): string {
  return `${generatorHeader(generator, description)}

${declareBindings(bindings)}

const PER_IMAGE: u32 = ${u32(perImage)};
${constants.map(([name, value]) => `const ${name}: u32 = ${u32(value)};`).join('\n')}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
${useAllBindings(bindings)}
  let total = params.batch * PER_IMAGE;
  for (var i = gid.x; i < total; i = i + groups.x * 256u) {
${body}
  }
}
`;
}

/**
 * A per-value kernel over N·C·H·W values whose formula uses per-channel values, laid out as the
 * channel reductions are (channelReductionLayout): a workgroup takes a block of channels a round at
 * a time, adjacent lanes adjacent vec4s (values where a plane does not come in fours) of a channel's
 * plane, so the per-channel values are read and computed once per lane and round rather than per
 * value. (Per value, each vec4 took four gathers, a square root and a division besides its own loads;
 * with one workgroup per image and channel, HRNet's 48- and 192-value planes made many small
 * workgroups, which lavapipe ran several times slower.) `perValue` names the bindings with one value
 * per element; the others hold per-channel values. `perChannel` computes the channel's values from
 * c, `body` computes out[k]; ZERO is 0 of the element type.
 */
function channelPlanes(
  description: string,
  bindings: KernelBinding[],
  perValue: readonly string[],
  channels: number,
  plane: number,
  perChannel: string,
  body: string,
): string {
  return `${channelBlockHeader(generator, description, bindings, perValue, channels, plane)}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${useAllBindings(bindings)}
  let lane = lid % S;
${eachChannel(`    if (group.x * BLOCK + j < C) {
${indent(`${perChannel}\n${eachValue(body)}`)}
    }`)}
}
`;
}

/** Two more spaces before every line. */
const indent = (lines: string) => lines.replace(/^/gm, '  ');

/**
 * bn_train: (x − mean) / √(var + eps) · γ + β with the batch statistics; with `add`, plus the other
 * term of the add that is its only reader; with `relu`, the ReLU that reads the result (the values
 * before it are then never stored).
 */
export function batchNormTrainKernel(
  channels: number,
  plane: number,
  eps: number,
  relu = false,
  add = false,
): string {
  const normalized = '(x[k] - mean) / deviation * scale + shift';
  const value = add ? `${normalized} + term[k]` : normalized;
  return channelPlanes(
    `training batch norm${add ? ', add' : ''}${relu ? ' and ReLU' : ''} of ${channels} channels x ${plane}`,
    [rw('out'), rw('x'), rw('stats'), rw('gamma'), rw('beta'), ...(add ? [rw('term')] : [])],
    ['out', 'x', 'term'],
    channels,
    plane,
    `    let mean = stats[c];
    let deviation = sqrt(stats[C + c] + ${eps.toExponential()});
    let scale = gamma[c];
    let shift = beta[c];`,
    `        out[k] = ${relu ? `max(${value}, ZERO)` : value};`,
  );
}

/**
 * bn_grad_input: the batch-norm backward through the batch statistics,
 * dx = γ·invstd/M · (M·dy − Σdy − x̂·Σ(dy·x̂)), M = N·H·W.
 */
export function batchNormInputGradKernel(
  channels: number,
  plane: number,
  eps: number,
  masked = false,
): string {
  return channelPlanes(
    `BN input gradient of ${channels} channels x ${plane}${masked ? ', ReLU-masked' : ''}`,
    [
      rw('dx'),
      rw('dy'),
      rw('x'),
      rw('stats'),
      rw('gamma'),
      rw('dgamma'),
      rw('dbeta'),
      ...(masked ? [rw('mask')] : []),
    ],
    ['dx', 'dy', 'x', 'mask'],
    channels,
    plane,
    `    let count = f32(params.batch * ${u32(plane)});
    let mean = stats[c];
    let invStd = 1.0 / sqrt(stats[C + c] + ${eps.toExponential()});
    let factor = gamma[c] * invStd / count;
    let sumDy = dbeta[c];
    let sumDyNormalized = dgamma[c];`,
    `        let normalized = (x[k] - mean) * invStd;
        let g = ${masked ? 'select(ZERO, dy[k], mask[k] > ZERO)' : 'dy[k]'};
        dx[k] = factor * (count * g - sumDy - normalized * sumDyNormalized);`,
  );
}

/**
 * relu_grad: dy where the ReLU's output is positive; with `summed`, of the sum of two gradients dy +
 * dy2 (an add whose only reader this is). Over vec4s when an image's values come in fours.
 */
export function reluGradKernel(perImage: number, summed = false): string {
  const vectors = vectorWidth(perImage) === 4;
  const element = vectorElement(perImage);
  const zero = `${element}(0.0)`;
  const binding = (name: string): KernelBinding => ({ name, access: 'read_write', element });
  const gradient = summed ? '(dy[i] + dy2[i])' : 'dy[i]';
  return pointwise(
    `${summed ? 'sum of two gradients and ' : ''}ReLU gradient of ${perImage} values per image${vectors ? ', as vec4s' : ''}`,
    [binding('dx'), binding('dy'), ...(summed ? [binding('dy2')] : []), binding('y')],
    reluGradIterations(perImage),
    [],
    `    dx[i] = select(${zero}, ${gradient}, y[i] > ${zero});`,
  );
}

/** Loop iterations per image of reluGradKernel. */
export function reluGradIterations(perImage: number): number {
  return perImage / vectorWidth(perImage);
}

/** mse_loss_grad: w · (pred·w − gt·w) / (J · N · h · w). */
export function mseLossGradKernel(joints: number, plane: number, useTargetWeight: boolean): string {
  return pointwise(
    `JointsMSELoss gradient over ${joints} joints x ${plane}`,
    [rw('grad'), rw('output'), rw('targetHeatmaps'), rw('weight')],
    joints * plane,
    [
      ['J', joints],
      ['PLANE', plane],
    ],
    `    let w = ${useTargetWeight ? 'weight[i / PLANE]' : '1.0'};
    grad[i] = w * (output[i] * w - targetHeatmaps[i] * w) / f32(params.batch * J * PLANE);`,
  );
}

/** upsample_nearest_grad: each value sums the scale × scale values it was copied to. */
export function upsampleGradKernel(channels: number, height: number, width: number, scale: number): string {
  const adds: string[] = [];
  for (let a = 0; a < scale; a++)
    for (let b = 0; b < scale; b++) adds.push(`dy[row + ${u32(a * width * scale)} + ${u32(b)}]`);
  return pointwise(
    `nearest upsample x${scale} gradient of ${channels}x${height}x${width}`,
    [rw('dx'), rw('dy')],
    channels * height * width,
    [
      ['H', height],
      ['W', width],
      ['S', scale],
    ],
    `    let x = i % W;
    let y = (i / W) % H;
    let plane = i / (H * W);
    let row = (plane * H * S + y * S) * W * S + x * S;
    dx[i] = ${adds.join(' + ')};`,
  );
}

/**
 * bn_running, in place on the running-statistics buffer: mean ← (1 − m)·mean + m·batch mean, var ←
 * (1 − m)·var + m·batch variance·n/(n − 1), n = N·H·W (PyTorch's unbiased update).
 */
export function batchNormRunningKernel(channels: number, plane: number, momentum: number): string {
  return `${generatorHeader(generator, `running statistics update of ${channels} channels (momentum ${momentum})`)}

${declareBindings([rw('runningMean'), rw('runningVar'), rw('stats')])}

const C: u32 = ${u32(channels)};
const PLANE: u32 = ${u32(plane)};

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= C) {
    return;
  }
  let n = f32(params.batch * PLANE);
  runningMean[c] = ${1 - momentum} * runningMean[c] + ${momentum} * stats[c];
  runningVar[c] = ${1 - momentum} * runningVar[c] + ${momentum} * stats[C + c] * n / (n - 1.0);
}
`;
}
