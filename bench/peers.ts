/**
 * bench/peers: hrnetc against ONNX Runtime's WebGPU execution provider, side by side in one process
 * on the same adapter with the same weights: the whole forward of W32 MPII 256x256 and COCO 256x192
 * at batch 1 and 8, per image, with hrnetc waiting both ways (awaiting mapAsync at once, or sleeping
 * first). ONNX Runtime runs the model `hrnet export --format onnx` writes (BN not folded; ORT folds
 * it). Both include the upload of the input and the read-back of the output. Run:
 *   npm run bench:peers [-- --quick] [-- --json FILE] [-- --tuning OUT/<exp>/tuning.json]
 * (tuning files, several merged, choose the forward's kernels and, with a training part, the step's)
 * Then the training step (forward in training mode, loss, backward, Adam), which ONNX Runtime's
 * WebGPU provider does not do: tiny at batch 16 and W32 256x192 at batch 1, 4 and 8, with images/s, the
 * step's time per image relative to the forward's best per image, its dispatches and host time, and
 * the planned peak GPU memory.
 * --quick runs the tiny model only; --json also writes the forward rows as JSON.
 */

import { writeFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import { encodeOnnx, onnxModel } from '../compiler/export/onnx-model.ts';
import { openGpu } from '../runtime/gpu/adapter.ts';
import type { WaitMode } from '../runtime/gpu/forward-runner.ts';
import { describeKernelChoice } from '../runtime/kernel-choice.ts';
import { benchForward, timeSettled, tuningArgument } from './compiled-forward.ts';
import { optionValue } from './options.ts';
import { printTable } from './table.ts';
import { timeTrainSteps } from './train-step-timing.ts';

interface Row {
  readonly runtime: 'hrnetc' | 'onnxruntime-webgpu';
  readonly experiment: string;
  readonly batch: number;
  readonly wait: WaitMode | null;
  readonly ms_per_image: number;
}

const quick = process.argv.includes('--quick');
const jsonPath = optionValue('--json');
if (process.argv.includes('--json') && !jsonPath) throw new Error('--json needs a file name');
const experiments = quick ? ['tiny/w8_64x64'] : ['mpii/w32_256x256', 'coco/w32_256x192'];
const batches = [1, 8];

// hrnetc's device first: ONNX Runtime brings its own Dawn, which finds the same Vulkan adapter.
const gpu = await openGpu();
console.log(`adapter: ${gpu.adapterDescription}${gpu.isSoftware ? ' (software)' : ''}`);
const rows: Row[] = [];

const tuning = tuningArgument(process.argv);
for (const experiment of experiments) {
  const { graph, program, weights, runner, chosen } = await benchForward(
    gpu,
    `experiments/${experiment}.yaml`,
    tuning,
  );
  console.log(`${experiment}: convolution kernels: ${describeKernelChoice(chosen)}`);
  const perImage = program.input.shape.reduce((n, d) => n * d, 1);
  for (const batch of batches) {
    const input = new Float32Array(perImage * batch).fill(0.5);
    for (const wait of ['map', 'sleep'] as WaitMode[]) {
      const ms = await timeSettled(() => runner.run(input, batch, wait));
      rows.push({ runtime: 'hrnetc', experiment, batch, wait, ms_per_image: ms / batch });
      console.log(`hrnetc ${experiment} batch ${batch} (${wait}): ${(ms / batch).toFixed(1)} ms/image`);
    }
  }
  runner.destroy();

  const onnx = encodeOnnx(
    onnxModel(graph, (name) => weights.get(name)!, { experiment, producerVersion: 'bench' }),
  );
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['webgpu'] });
  for (const batch of batches) {
    const shape = [batch, ...program.input.shape];
    const input = new Float32Array(perImage * batch).fill(0.5);
    const ms = await timeSettled(() => session.run({ input: new ort.Tensor('float32', input, shape) }));
    rows.push({ runtime: 'onnxruntime-webgpu', experiment, batch, wait: null, ms_per_image: ms / batch });
    console.log(`onnxruntime-webgpu ${experiment} batch ${batch}: ${(ms / batch).toFixed(1)} ms/image`);
  }
  await session.release();
}

const table: string[][] = [['experiment', 'batch', 'runtime', 'wait', 'ms/image', 'ORT ÷ hrnetc']];
for (const row of rows) {
  const peer = rows.find(
    (r) => r.runtime === 'onnxruntime-webgpu' && r.experiment === row.experiment && r.batch === row.batch,
  )!;
  table.push([
    row.experiment,
    String(row.batch),
    row.runtime,
    row.wait ?? '-',
    row.ms_per_image.toFixed(1),
    row.runtime === 'hrnetc' ? `${(peer.ms_per_image / row.ms_per_image).toFixed(2)}×` : '',
  ]);
}
printTable(
  table,
  'whole forward, per image (median of 3 after warming up; "ORT ÷ hrnetc" > 1 means hrnetc is faster)',
);
const trainCases = quick
  ? [{ experiment: 'tiny/w8_64x64', batch: 16 }]
  : [
      { experiment: 'tiny/w8_64x64', batch: 16 },
      { experiment: 'coco/w32_256x192', batch: 1 },
      // Batch statistics of one image are not what anyone trains W32 with (the official configs take 32).
      { experiment: 'coco/w32_256x192', batch: 4 },
      // The batch the forward's best time per image usually comes from (16 was no faster per image).
      { experiment: 'coco/w32_256x192', batch: 8 },
    ];
const trainTable: string[][] = [
  [
    'experiment',
    'batch',
    'ms/step',
    'img/s',
    'step ÷ forward (per image)',
    'dispatches',
    'host ms',
    'planned peak (MiB)',
  ],
];
for (const { experiment, batch } of trainCases) {
  const [t] = await timeTrainSteps(gpu, `experiments/${experiment}.yaml`, [batch], undefined, tuning);
  console.log(`${experiment} batch ${batch}: training kernels: ${t!.kernels}`);
  // The strictest comparison: the forward's best time per image, whichever batch gave it.
  const forwards = rows.filter(
    (r) => r.runtime === 'hrnetc' && r.experiment === experiment && r.wait === 'sleep',
  );
  const forward = forwards.length
    ? forwards.reduce((best, r) => (r.ms_per_image < best.ms_per_image ? r : best))
    : undefined;
  trainTable.push([
    experiment,
    String(batch),
    t!.msSleep.toFixed(0),
    ((batch * 1000) / t!.msSleep).toFixed(2),
    forward ? (t!.msSleep / batch / forward.ms_per_image).toFixed(2) : '-',
    String(t!.dispatches),
    t!.hostMs.toFixed(1),
    (t!.peakBytes / 2 ** 20).toFixed(1),
  ]);
}
printTable(
  trainTable,
  "training step (sleep wait; step ÷ forward against the forward's best time per image in the table above)",
);

if (jsonPath) {
  writeFileSync(jsonPath, `${JSON.stringify(rows, null, 2)}\n`);
  console.log(`wrote ${jsonPath}`);
}
