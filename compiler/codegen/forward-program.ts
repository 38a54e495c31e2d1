import type { ForwardProgram } from '../../runtime/program.ts';
import { evaluateWorkgroups, type KernelProgram } from './kernel-plan.ts';

/** The in-memory ForwardProgram that the generated forward.ts spells out as code. */
export function toForwardProgram(program: KernelProgram, experiment: string): ForwardProgram {
  return {
    experiment,
    input: program.input,
    output: program.output,
    arenaBytesPerImage: program.arenaBytesPerImage,
    tensors: program.tensors,
    dispatches: program.launches.map((launch) => ({
      kernel: launch.kernel,
      module: launch.module,
      bindings: launch.bindings,
      workgroups: (batch: number) => evaluateWorkgroups(launch.workgroups, batch),
    })),
  };
}
