import type { TuningFile } from '../runtime/kernel-choice.ts';
import {
  type ForwardProgram,
  type Manifest,
  manifestVersion,
  type TrainStepProgram,
} from '../runtime/program.ts';
import type { CompiledProgram } from '../runtime/program-loader.ts';
import { officialInitialWeights } from '../runtime/weights/init-weights.ts';
import { parseSafetensors, type TensorMap } from '../runtime/weights/safetensors.ts';
import { type ServedSession, servedPaths } from './served-paths.ts';

export type PageProgram = Pick<CompiledProgram, 'manifest' | 'forward' | 'kernels' | 'tuning'>;

async function fetchOk(path: string): Promise<Response> {
  const response = await fetch(path, { cache: 'no-store' });
  if (!response.ok) throw new Error(`${path}: the server answered ${response.status} ${response.statusText}`);
  return response;
}

export async function fetchSession(): Promise<ServedSession> {
  return (await fetchOk(servedPaths.session)).json() as Promise<ServedSession>;
}

/**
 * The page's loadCompiledProgram: manifest.json, every kernel named there, and forward.ts (bundled by
 * the server), fetched rather than read. `onKernel` is told after each kernel arrives.
 */
export async function fetchProgram(
  session: ServedSession,
  onKernel: (done: number, total: number) => void,
): Promise<PageProgram> {
  const manifest = (await (await fetchOk(`${servedPaths.program}manifest.json`)).json()) as Manifest;
  if (manifest.format !== 'hrnetc-manifest' || manifest.version !== manifestVersion)
    throw new Error(
      `manifest.json is not an hrnetc v${manifestVersion} manifest; recompile with this version of hrnetc`,
    );
  // A URL the bundler cannot follow: the program module is fetched at run time, not bundled in.
  const forwardUrl = new URL(servedPaths.forward, location.href).href;
  const module = (await import(forwardUrl)) as { program?: ForwardProgram };
  if (!module.program) throw new Error(`${servedPaths.forward} does not export a program`);
  const kernels = new Map<string, string>();
  let done = 0;
  onKernel(0, manifest.kernels.length);
  await Promise.all(
    manifest.kernels.map(async (kernel) => {
      kernels.set(kernel.name, await (await fetchOk(`${servedPaths.program}${kernel.file}`)).text());
      onKernel(++done, manifest.kernels.length);
    }),
  );
  // `hrnet tune`'s file, if the folder has one; chooseKernels uses it only on the adapter it names.
  const tuning = session.tuning
    ? ((await (await fetchOk(`${servedPaths.program}tuning.json`)).json()) as TuningFile)
    : undefined;
  return { manifest, forward: module.program, kernels, ...(tuning ? { tuning } : {}) };
}

/** The --weights file the server was given, or the official initialisation when none was. */
export async function fetchWeights(session: ServedSession, manifest: Manifest): Promise<TensorMap> {
  if (session.weights === null) return officialInitialWeights(manifest.parameters, session.seed);
  const bytes = new Uint8Array(await (await fetchOk(servedPaths.weights)).arrayBuffer());
  return parseSafetensors(bytes, session.weights);
}

/**
 * The training step (backward.ts, bundled by the server), or undefined when the program folder has
 * none. Asked for first, because a failed import() does not say whether the module was missing.
 */
export async function fetchTrainStep(): Promise<TrainStepProgram | undefined> {
  const head = await fetch(servedPaths.backward, { method: 'HEAD', cache: 'no-store' });
  if (head.status === 404) return undefined;
  if (!head.ok)
    throw new Error(`${servedPaths.backward}: the server answered ${head.status} ${head.statusText}`);
  const module = (await import(new URL(servedPaths.backward, location.href).href)) as {
    trainStep?: TrainStepProgram;
  };
  if (!module.trainStep) throw new Error(`${servedPaths.backward} does not export a trainStep`);
  return module.trainStep;
}

/** A text file of the program folder (config.yaml, graph.svg, …), or undefined when it has none. */
export async function fetchProgramText(file: string): Promise<string | undefined> {
  const response = await fetch(`${servedPaths.program}${file}`, { cache: 'no-store' });
  if (response.status === 404) return undefined;
  if (!response.ok)
    throw new Error(
      `${servedPaths.program}${file}: the server answered ${response.status} ${response.statusText}`,
    );
  return response.text();
}
