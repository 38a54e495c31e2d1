import { existsSync, readdirSync } from 'node:fs';
import { UserError } from '../../common/user-error.ts';
import { describeAdapter, deviceRequest, isSoftwareAdapter } from './device-request.ts';
import { withNativeStderrQuiet } from './quiet-native-stderr.ts';

export type AdapterChoice = 'auto' | 'hardware' | 'lavapipe' | 'swiftshader';
export const adapterChoices: readonly AdapterChoice[] = ['auto', 'hardware', 'lavapipe', 'swiftshader'];

/** Software Vulkan drivers hrnetc can use when there is no GPU. */
export const softwareIcds = {
  lavapipe: '/usr/share/vulkan/icd.d/lvp_icd.json',
  swiftshader: '/usr/lib/chromium/vk_swiftshader_icd.json',
} as const;

export const setupHint =
  'run `bash scripts/setup-system.sh` (installs Mesa lavapipe, a software Vulkan driver) or use a machine with a GPU';

export class NoAdapterError extends UserError {}

export interface GpuContext {
  readonly device: GPUDevice;
  readonly adapterDescription: string;
  readonly isSoftware: boolean;
  readonly limits: GPUSupportedLimits;
  /** Told how far kernel preparation has got (see createPipelines), e.g. to draw a progress bar. */
  readonly onKernelProgress?: KernelProgress;
  /** Another device on the same adapter, for compiling kernels in parallel (software adapters). */
  readonly requestHelperDevice?: () => Promise<GPUDevice>;
}

export type KernelProgress = (what: string, done: number, total: number) => void;

export interface OpenGpuOptions {
  readonly onKernelProgress?: KernelProgress;
}

const icdDirectories = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

function systemHasIcd(): boolean {
  return icdDirectories.some((dir) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json')));
}

let navigatorGpu: GPU | undefined;
let chosenIcd: string | undefined;

/**
 * The WebGPU entry point: navigator.gpu in a browser, Dawn (npm `webgpu`) in Node. In Node the Vulkan
 * driver must be chosen before Dawn starts, so the choice is made once per process: a user's
 * VK_ICD_FILENAMES wins; otherwise `auto` lets the Vulkan loader find every installed driver (a GPU's
 * driver is preferred over lavapipe), falling back to SwiftShader from Debian's chromium.
 */
async function gpuEntry(choice: AdapterChoice): Promise<GPU> {
  const browser = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (browser) return browser;
  if (navigatorGpu) {
    if (choice !== 'auto' && choice !== 'hardware' && chosenIcd !== softwareIcds[choice]) {
      throw new NoAdapterError(
        `this process already started WebGPU with another driver; --adapter ${choice} needs a new process`,
      );
    }
    return navigatorGpu;
  }
  if (!process.env.VK_ICD_FILENAMES) {
    if (choice === 'lavapipe' || choice === 'swiftshader') {
      const icd = softwareIcds[choice];
      if (!existsSync(icd))
        throw new NoAdapterError(`--adapter ${choice} needs ${icd}, which is not installed; ${setupHint}`);
      process.env.VK_ICD_FILENAMES = icd;
    } else if (choice === 'auto' && !systemHasIcd() && existsSync(softwareIcds.swiftshader)) {
      process.env.VK_ICD_FILENAMES = softwareIcds.swiftshader;
    }
  }
  chosenIcd = process.env.VK_ICD_FILENAMES;
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  // Dawn rounds timestamps down to 2^16 ns by default (against timing attacks in a browser); a kernel
  // shorter than that then measures 0 or 65.5 µs at random, which the tuner and profiles cannot use.
  navigatorGpu = create(['disable-dawn-features=timestamp_quantization']);
  return navigatorGpu;
}

/** Opens a device with the adapter's own limits (see deviceRequest). */
export async function openGpu(
  choice: AdapterChoice = 'auto',
  options: OpenGpuOptions = {},
): Promise<GpuContext> {
  const gpu = await gpuEntry(choice);
  const adapter = await withNativeStderrQuiet(() =>
    gpu.requestAdapter({ powerPreference: 'high-performance' }),
  );
  if (!adapter) throw new NoAdapterError(`no WebGPU adapter found; ${setupHint}`);
  const description = describeAdapter(adapter.info);
  const isSoftware = isSoftwareAdapter(adapter.info);
  if (choice === 'hardware' && isSoftware)
    throw new NoAdapterError(`--adapter hardware: only a software adapter is available (${description})`);
  const { requiredLimits, requiredFeatures } = deviceRequest(adapter);
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return {
    device,
    adapterDescription: description,
    isSoftware,
    limits: device.limits,
    ...(options.onKernelProgress ? { onKernelProgress: options.onKernelProgress } : {}),
    ...(isSoftware ? { requestHelperDevice: () => helperDevice(gpu, requiredLimits, requiredFeatures) } : {}),
  };
}

/** A device of its own adapter object: WebGPU lets an adapter hand out one device only. */
async function helperDevice(
  gpu: GPU,
  requiredLimits: Record<string, number>,
  requiredFeatures: GPUFeatureName[],
): Promise<GPUDevice> {
  const adapter = await withNativeStderrQuiet(() =>
    gpu.requestAdapter({ powerPreference: 'high-performance' }),
  );
  if (!adapter) throw new NoAdapterError(`the WebGPU adapter went away; ${setupHint}`);
  return adapter.requestDevice({ requiredLimits, requiredFeatures });
}
