import { describe, expect, it } from 'vitest';
import { Prng } from '../../common/prng.ts';
import { relativeError } from '../../common/relative-error.ts';
import {
  adamKernel,
  hyperCount,
  hyperSlots,
  optimizerWorkgroups,
  sgdKernel,
} from '../../compiler/codegen/wgsl/train/optimizer.ts';
import { learningRate } from '../../runtime/train/learning-rate.ts';
import { workgroupCounts } from '../../runtime/workgroups.ts';
import { runKernelReadAll } from '../helpers/run-kernel.ts';

// Values in fours (vec4s), and not; more than one workgroup (64 · 64 vec4s, or values), as vec4s and not.
const sizes = [1000, 70_000, 70_002];
const groups = (n: number) => workgroupCounts(optimizerWorkgroups(n), 1);
const rw = (name: string) => ({ name, access: 'read_write' as const, element: 'f32' as const });

/** torch.optim.Adam's step in float64, for reference. */
function adamReference(
  p: Float64Array,
  g: Float64Array,
  m: Float64Array,
  v: Float64Array,
  lr: number,
  step: number,
): void {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  for (let i = 0; i < p.length; i++) {
    m[i] = m[i]! * b1 + (1 - b1) * g[i]!;
    v[i] = v[i]! * b2 + (1 - b2) * g[i]! * g[i]!;
    const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** step) + eps;
    p[i] = p[i]! - (lr / (1 - b1 ** step)) * (m[i]! / denom);
  }
}

describe('optimizer kernels', () => {
  for (const n of sizes)
    it(`Adam equals the PyTorch update to 1e-6 over three steps, given the gradients: ${n} values`, async () => {
      const prng = new Prng(3);
      const random = (scale: number) => Float32Array.from({ length: n }, () => prng.uniform(-scale, scale));
      let param: Float32Array = random(1);
      let m: Float32Array = new Float32Array(n);
      let v: Float32Array = new Float32Array(n);
      const ref = { p: Float64Array.from(param), m: new Float64Array(n), v: new Float64Array(n) };
      const lr = 0.001;
      for (let step = 1; step <= 3; step++) {
        const grad = random(step === 2 ? 1e-6 : 0.1);
        const hyper = new Float32Array(hyperCount);
        hyper[hyperSlots.stepSize] = lr / (1 - 0.9 ** step);
        hyper[hyperSlots.beta1] = 0.9;
        hyper[hyperSlots.oneMinusBeta1] = 1 - 0.9;
        hyper[hyperSlots.beta2] = 0.999;
        hyper[hyperSlots.oneMinusBeta2] = 1 - 0.999;
        hyper[hyperSlots.biasCorrection2Sqrt] = Math.sqrt(1 - 0.999 ** step);
        hyper[hyperSlots.eps] = 1e-8;
        const bindings = [rw('param'), rw('grad'), rw('expAvg'), rw('expAvgSq'), rw('hyper')];
        [param, , m, v] = (await runKernelReadAll(
          adamKernel(n),
          bindings,
          [param, grad, m, v, hyper],
          1,
          groups(n),
        )) as Float32Array[] as [Float32Array, Float32Array, Float32Array, Float32Array];
        adamReference(ref.p, Float64Array.from(grad), ref.m, ref.v, lr, step);
        // The change of the parameters, relative to its size.
        expect(relativeError(m, ref.m)).toBeLessThanOrEqual(1e-6);
        expect(relativeError(v, ref.v)).toBeLessThanOrEqual(1e-6);
        expect(relativeError(param, ref.p)).toBeLessThanOrEqual(1e-6);
      }
    });

  for (const n of sizes)
    it(`SGD with momentum, weight decay and Nesterov equals the PyTorch update over two steps: ${n} values`, async () => {
      const prng = new Prng(4);
      let param: Float32Array = Float32Array.from({ length: n }, () => prng.uniform(-1, 1));
      let buffer: Float32Array = new Float32Array(n);
      const ref = { p: Float64Array.from(param), buffer: new Float64Array(n) };
      for (let step = 1; step <= 2; step++) {
        const grad = Float32Array.from({ length: n }, () => prng.uniform(-1, 1));
        const hyper = new Float32Array(hyperCount);
        hyper[hyperSlots.stepSize] = 0.1;
        hyper[hyperSlots.weightDecay] = 0.0001;
        hyper[hyperSlots.momentum] = 0.9;
        hyper[hyperSlots.firstStep] = step === 1 ? 1 : 0;
        hyper[hyperSlots.nesterov] = 1;
        [param, , buffer] = (await runKernelReadAll(
          sgdKernel(n),
          [rw('param'), rw('grad'), rw('momentumBuffer'), rw('hyper')],
          [param, grad, buffer, hyper],
          1,
          groups(n),
        )) as Float32Array[] as [Float32Array, Float32Array, Float32Array];
        // torch.optim.SGD: the buffer starts as the first step's d, then buf·momentum + d.
        for (let i = 0; i < n; i++) {
          const d = grad[i]! + 0.0001 * ref.p[i]!;
          ref.buffer[i] = step === 1 ? d : ref.buffer[i]! * 0.9 + d;
          ref.p[i] = ref.p[i]! - 0.1 * (d + 0.9 * ref.buffer[i]!);
        }
        expect(relativeError(buffer, ref.buffer)).toBeLessThanOrEqual(1e-6);
        expect(relativeError(param, ref.p)).toBeLessThanOrEqual(1e-6);
      }
    });
});

describe('learning-rate schedule', () => {
  it('MultiStepLR stepped at each epoch start decays one epoch before each milestone, as the official loop does', () => {
    const rates = [0, 1, 2, 3, 4, 5].map((epoch) => learningRate(epoch, 0.01, [3, 5], 0.1));
    expect(rates.map((r) => Number(r.toPrecision(6)))).toEqual([0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001]);
  });
});
