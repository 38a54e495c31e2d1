/**
 * bench/forward: whole-forward and per-kernel times for the tiny model, W32 256x192 and W32 256x256 at
 * batch 1 and 8 on the available adapter, with achieved GFLOP/s, waiting for results both ways the
 * runtime can (awaiting mapAsync at once, or sleeping between checks), the dispatches per forward and the host
 * time spent recording and submitting them. Kernels are chosen as `hrnet forward` chooses them on this
 * adapter, or by a tuning file: npm run bench:forward [-- --quick] [-- --tuning OUT/<exp>/tuning.json]
 */

import { median } from '../common/median.ts';
import type { Node } from '../compiler/ir/graph.ts';
import { summarize } from '../compiler/ir/summary.ts';
import { openGpu } from '../runtime/gpu/adapter.ts';
import type { WaitMode } from '../runtime/gpu/forward-runner.ts';
import { describeKernelChoice } from '../runtime/kernel-choice.ts';
import { windowCount } from '../runtime/weight-windows.ts';
import { benchForward, timeSettled, tuningArgument } from './compiled-forward.ts';
import { printTable } from './table.ts';

const quick = process.argv.includes('--quick');
const cases: { experiment: string; batches: number[] }[] = quick
  ? [{ experiment: 'experiments/tiny/w8_64x64.yaml', batches: [1, 8] }]
  : [
      { experiment: 'experiments/tiny/w8_64x64.yaml', batches: [1, 8] },
      { experiment: 'experiments/coco/w32_256x192.yaml', batches: [1, 8] },
      { experiment: 'experiments/mpii/w32_256x256.yaml', batches: [1, 8] },
    ];

const gpu = await openGpu();
console.log(`adapter: ${gpu.adapterDescription}${gpu.isSoftware ? ' (software)' : ''}`);
const rows: string[][] = [
  [
    'experiment',
    'batch',
    'GFLOP/batch',
    'wait',
    'ms (median of 3)',
    'GFLOP/s',
    'img/s',
    'dispatches',
    'host ms',
  ],
];
const kernelRows: string[][] = [];

const tuning = tuningArgument(process.argv);
for (const { experiment, batches } of cases) {
  const {
    name,
    graph: source,
    planned: graph,
    program,
    chosen,
    runner,
  } = await benchForward(gpu, experiment, tuning);
  const macs = summarize(source).macs;
  const dispatches = chosen.program.dispatches;
  // GPU dispatches: a dispatch with a windowed weight runs once per window.
  const gpuDispatches = dispatches.reduce((n, d) => n + windowCount(d.bindings, chosen.weights.entries), 0);
  const launchMacs = program.launches.map((launch) => convMacs(graph.nodes[launch.node]!, graph.nodes));
  console.log(
    `${name}: ${dispatches.length} dispatches (${gpuDispatches} with weight windows); convolution kernels: ${describeKernelChoice(chosen)}`,
  );
  const perImage = program.input.shape.reduce((n, d) => n * d, 1);
  for (const batch of batches) {
    const input = new Float32Array(perImage * batch).fill(0.5);
    await runner.run(input, batch); // warm-up: shader compilation and buffer allocation
    const gflop = (2 * macs * batch) / 1e9;
    for (const wait of ['map', 'sleep'] as WaitMode[]) {
      const hostTimes: number[] = [];
      const ms = await timeSettled(
        () => runner.run(input, batch, wait),
        3,
        () => hostTimes.push(runner.lastHostMs),
      );
      const hostMs = median(hostTimes);
      rows.push([
        name,
        String(batch),
        gflop.toFixed(2),
        wait,
        ms.toFixed(1),
        (gflop / (ms / 1000)).toFixed(2),
        ((batch * 1000) / ms).toFixed(2),
        String(gpuDispatches * Math.ceil(batch / runner.maxChunk)),
        hostMs.toFixed(1),
      ]);
    }
    const perKernel = await runner.profile(input, batch);
    if (perKernel) {
      const byKernel = new Map<string, { ms: number; launches: number; module: string; macs: number }>();
      dispatches.forEach((launch, i) => {
        const entry = byKernel.get(launch.kernel) ?? { ms: 0, launches: 0, module: launch.module, macs: 0 };
        entry.ms += perKernel[i]!;
        entry.launches += 1;
        entry.macs += launchMacs[i]! * batch;
        byKernel.set(launch.kernel, entry);
      });
      const total = perKernel.reduce((a, b) => a + b, 0);
      const top = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8);
      for (const [kernel, { ms, launches, module, macs: kernelMacs }] of top) {
        kernelRows.push([
          name,
          String(batch),
          kernel,
          String(launches),
          module,
          ms.toFixed(2),
          `${((100 * ms) / total).toFixed(1)}%`,
          kernelMacs > 0 ? ((2 * kernelMacs) / 1e9 / (ms / 1000)).toFixed(2) : '',
        ]);
      }
    }
  }
  runner.destroy();
}

printTable(rows, 'whole forward');
if (kernelRows.length > 0)
  printTable(
    [['experiment', 'batch', 'kernel', 'launches', 'first module', 'ms', 'share', 'GFLOP/s'], ...kernelRows],
    'slowest kernels (GPU timestamps, one pass per dispatch)',
  );

/** Multiply-adds of a convolution launch per image (0 for other ops), for per-kernel GFLOP/s. */
function convMacs(node: Node, nodes: readonly Node[]): number {
  if (node.op !== 'fused_conv2d' && node.op !== 'conv2d') return 0;
  const inChannels = nodes[node.inputs[0]!]!.type.shape[1] as number;
  const kernel = node.attrs.kernel as number;
  const outputs = (node.type.shape.slice(1) as number[]).reduce((n, d) => n * d, 1);
  return outputs * inChannels * kernel * kernel;
}
