import { declareBindings, generatorHeader, type KernelBinding, u32, useAllBindings } from '../bindings.ts';

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

const adamBindings = [rw('param'), rw('grad'), rw('expAvg'), rw('expAvgSq'), rw('hyper')];
const sgdBindings = [rw('param'), rw('grad'), rw('momentumBuffer'), rw('hyper')];

const loop = (bindings: KernelBinding[], body: string) => `@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
${useAllBindings(bindings)}
  for (var i = gid.x; i < ELEMENTS; i = i + groups.x * 256u) {
${body}
  }
}`;

/**
 * torch.optim.Adam's single-tensor step over the flat parameter, gradient and moment buffers, in
 * PyTorch's order of float32 operations: m = m·β1 + g·(1−β1); v = v·β2 + (1−β2)·g·g;
 * p = p − step_size·m / (√v / √(1−β2^t) + eps), step_size = lr / (1−β1^t). No weight decay (the
 * official code builds Adam without it).
 */
export function adamKernel(elements: number): string {
  const h = hyperSlots;
  return `${generatorHeader(generator, `Adam step over ${elements} parameter values`)}

${declareBindings(adamBindings)}

const ELEMENTS: u32 = ${u32(elements)};

${loop(
  adamBindings,
  `    let g = grad[i];
    let m = expAvg[i] * hyper[${h.beta1}] + g * hyper[${h.oneMinusBeta1}];
    let v = expAvgSq[i] * hyper[${h.beta2}] + hyper[${h.oneMinusBeta2}] * g * g;
    expAvg[i] = m;
    expAvgSq[i] = v;
    let denom = sqrt(v) / hyper[${h.biasCorrection2Sqrt}] + hyper[${h.eps}];
    param[i] = param[i] + (-hyper[${h.stepSize}] * m) / denom;`,
)}
`;
}

/**
 * torch.optim.SGD's step: d = g + wd·p; with momentum, buf = d on the first step, else
 * buf = buf·momentum + d; d = d + momentum·buf (Nesterov) or buf; p = p − lr·d.
 */
export function sgdKernel(elements: number): string {
  const h = hyperSlots;
  return `${generatorHeader(generator, `SGD step over ${elements} parameter values`)}

${declareBindings(sgdBindings)}

const ELEMENTS: u32 = ${u32(elements)};

${loop(
  sgdBindings,
  `    var d = grad[i] + hyper[${h.weightDecay}] * param[i];
    let momentum = hyper[${h.momentum}];
    if (momentum != 0.0) {
      var buffer = d;
      if (hyper[${h.firstStep}] == 0.0) {
        buffer = momentumBuffer[i] * momentum + d;
      }
      momentumBuffer[i] = buffer;
      d = select(buffer, d + momentum * buffer, hyper[${h.nesterov}] != 0.0);
    }
    param[i] = param[i] + (-hyper[${h.stepSize}]) * d;`,
)}
`;
}
