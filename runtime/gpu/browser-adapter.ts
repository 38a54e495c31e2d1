import { UserError } from '../../common/user-error.ts';
// Types only: adapter.ts loads Dawn (npm `webgpu`) and node:fs, which a page must not bundle.
import type { GpuContext, OpenGpuOptions } from './adapter.ts';
import { describeAdapter, deviceRequest, isSoftwareAdapter } from './device-request.ts';

/** The browser has no WebGPU, or gave no adapter: the page says so instead of failing later. */
export class NoBrowserGpuError extends UserError {}

/**
 * The browser's counterpart of openGpu: a device from navigator.gpu, with the same limits and the same
 * GpuContext shape, so ForwardRunner and createPipelines run unchanged in a page. There are no helper
 * devices: the browser's GPU process compiles kernels on its own threads.
 */
export async function openBrowserGpu(options: OpenGpuOptions = {}): Promise<GpuContext> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu)
    throw new NoBrowserGpuError(
      'this browser has no WebGPU (navigator.gpu is missing): use a recent Chrome, Edge or Firefox, over http://127.0.0.1 or https (WebGPU needs a secure context); Chromium on Linux needs --enable-unsafe-webgpu',
    );
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter)
    throw new NoBrowserGpuError(
      'navigator.gpu gave no adapter: WebGPU may be disabled or blocklisted for this GPU (see chrome://gpu)',
    );
  const { requiredLimits, requiredFeatures } = deviceRequest(adapter);
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return {
    device,
    adapterDescription: describeAdapter(adapter.info),
    isSoftware: isSoftwareAdapter(adapter.info),
    limits: device.limits,
    ...(options.onKernelProgress ? { onKernelProgress: options.onKernelProgress } : {}),
  };
}
