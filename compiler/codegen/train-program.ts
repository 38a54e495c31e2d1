import type { TrainStepProgram } from '../../runtime/program.ts';
import {
  evaluateTrainWorkgroups,
  optimizerHyperValues,
  type TrainKernelProgram,
  type TrainLaunch,
} from './train-plan.ts';

/** The in-memory TrainStepProgram that the generated backward.ts spells out as code. */
export function toTrainStepProgram(program: TrainKernelProgram, experiment: string): TrainStepProgram {
  const dispatch = (launch: TrainLaunch) => ({
    kernel: launch.kernel,
    module: launch.module,
    bindings: launch.bindings,
    workgroups: (batch: number) => evaluateTrainWorkgroups(launch.workgroups, batch),
    ...(launch.onlyForGradInput ? { onlyForGradInput: true as const } : {}),
  });
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
    dispatches: program.launches.map(dispatch),
    optimizer: {
      adam: dispatch(program.optimizer.adam),
      sgd: dispatch(program.optimizer.sgd),
      hyperValues: optimizerHyperValues,
    },
  };
}
