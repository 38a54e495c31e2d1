import type { Dispatch } from './program.ts';

/**
 * Lanes that share one load of a value every lane needs, in the kernels that use subgroups (direct
 * convolutions' weights, the weight gradient's output gradients): lavapipe's subgroup size, its
 * vector width. Such a kernel takes its shared path where subgroups are whole multiples of it.
 */
export const sharedLoadLanes = 8;

/**
 * Whether a device should be opened with subgroups: where the adapter has them in sizes the shared
 * path runs on. Elsewhere (SwiftShader's subgroups are 4 lanes) the kernels that use them would only
 * take their fallback, so the twins without subgroups run instead.
 */
export function subgroupsPay(adapter: GPUAdapter): boolean {
  const size = adapter.info.subgroupMinSize;
  return adapter.features.has('subgroups') && size !== undefined && size > 0 && size % sharedLoadLanes === 0;
}

/**
 * The kernel a device runs for a dispatch (or a variant of one): a kernel that needs the `subgroups`
 * feature gives way to its twin without it when the device was opened without the feature. Same
 * bindings, workgroups and values.
 */
export function deviceKernel(
  d: { readonly kernel: string; readonly withoutSubgroups?: string },
  features: GPUSupportedFeatures,
): string {
  return d.withoutSubgroups !== undefined && !features.has('subgroups') ? d.withoutSubgroups : d.kernel;
}

/** The program as this device runs it (deviceKernel for every dispatch). */
export function kernelsForDevice<P extends { readonly dispatches: readonly Dispatch[] }>(
  program: P,
  features: GPUSupportedFeatures,
): P {
  if (features.has('subgroups')) return program;
  return {
    ...program,
    dispatches: program.dispatches.map((d) => ({ ...d, kernel: deviceKernel(d, features) })),
  };
}
