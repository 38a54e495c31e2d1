import type { TrainStepProgram } from '../../runtime/program.ts';
import { toDispatch } from './launch.ts';
import { optimizerHyperValues, type TrainKernelProgram } from './train-plan.ts';

/** The in-memory TrainStepProgram that the generated backward.ts spells out as code. */
export function toTrainStepProgram(program: TrainKernelProgram, experiment: string): TrainStepProgram {
  return {
    experiment,
    inputs: program.inputs,
    inputShapes: program.inputShapes,
    outputs: program.outputs,
    arenaBytesPerImage: program.arenaBytesPerImage,
    fixedBytes: program.fixedBytes,
    tensors: program.tensors,
    fixedTensors: program.fixedTensors,
    parameters: program.parameters,
    parameterBytes: program.parameterBytes,
    running: program.running,
    runningBytes: program.runningBytes,
    dispatches: program.launches.map(toDispatch),
    optimizer: {
      adam: toDispatch(program.optimizer.adam),
      sgd: toDispatch(program.optimizer.sgd),
      hyperValues: optimizerHyperValues,
    },
  };
}
