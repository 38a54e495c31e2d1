import { type Manifest, manifestVersion } from '../../runtime/program.ts';
import type { KernelProgram } from './kernel-plan.ts';
import type { TrainKernelProgram } from './train-plan.ts';

/** OUT/<exp>/manifest.json: buffers, kernels, and every weight's official name, shape and destination. */
export function generateManifest(
  program: KernelProgram,
  training: TrainKernelProgram | undefined,
  experiment: string,
  model: string,
  config: unknown,
): Manifest {
  const kernels = new Map([...program.kernels, ...(training?.kernels ?? [])].map((k) => [k.name, k]));
  return {
    format: 'hrnetc-manifest',
    version: manifestVersion,
    experiment,
    model,
    ...(config === undefined ? {} : { config }),
    parameters: program.parameters,
    weights: program.weights,
    kernels: [...kernels.values()].map((k) => ({
      name: k.name,
      file: `kernels/${k.name}.wgsl`,
      description: k.description,
    })),
    arena: {
      bytesPerImage: program.arenaBytesPerImage,
      peakLiveBytesPerImage: program.peakLiveBytesPerImage,
      tensors: program.tensors.length,
    },
    dispatches: program.launches.length,
    ...(training
      ? {
          training: {
            arenaBytesPerImage: training.arenaBytesPerImage,
            fixedBytes: training.fixedBytes,
            parameterBytes: training.parameterBytes,
            runningBytes: training.runningBytes,
            dispatches: training.launches.length,
          },
        }
      : {}),
  };
}
