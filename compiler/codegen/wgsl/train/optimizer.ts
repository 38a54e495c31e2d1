import type { WorkgroupCounts } from '../../../../runtime/program.ts';
import { declareBindings, generatorHeader, type KernelBinding, u32, useAllBindings } from '../bindings.ts';
import { laneLoop, laneLoopGroupElements, vectorElement, vectorWidth } from './vec4-loop.ts';

const generator = 'compiler/codegen/wgsl/train/optimizer.ts';
const rw = (name: string): KernelBinding => ({ name, access: 'read_write', element: 'f32' });

/** Slots of the hyperparameter buffer the optimizer kernels read (written by the runtime per step). */
export const hyperSlots = {
  stepSize: 0,
  beta1: 1,
  oneMinusBeta1: 2,
  beta2: 3,
  oneMinusBeta2: 4,
  biasCorrection2Sqrt: 5,
  eps: 6,
  weightDecay: 7,
  momentum: 8,
  firstStep: 9,
  nesterov: 10,
} as const;
export const hyperCount = 12;

/** The flat buffers are read as vec4s (their values always come in fours: entries are aligned). */
function optimizerBindings(elements: number, state: readonly string[]): KernelBinding[] {
  const element = vectorElement(elements);
  return [
    ...['param', 'grad', ...state].map((name): KernelBinding => ({ name, access: 'read_write', element })),
    rw('hyper'),
  ];
}

/** Workgroups of an optimizer kernel (a laneLoop over the vec4s). */
export function optimizerWorkgroups(elements: number): WorkgroupCounts {
  return { kind: 'fixed', x: Math.ceil(elements / vectorWidth(elements) / laneLoopGroupElements) };
}

/**
 * The loop over the flat buffers (as vec4s), the hyperparameters read once before it: read inside,
 * a storage load that other writes might alias is repeated per value and lane.
 */
const loop = (bindings: KernelBinding[], elements: number, hyper: string[], body: string) => `
const COUNT: u32 = ${u32(elements / vectorWidth(elements))};

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
${useAllBindings(bindings)}
${hyper.map((line) => `  ${line}`).join('\n')}
${laneLoop('COUNT', body)}
}`;

/**
 * torch.optim.Adam's single-tensor step over the flat parameter, gradient and moment buffers, in
 * PyTorch's order of float32 operations: m = m·β1 + g·(1−β1); v = v·β2 + (1−β2)·g·g;
 * p = p − step_size·m / (√v / √(1−β2^t) + eps), step_size = lr / (1−β1^t). No weight decay (the
 * official code builds Adam without it).
 */
export function adamKernel(elements: number): string {
  const h = hyperSlots;
  const bindings = optimizerBindings(elements, ['expAvg', 'expAvgSq']);
  return `${generatorHeader(generator, `Adam step over ${elements} parameter values`)}

${declareBindings(bindings)}
${loop(
  bindings,
  elements,
  [
    `let beta1 = hyper[${h.beta1}];`,
    `let oneMinusBeta1 = hyper[${h.oneMinusBeta1}];`,
    `let beta2 = hyper[${h.beta2}];`,
    `let oneMinusBeta2 = hyper[${h.oneMinusBeta2}];`,
    `let biasCorrection2Sqrt = hyper[${h.biasCorrection2Sqrt}];`,
    `let eps = hyper[${h.eps}];`,
    `let stepSize = hyper[${h.stepSize}];`,
  ],
  `    let g = grad[i];
    let m = expAvg[i] * beta1 + g * oneMinusBeta1;
    let v = expAvgSq[i] * beta2 + oneMinusBeta2 * g * g;
    expAvg[i] = m;
    expAvgSq[i] = v;
    let denom = sqrt(v) / biasCorrection2Sqrt + eps;
    param[i] = param[i] + (-stepSize * m) / denom;`,
)}
`;
}

/**
 * torch.optim.SGD's step: d = g + wd·p; with momentum, buf = d on the first step, else
 * buf = buf·momentum + d; d = d + momentum·buf (Nesterov) or buf; p = p − lr·d.
 */
export function sgdKernel(elements: number): string {
  const h = hyperSlots;
  const bindings = optimizerBindings(elements, ['momentumBuffer']);
  return `${generatorHeader(generator, `SGD step over ${elements} parameter values`)}

${declareBindings(bindings)}
${loop(
  bindings,
  elements,
  [
    `let weightDecay = hyper[${h.weightDecay}];`,
    `let momentum = hyper[${h.momentum}];`,
    `let firstStep = hyper[${h.firstStep}] != 0.0;`,
    `let nesterov = hyper[${h.nesterov}] != 0.0;`,
    `let stepSize = hyper[${h.stepSize}];`,
  ],
  `    var d = grad[i] + weightDecay * param[i];
    if (momentum != 0.0) {
      var buffer = d;
      if (!firstStep) {
        buffer = momentumBuffer[i] * momentum + d;
      }
      momentumBuffer[i] = buffer;
      d = select(buffer, d + momentum * buffer, nesterov);
    }
    param[i] = param[i] + (-stepSize) * d;`,
)}
`;
}
