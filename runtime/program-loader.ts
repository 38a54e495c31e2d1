import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../common/user-error.ts';
import { type TuningFile, tuningFileProblem } from './kernel-choice.ts';
import { type ForwardProgram, type Manifest, manifestVersion, type TrainStepProgram } from './program.ts';

/** What `hrnetc` wrote to OUT/<experiment>/, loaded for running. */
export interface CompiledProgram {
  readonly directory: string;
  readonly manifest: Manifest;
  readonly forward: ForwardProgram;
  readonly kernels: ReadonlyMap<string, string>;
  /** tuning.json, when `hrnet tune` wrote one. */
  readonly tuning?: TuningFile;
}

export class ProgramLoadError extends UserError {}

/** Reads manifest.json of a compiled experiment folder (enough for weight tools). */
export function loadManifest(directory: string): Manifest {
  const manifestPath = join(resolve(directory), 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new ProgramLoadError(
      `${directory} has no manifest.json; compile an experiment first: npx hrnetc EXPERIMENT.yaml -o ${join(directory, '..')}`,
    );
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch (e) {
    throw new ProgramLoadError(`${manifestPath} is not valid JSON: ${(e as Error).message}`);
  }
  if (manifest.format !== 'hrnetc-manifest' || manifest.version !== manifestVersion) {
    throw new ProgramLoadError(
      `${manifestPath} is not an hrnetc v${manifestVersion} manifest; recompile with this version of hrnetc`,
    );
  }
  return manifest;
}

/** Reads manifest.json and kernels/*.wgsl and imports forward.ts from a compiled experiment folder. */
export async function loadCompiledProgram(directory: string): Promise<CompiledProgram> {
  const dir = resolve(directory);
  const manifest = loadManifest(directory);
  const forwardPath = join(dir, 'forward.ts');
  if (!existsSync(forwardPath))
    throw new ProgramLoadError(`${directory} has no forward.ts; recompile with --emit including forward`);
  const module = (await import(pathToFileURL(forwardPath).href)) as { program?: ForwardProgram };
  if (!module.program) throw new ProgramLoadError(`${forwardPath} does not export a program`);
  const kernels = new Map<string, string>();
  for (const kernel of manifest.kernels) {
    const path = join(dir, kernel.file);
    if (!existsSync(path))
      throw new ProgramLoadError(`kernel ${kernel.file} is missing from ${directory}; recompile`);
    kernels.set(kernel.name, readFileSync(path, 'utf8'));
  }
  const tuning = loadTuning(dir);
  return { directory: dir, manifest, forward: module.program, kernels, ...(tuning ? { tuning } : {}) };
}

/** OUT/<exp>/tuning.json (see `hrnet tune`), if there is one. */
export function loadTuning(directory: string): TuningFile | undefined {
  const path = join(resolve(directory), 'tuning.json');
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ProgramLoadError(
      `${path} is not valid JSON: ${(e as Error).message}; run hrnet tune again or delete it`,
    );
  }
  const problem = tuningFileProblem(value);
  if (problem) throw new ProgramLoadError(`${path} ${problem}; run hrnet tune again or delete it`);
  return value as TuningFile;
}

/** Imports backward.ts (the training step) from a compiled experiment folder. */
export async function loadTrainStep(directory: string): Promise<TrainStepProgram> {
  const path = join(resolve(directory), 'backward.ts');
  if (!existsSync(path))
    throw new ProgramLoadError(`${directory} has no backward.ts; recompile with --emit including backward`);
  const module = (await import(pathToFileURL(path).href)) as { trainStep?: TrainStepProgram };
  if (!module.trainStep) throw new ProgramLoadError(`${path} does not export a trainStep`);
  return module.trainStep;
}
