import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openGpu } from '../../runtime/gpu/adapter.ts';
import { GpuDeviceLostError, GpuTimeoutError, withinDeadline } from '../../runtime/gpu/gpu-deadline.ts';
import { createPipelines, kernelBindings } from '../../runtime/gpu/pipelines.ts';
import { mapRead, sleepSlice } from '../../runtime/gpu/result-wait.ts';
import { timePassesSettled } from '../../runtime/gpu/timed-passes.ts';
import { testGpu } from '../helpers/gpu.ts';

const root = new URL('../../', import.meta.url).pathname;

/** A kernel with the generated kernels' binding layout that writes its index into `out`. */
function indexKernel(variant: number): string {
  return `struct Params { batch: u32, pad0: u32, pad1: u32, pad2: u32, }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.batch) { return; }
  out[gid.x] = x[gid.x] + f32(${variant});
}
`;
}

/** One dispatch of `pipeline` on `buffers` (bindings 0, 1, …), then `result`'s first 16 bytes into `readback`. */
function oneDispatch(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  buffers: GPUBuffer[],
  groups: number,
  result: GPUBuffer,
  readback: GPUBuffer,
): GPUCommandBuffer {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    }),
  );
  pass.dispatchWorkgroups(groups);
  pass.end();
  encoder.copyBufferToBuffer(result, 0, readback, 0, 16);
  return encoder.finish();
}

/** A stand-in read-back buffer whose map resolves after `ms`. */
const mapsAfter = (ms: number) =>
  ({ mapAsync: () => new Promise((resolve) => setTimeout(resolve, ms)) }) as unknown as GPUBuffer;

describe('GPU waits are bounded', () => {
  it('a wait that never settles fails with a clear message at its deadline', async () => {
    const { device } = await testGpu();
    const never = new Promise<never>(() => {});
    const failure = withinDeadline(device, never, 'the test submission', 50);
    await expect(failure).rejects.toBeInstanceOf(GpuTimeoutError);
    await expect(failure).rejects.toThrow(
      'the GPU did not finish the test submission within 50 ms (set HRNETC_GPU_TIMEOUT=SECONDS to allow longer)',
    );
  });

  it('a lost device ends every pending wait at once, with the reason', async () => {
    const { device } = await openGpu('auto');
    const pending = withinDeadline(device, new Promise<never>(() => {}), 'a map', 60_000);
    device.destroy();
    await expect(pending).rejects.toBeInstanceOf(GpuDeviceLostError);
    await expect(pending).rejects.toThrow(/^the GPU device was lost \(destroyed/);
  });

  it('a sleep wait whose map never settles fails at its deadline too', async () => {
    const { device } = await testGpu();
    const never = { mapAsync: () => new Promise(() => {}) } as unknown as GPUBuffer;
    process.env.HRNETC_GPU_TIMEOUT = '0.05';
    try {
      await expect(mapRead(device, never, 'sleep', 'a stuck step')).rejects.toBeInstanceOf(GpuTimeoutError);
    } finally {
      delete process.env.HRNETC_GPU_TIMEOUT;
    }
  });
});

/** CPU milliseconds the calling (JS) thread has used: utime + stime of /proc/thread-self/stat. */
function threadCpuMs(): number {
  const fields = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

describe('sleep waits', () => {
  it('block in slices of a tenth of the time waited, 0.05 to 5 ms, so a short map is not held up', () => {
    expect([0, 0.2, 1, 10, 30, 50, 1000, 1e6].map(sleepSlice)).toEqual([0.05, 0.05, 0.1, 1, 3, 5, 5, 5]);
  });

  it('end with the map, and take its failure', async () => {
    const { device } = await testGpu();
    await mapRead(device, mapsAfter(0), 'sleep', 'a tiny step');
    await mapRead(device, mapsAfter(30), 'sleep', 'a short step');
    const failing = { mapAsync: () => Promise.reject(new Error('map failed')) } as unknown as GPUBuffer;
    await expect(mapRead(device, failing, 'sleep', 'a failed step')).rejects.toThrow('map failed');
  });

  it('do not poll through a long kernel', async () => {
    const { device } = await testGpu();
    // Work the adapter really does: a kernel of about a second on lavapipe. The JS thread, which
    // polls through a map awaited at once, sleeps through most of this one.
    const kernel = `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var s = 0.0;
  for (var i = 0u; i < 40000u; i = i + 1u) { s = s + sin(f32(i + gid.x)); }
  out[gid.x] = s;
}`;
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: kernel }), entryPoint: 'main' },
    });
    const out = device.createBuffer({
      size: 4 * 64 * 512,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const readback = device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const cpu = threadCpuMs();
    const started = performance.now();
    device.queue.submit([oneDispatch(device, pipeline, [out], 512, out, readback)]);
    await mapRead(device, readback, 'sleep', 'a long kernel');
    const waited = performance.now() - started;
    const used = threadCpuMs() - cpu;
    const values = new Float32Array(readback.getMappedRange());
    expect(values[0]).toBeCloseTo(
      Array.from({ length: 40000 }, (_, i) => Math.sin(i)).reduce((a, b) => a + b, 0),
      0,
    );
    readback.unmap();
    expect(waited).toBeGreaterThan(200);
    expect(used).toBeLessThan(waited * 0.2);
    out.destroy();
    readback.destroy();
  });
});

describe('GPU timestamps', () => {
  it('measure short kernels to the nanosecond, not in rounded 65.5 µs steps', async () => {
    const { device } = await testGpu();
    expect(device.features.has('timestamp-query')).toBe(true);
    const pipeline = device.createComputePipeline({
      layout: 'auto',
      compute: { module: device.createShaderModule({ code: indexKernel(1) }), entryPoint: 'main' },
    });
    const buffers = [16, 256, 256].map((size, binding) =>
      device.createBuffer({
        size,
        usage: binding === 0 ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE,
      }),
    );
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const times = await timePassesSettled(
      device,
      16,
      (pass) => {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(1);
      },
      'timed tiny kernels',
    );
    const nanoseconds = times.map((ms) => Math.round(ms * 1e6));
    // Dawn's default rounding (2^16 ns) makes every one a multiple, and most of these 0.
    expect(nanoseconds.every((ns) => ns > 0)).toBe(true);
    expect(nanoseconds.filter((ns) => ns % 65536 !== 0).length).toBeGreaterThan(8);
    for (const buffer of buffers) buffer.destroy();
  });
});

describe('kernel preparation', () => {
  it('finds the group-0 bindings a kernel declares, and gives up on other groups', () => {
    expect(kernelBindings(indexKernel(0))).toEqual([0, 1, 2]);
    expect(kernelBindings('@group(1) @binding(0) var<uniform> p: vec4<f32>;')).toBeUndefined();
  });

  it('reports progress up to every kernel, uses helper devices, and the pipelines compute', async () => {
    const gpu = await testGpu();
    const names = Array.from({ length: 10 }, (_, i) => `index${i}`);
    const kernels = new Map(names.map((name, i) => [name, indexKernel(i)]));
    const reports: [string, number, number][] = [];
    let helpers = 0;
    const pipelines = await createPipelines(
      {
        device: gpu.device,
        onKernelProgress: (what, done, total) => reports.push([what, done, total]),
        requestHelperDevice: () => {
          helpers++;
          return gpu.requestHelperDevice!();
        },
      },
      names,
      kernels,
      'test',
    );
    expect(gpu.requestHelperDevice).toBeDefined();
    expect(helpers).toBeGreaterThan(0);
    expect(reports[0]).toEqual(['test', 0, 10]);
    expect(reports.at(-1)).toEqual(['test', 10, 10]);
    const done = reports.map(([, d]) => d);
    expect(done).toEqual(done.toSorted((a, b) => a - b));
    // A kernel that was warmed on scratch buffers still computes on real ones.
    const { device } = gpu;
    const uniform = device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(uniform, 0, new Uint32Array([4, 0, 0, 0]));
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const out = device.createBuffer({ size: 16, usage });
    const x = device.createBuffer({ size: 16, usage });
    device.queue.writeBuffer(x, 0, new Float32Array([1, 2, 3, 4]));
    const readback = device.createBuffer({
      size: 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const pipeline = pipelines.get('index7')!;
    device.queue.submit([oneDispatch(device, pipeline, [uniform, out, x], 1, out, readback)]);
    await withinDeadline(device, readback.mapAsync(GPUMapMode.READ), 'the test kernel');
    expect([...new Float32Array(readback.getMappedRange())]).toEqual([8, 9, 10, 11]);
  });
});

describe("Dawn's adapter warnings", () => {
  // Through a shell pipe, as `hrnet … | tee log` runs: Node's own spawn gives a socket, which cannot
  // be reopened, so the warnings stay there (see runtime/gpu/quiet-native-stderr.ts).
  const openAndReport = (env: Record<string, string>) =>
    spawnSync(
      'sh',
      [
        '-c',
        `"${process.execPath}" --import tsx -e "const { openGpu } = await import('./runtime/gpu/adapter.ts'); const g = await openGpu('auto'); process.stderr.write('opened ' + g.adapterDescription + '\\n');" 2>&1 | cat`,
      ],
      { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 },
    );

  it('stay out of the output, and HRNETC_DEBUG=1 shows them', () => {
    const quiet = openAndReport({});
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).toMatch(/^opened /m);
    expect(quiet.stdout).not.toMatch(/artificially reduced/);
    const debug = openAndReport({ HRNETC_DEBUG: '1' });
    expect(debug.status).toBe(0);
    expect(debug.stdout).toMatch(/^opened /m);
    expect(debug.stdout).toMatch(/maxDynamicStorageBuffersPerPipelineLayout artificially reduced/);
  });
});
