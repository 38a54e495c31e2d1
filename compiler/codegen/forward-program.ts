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
      ...(launch.withoutSubgroups === undefined ? {} : { withoutSubgroups: launch.withoutSubgroups }),
      ...(launch.choice
        ? {
            choice: {
              key: launch.choice.key,
              defaults: launch.choice.defaults,
              variants: launch.choice.variants.map((v) => ({
                name: v.name,
                kernel: v.kernel,
                bindings: v.bindings,
                workgroups: (batch: number) => evaluateWorkgroups(v.workgroups, batch),
                ...(v.withoutSubgroups === undefined ? {} : { withoutSubgroups: v.withoutSubgroups }),
              })),
            },
          }
        : {}),
    })),
  };
}
