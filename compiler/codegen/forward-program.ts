import type { ForwardProgram } from '../../runtime/program.ts';
import type { KernelProgram } from './kernel-plan.ts';
import { toDispatch } from './launch.ts';

/** The in-memory ForwardProgram that the generated forward.ts spells out as code. */
export function toForwardProgram(program: KernelProgram, experiment: string): ForwardProgram {
  return {
    experiment,
    input: program.input,
    output: program.output,
    arenaBytesPerImage: program.arenaBytesPerImage,
    tensors: program.tensors,
    dispatches: program.launches.map(toDispatch),
  };
}
