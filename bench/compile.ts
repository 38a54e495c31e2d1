/**
 * bench/compile: how long the driver takes to compile the kernels an experiment runs on this adapter
 * (the forward's and the training step's, chosen as the runtime chooses them) with an empty shader
 * cache: what a new user's first `hrnet` command waits for. Kernels are compiled one at a time, so
 * each time is the kernel's own (the runtime spreads them over helper devices, and a test run's two
 * workers compile at once); the table sums them per kind. Run:
 *   npm run bench:compile [-- --experiment FILE]   (default: the tiny model)
 */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toForwardProgram } from '../compiler/codegen/forward-program.ts';
import { planKernels } from '../compiler/codegen/kernel-plan.ts';
import { toTrainStepProgram } from '../compiler/codegen/train-program.ts';
import { loadExperiment } from '../compiler/config/load-experiment.ts';
import { inferencePasses } from '../compiler/passes/inference-passes.ts';
import { runPasses } from '../compiler/passes/pass.ts';
import { lowerExperiment, trainingProgram } from '../compiler/pipeline.ts';
import { kernelsForDevice } from '../runtime/device-kernels.ts';
import { openGpu } from '../runtime/gpu/adapter.ts';
import { createPipelines } from '../runtime/gpu/pipelines.ts';
import { chooseKernels, chooseTrainingKernels } from '../runtime/kernel-choice.ts';
import { optionValue } from './options.ts';
import { printTable } from './table.ts';

// Before the driver loads: Mesa reads it when the device is created.
process.env.MESA_SHADER_CACHE_DIR = mkdtempSync(join(tmpdir(), 'hrnetc-bench-compile-'));

const experimentFile = optionValue('--experiment') ?? 'experiments/tiny/w8_64x64.yaml';
const loaded = loadExperiment(experimentFile);
if (!loaded.ok) throw new Error(`invalid ${experimentFile}`);
const lowered = lowerExperiment(loaded.experiment);
if (!lowered.ok) throw new Error(lowered.message);

const gpu = await openGpu();
console.log(`adapter: ${gpu.adapterDescription}${gpu.isSoftware ? ' (software)' : ''}`);
const selection = { adapter: gpu.adapterDescription, isSoftware: gpu.isSoftware };

const inference = planKernels(runPasses(lowered.graph, inferencePasses).graph);
const forward = kernelsForDevice(
  chooseKernels(toForwardProgram(inference, loaded.experiment.name), inference.weights, selection).program,
  gpu.device.features,
);
const training = trainingProgram({
  experiment: loaded.experiment,
  graph: lowered.graph,
  inputName: experimentFile,
}).program;
const step = kernelsForDevice(
  chooseTrainingKernels(toTrainStepProgram(training, loaded.experiment.name), selection).program,
  gpu.device.features,
);

const kernels = new Map([...inference.kernels, ...training.kernels].map((k) => [k.name, k.wgsl]));
const sets = [
  { what: 'forward', names: unique(forward.dispatches.map((d) => d.kernel)) },
  {
    what: 'training step',
    names: unique([...step.dispatches, step.optimizer.adam].map((d) => d.kernel)),
  },
];

const rows: string[][] = [['kernels', 'kind', 'count', 'seconds', 'slowest (s)']];
const compiled = new Set<string>();
for (const { what, names } of sets) {
  // A kernel both sets run is compiled (and counted) once, in the first.
  const fresh = names.filter((name) => !compiled.has(name));
  const byKind = new Map<string, number[]>();
  for (const [i, name] of fresh.entries()) {
    const start = performance.now();
    await createPipelines({ device: gpu.device }, [name], kernels, what);
    const seconds = (performance.now() - start) / 1000;
    compiled.add(name);
    const kind = kindOf(name);
    byKind.set(kind, [...(byKind.get(kind) ?? []), seconds]);
    process.stderr.write(`\r${what}: ${i + 1}/${fresh.length} kernels compiled`);
  }
  process.stderr.write('\n');
  const kinds = [...byKind].sort((a, b) => sum(b[1]) - sum(a[1]));
  for (const [kind, times] of kinds)
    rows.push([what, kind, String(times.length), sum(times).toFixed(1), Math.max(...times).toFixed(1)]);
  const all = kinds.flatMap(([, times]) => times);
  rows.push([what, 'all', String(all.length), sum(all).toFixed(1), Math.max(0, ...all).toFixed(1)]);
}

printTable(rows);
process.exit(0);

/** A kernel's name without its hash, and without its shape where the name has one (the forward's). */
function kindOf(name: string): string {
  const base = name.replace(/_[0-9a-f]{8}$/, '');
  const shaped = /^([a-z]+)(\d+x\d+)s\d+_.*?(_subgroups)?$/.exec(base);
  return shaped ? `${shaped[1]}${shaped[2]}${shaped[3] ?? ''}` : base;
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
