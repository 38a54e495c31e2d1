import type { Dispatch } from './program.ts';

/**
 * The program as this device runs it: dispatches whose kernel needs the `subgroups` feature run their
 * twin without it when the device lacks the feature. Same bindings, workgroups and values.
 */
export function kernelsForDevice<P extends { readonly dispatches: readonly Dispatch[] }>(
  program: P,
  features: GPUSupportedFeatures,
): P {
  if (features.has('subgroups')) return program;
  return {
    ...program,
    dispatches: program.dispatches.map((d) =>
      d.withoutSubgroups === undefined ? d : { ...d, kernel: d.withoutSubgroups },
    ),
  };
}
