import type { Binding, TrainStepProgram } from '../program.ts';

/** The training step's buffers a binding can refer to. */
export type StepBuffer =
  | 'arena'
  | 'fixed'
  | 'parameters'
  | 'gradients'
  | 'running'
  | 'expAvg'
  | 'expAvgSq'
  | 'momentumBuffer'
  | 'hyper';

/**
 * Where a training-step binding lives for a batch of `count`: its buffer, and the byte range in it
 * (`bytes` undefined: the whole buffer). The step's runner binds these ranges, and the tuner sizes
 * a launch's own buffers by them.
 */
export function stepBindingRegion(
  program: Pick<TrainStepProgram, 'tensors' | 'fixedTensors' | 'parameters' | 'running'>,
  binding: Binding,
  count: number,
): { buffer: StepBuffer; offset: number; bytes?: number } {
  switch (binding.kind) {
    case 'activation': {
      const t = program.tensors.find((x) => x.id === binding.tensor)!;
      return { buffer: 'arena', offset: t.offset * count, bytes: t.bytes * count };
    }
    case 'fixed': {
      const t = program.fixedTensors.find((x) => x.id === binding.tensor)!;
      return { buffer: 'fixed', offset: t.offset, bytes: t.bytes };
    }
    case 'parameter':
    case 'gradient': {
      const buffer = binding.kind === 'parameter' ? 'parameters' : 'gradients';
      if (binding.entry < 0) return { buffer, offset: 0 };
      const e = program.parameters[binding.entry]!;
      return { buffer, offset: e.offset, bytes: e.bytes };
    }
    case 'running': {
      if (binding.entry < 0) return { buffer: 'running', offset: 0 };
      const e = program.running[binding.entry]!;
      return { buffer: 'running', offset: e.offset, bytes: e.bytes };
    }
    case 'optimizer':
      return { buffer: binding.slot, offset: 0 };
    case 'weight':
      throw new Error('a training program binds no packed weights');
  }
}
