import { type GpuContext, openGpu } from '../../runtime/gpu/adapter.ts';

let shared: Promise<GpuContext> | undefined;

/**
 * The WebGPU device for GPU tests. There is no skip when no adapter exists: CI installs lavapipe,
 * and a missing adapter must fail the run, not hide it.
 */
export function testGpu(): Promise<GpuContext> {
  shared ??= openGpu('auto');
  return shared;
}
