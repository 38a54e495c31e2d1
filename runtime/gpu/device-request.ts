import { subgroupsPay } from '../device-kernels.ts';

/**
 * What hrnetc asks of a WebGPU adapter, shared by Node (Dawn) and the browser (navigator.gpu) so both
 * open the same kind of device and describe it the same way.
 */

/** "vendor architecture description", e.g. "google swiftshader" or "mesa cpu llvmpipe (LLVM 15…)". */
export function describeAdapter(info: GPUAdapterInfo): string {
  return [info.vendor, info.architecture, info.description || info.device].filter(Boolean).join(' ');
}

/** Software rasterisers (lavapipe, SwiftShader) run kernels on the CPU: slower, and compiled lazily. */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  return (
    info.architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader/i.test(`${info.architecture} ${info.device} ${info.description}`)
  );
}

/**
 * The adapter's own limits for buffer sizes, bindings and workgroup memory (the defaults are too small
 * for the arena of a full-size model); timestamps where the adapter has them, so benchmarks can time
 * each kernel, and subgroups where the kernels' shared loads pay (see subgroupsPay).
 */
export function deviceRequest(adapter: GPUAdapter): {
  requiredLimits: Record<string, number>;
  requiredFeatures: GPUFeatureName[];
} {
  const wanted = [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
  ] as const;
  const requiredLimits = Object.fromEntries(wanted.map((k) => [k, adapter.limits[k]]));
  const requiredFeatures: GPUFeatureName[] = [
    ...(adapter.features.has('timestamp-query') ? (['timestamp-query'] as const) : []),
    ...(subgroupsPay(adapter) ? (['subgroups'] as const) : []),
  ];
  return { requiredLimits, requiredFeatures };
}
