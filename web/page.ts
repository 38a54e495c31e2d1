import { predictSettings, runtimeConfig } from '../runtime/experiment-settings.ts';
import { NoBrowserGpuError, openBrowserGpu } from '../runtime/gpu/browser-adapter.ts';
import { ForwardRunner } from '../runtime/gpu/forward-runner.ts';
import { cropFor, type PersonBox, type PredictSettings, predictCrops } from '../runtime/predict.ts';
import { predictionJson, predictionRecord } from '../runtime/prediction-record.ts';
import { decodeImageFile } from './decode-image.ts';
import { drawPrediction } from './draw-prediction.ts';
import { fetchProgram, fetchSession, fetchWeights, type PageProgram } from './load-program.ts';

/** `hrnet predict`'s default: joints scoring below it are left out of the skeleton. */
const drawThreshold = 0.2;

/** What the page is doing, on <body data-state>, for people styling it and for tests waiting on it. */
type PageState = 'loading' | 'ready' | 'predicting' | 'predicted' | 'no-webgpu' | 'error';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const page = {
  experiment: element<HTMLSpanElement>('experiment'),
  adapter: element<HTMLParagraphElement>('adapter'),
  progress: element<HTMLProgressElement>('progress'),
  progressLabel: element<HTMLLabelElement>('progress-label'),
  stages: element<HTMLOListElement>('stages'),
  image: element<HTMLInputElement>('image'),
  box: element<HTMLInputElement>('box'),
  error: element<HTMLParagraphElement>('error'),
  picture: element<HTMLCanvasElement>('picture'),
  keypoints: element<HTMLPreElement>('keypoints'),
};

function setState(state: PageState): void {
  document.body.dataset.state = state;
}

function showProgress(what: string, done: number, total: number): void {
  page.progressLabel.textContent = `${what} (${done}/${total})`;
  page.progress.max = Math.max(1, total);
  page.progress.value = done;
}

/** Runs one named stage and lists how long it took, so slow steps (kernel compilation) are visible. */
async function stage<T>(name: string, work: () => Promise<T>): Promise<T> {
  const item = document.createElement('li');
  item.textContent = `${name}…`;
  page.stages.append(item);
  const start = performance.now();
  let result: T;
  try {
    result = await work();
  } catch (error) {
    item.textContent = `${name}: failed`;
    throw error;
  }
  const took = document.createElement('span');
  took.textContent = ` ${formatMs(performance.now() - start)}`;
  item.textContent = name;
  item.append(took);
  return result;
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

function showError(error: unknown): void {
  page.error.hidden = false;
  page.error.textContent = error instanceof Error ? error.message : String(error);
}

/** "x,y,w,h" as `hrnet predict --bbox` takes it; empty means the whole image. */
function personBox(text: string): PersonBox | undefined {
  if (text.trim() === '') return undefined;
  const parts = text.split(',').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n)) || parts[2]! <= 0 || parts[3]! <= 0)
    throw new Error(`person box "${text}": expected x,y,w,h with a positive width and height`);
  return { x: parts[0]!, y: parts[1]!, width: parts[2]!, height: parts[3]! };
}

async function prepare(): Promise<{
  runner: ForwardRunner;
  program: PageProgram;
  settings: PredictSettings;
}> {
  const session = await stage('fetch the session', fetchSession);
  page.experiment.textContent = session.experiment;
  const gpu = await stage('open the WebGPU device', () =>
    openBrowserGpu({
      onKernelProgress: (what, done, total) => showProgress(`compiling ${what} kernels`, done, total),
    }),
  );
  page.adapter.textContent = `Adapter: ${gpu.adapterDescription || 'unnamed'}${gpu.isSoftware ? ' (software: kernels run on the CPU)' : ''}`;
  const program = await stage('fetch manifest, forward program and kernels', () =>
    fetchProgram((done, total) => showProgress('fetching kernels', done, total)),
  );
  const settings = predictSettings(runtimeConfig(program.manifest));
  const weights = await stage(
    session.weights === null
      ? `initialise weights (official init, seed ${session.seed})`
      : `fetch weights ${session.weights}`,
    () => fetchWeights(session, program.manifest),
  );
  const runner = await stage('prepare pipelines and upload weights', () =>
    ForwardRunner.forCompiled(gpu, program, weights),
  );
  return { runner, program, settings };
}

async function predict(file: File, prepared: Awaited<ReturnType<typeof prepare>>): Promise<void> {
  const { runner, program, settings } = prepared;
  const box = personBox(page.box.value);
  const image = await stage(`decode ${file.name}`, () => decodeImageFile(file));
  let forwardMs = 0;
  // The forward alone (both passes when FLIP_TEST), without the crop and decoding around it.
  const timed = {
    run: async (input: Float32Array, batch: number) => {
      const start = performance.now();
      const output = await runner.run(input, batch);
      forwardMs = performance.now() - start;
      return output;
    },
  };
  const [prediction] = await stage('predict (crop, normalise, forward, flip test, decode)', () =>
    predictCrops(timed, [{ image, ...cropFor(image, box, settings) }], settings),
  );
  const record = predictionRecord(
    { name: file.name, width: image.width, height: image.height },
    program.manifest.experiment,
    settings,
    prediction!,
  );
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  drawPrediction(page.picture, bitmap, prediction!.joints, settings.joints, {
    threshold: drawThreshold,
    caption: `${file.name}: forward ${formatMs(forwardMs)}${settings.flipTest ? ' (with the flipped image)' : ''}`,
  });
  bitmap.close();
  page.picture.hidden = false;
  page.keypoints.textContent = predictionJson(record);
  page.keypoints.hidden = false;
}

async function main(): Promise<void> {
  let prepared: Awaited<ReturnType<typeof prepare>>;
  try {
    prepared = await prepare();
  } catch (error) {
    const noGpu = error instanceof NoBrowserGpuError;
    if (noGpu) {
      page.adapter.textContent = error.message;
      page.adapter.classList.add('error');
    } else showError(error);
    page.progressLabel.textContent = 'Stopped';
    setState(noGpu ? 'no-webgpu' : 'error');
    return;
  }
  page.progressLabel.textContent = 'Ready';
  page.image.disabled = false;
  setState('ready');
  page.image.addEventListener('change', async () => {
    const file = page.image.files?.[0];
    if (!file) return;
    page.error.hidden = true;
    page.keypoints.textContent = '';
    setState('predicting');
    try {
      await predict(file, prepared);
      setState('predicted');
    } catch (error) {
      showError(error);
      setState('error');
    }
  });
}

void main();
