import type { Manifest } from '../../runtime/program.ts';
import type { KernelProgram } from './kernel-plan.ts';

/** OUT/<exp>/manifest.json: buffers, kernels, and every weight's official name, shape and destination. */
export function generateManifest(
  program: KernelProgram,
  experiment: string,
  model: string,
  config: unknown,
): Manifest {
  return {
    format: 'hrnetc-manifest',
    version: 1,
    experiment,
    model,
    ...(config === undefined ? {} : { config }),
    parameters: program.parameters,
    weights: program.weights,
    kernels: program.kernels.map((k) => ({
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
  };
}
