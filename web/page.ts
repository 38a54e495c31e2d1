import { predictSettings, type RuntimeConfig, runtimeConfig } from '../runtime/experiment-settings.ts';
import type { GpuContext } from '../runtime/gpu/adapter.ts';
import { NoBrowserGpuError, openBrowserGpu } from '../runtime/gpu/browser-adapter.ts';
import { ForwardRunner } from '../runtime/gpu/forward-runner.ts';
import type { RgbImage } from '../runtime/image/rgb-image.ts';
import { cropFor, type PersonBox, type PredictSettings, predictCrops } from '../runtime/predict.ts';
import { predictionJson, predictionRecord } from '../runtime/prediction-record.ts';
import type { TrainStepProgram } from '../runtime/program.ts';
import type { TrainingConfig } from '../runtime/train/trainer.ts';
import { serializeSafetensors, type TensorMap } from '../runtime/weights/safetensors.ts';
import { decodeImageFile } from './decode-image.ts';
import { drawPrediction } from './draw-prediction.ts';
import { showExperiment } from './experiment-view.ts';
import {
  fetchProgram,
  fetchSession,
  fetchTrainStep,
  fetchWeights,
  type PageProgram,
} from './load-program.ts';
import { PageTrainer, syntheticTrainingSet, type TrainingSet } from './page-training.ts';
import type { ServedSession } from './served-paths.ts';
import { appendStepRow, optimizerLine, setDownload, stepChartSvg } from './train-panel.ts';
import { FrameRate, Webcam } from './webcam.ts';

/** `hrnet predict`'s default: joints scoring below it are left out of the skeleton. */
const drawThreshold = 0.2;

/** What the page is doing, on <body data-state>, for people styling it and for tests waiting on it. */
type PageState =
  | 'loading'
  | 'ready'
  | 'predicting'
  | 'predicted'
  | 'webcam'
  | 'training'
  | 'trained'
  | 'no-webgpu'
  | 'error';

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
  webcam: element<HTMLButtonElement>('webcam'),
  // Never shown: frames are drawn with their skeleton on #picture. Muted, without sound, so no captions.
  video: Object.assign(document.createElement('video'), { playsInline: true, muted: true }),
  error: element<HTMLParagraphElement>('error'),
  picture: element<HTMLCanvasElement>('picture'),
  keypoints: element<HTMLPreElement>('keypoints'),
  steps: element<HTMLInputElement>('steps'),
  batchSize: element<HTMLInputElement>('batch-size'),
  figures: element<HTMLInputElement>('figures'),
  seed: element<HTMLInputElement>('seed'),
  train: element<HTMLButtonElement>('train'),
  trainSettings: element<HTMLParagraphElement>('train-settings'),
  trainStatus: element<HTMLParagraphElement>('train-status'),
  trainChart: element<HTMLDivElement>('train-chart'),
  trainLog: element<HTMLTableElement>('train-log'),
  download: element<HTMLAnchorElement>('download-weights'),
  summary: element<HTMLTableElement>('summary'),
  graph: element<HTMLDivElement>('graph'),
  config: element<HTMLPreElement>('config'),
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

interface Prepared {
  readonly gpu: GpuContext;
  readonly session: ServedSession;
  readonly runner: ForwardRunner;
  readonly program: PageProgram;
  readonly config: RuntimeConfig;
  readonly settings: PredictSettings;
  /** The weights the page started from (served or initialised); training starts from them. */
  readonly weights: TensorMap;
  /** backward.ts, when the program folder has it. */
  readonly trainStep: TrainStepProgram | undefined;
}

async function prepare(): Promise<Prepared> {
  const session = await stage('fetch the session', fetchSession);
  page.experiment.textContent = session.experiment;
  const gpu = await stage('open the WebGPU device', () =>
    openBrowserGpu({
      onKernelProgress: (what, done, total) => showProgress(`compiling ${what} kernels`, done, total),
    }),
  );
  page.adapter.textContent = `Adapter: ${gpu.adapterDescription || 'unnamed'}${gpu.isSoftware ? ' (software: kernels run on the CPU)' : ''}`;
  const program = await stage('fetch manifest, forward program and kernels', () =>
    fetchProgram(session, (done, total) => showProgress('fetching kernels', done, total)),
  );
  const config = runtimeConfig(program.manifest);
  const settings = predictSettings(config);
  const weights = await stage(
    session.weights === null
      ? `initialise weights (official init, seed ${session.seed})`
      : `fetch weights ${session.weights}`,
    () => fetchWeights(session, program.manifest),
  );
  const runner = await stage('prepare pipelines and upload weights', () =>
    ForwardRunner.forCompiled(gpu, program, weights),
  );
  const trainStep = await stage('fetch the training step', fetchTrainStep);
  return { gpu, session, runner, program, config, settings, weights, trainStep };
}

/**
 * Predicts on one image as `hrnet predict` does, and shows it: the skeleton over the picture with the
 * forward time (and the frame rate for the webcam), and the JSON record as the text of #keypoints.
 */
async function predictAndShow(
  prepared: Prepared,
  name: string,
  image: RgbImage,
  picture: CanvasImageSource & { width: number; height: number },
  frameRate?: number,
): Promise<void> {
  const { runner, program, settings } = prepared;
  const box = personBox(page.box.value);
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
  const crop = { image, ...cropFor(image, box, settings) };
  const [prediction] =
    frameRate === undefined
      ? await stage('predict (crop, normalise, forward, flip test, decode)', () =>
          predictCrops(timed, [crop], settings),
        )
      : await predictCrops(timed, [crop], settings);
  const record = predictionRecord(
    { name, width: image.width, height: image.height },
    program.manifest.experiment,
    settings,
    prediction!,
  );
  const rate = frameRate === undefined ? '' : `, ${frameRate.toFixed(2)} frames/s`;
  drawPrediction(page.picture, picture, prediction!.joints, settings.joints, {
    threshold: drawThreshold,
    caption: `${name}: forward ${formatMs(forwardMs)}${settings.flipTest ? ' (with the flipped image)' : ''}${rate}`,
  });
  page.picture.hidden = false;
  page.keypoints.textContent = predictionJson(record);
  page.keypoints.hidden = false;
}

async function predict(file: File, prepared: Prepared): Promise<void> {
  const image = await stage(`decode ${file.name}`, () => decodeImageFile(file));
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  try {
    await predictAndShow(prepared, file.name, image, bitmap);
  } finally {
    bitmap.close();
  }
}

/**
 * Predicts on camera frames until stopped, one frame at a time (each JSON record is named `webcam`);
 * `running()` is asked before each frame.
 */
async function predictWebcam(prepared: Prepared, running: () => boolean): Promise<void> {
  const camera = await Webcam.open(page.video);
  const rate = new FrameRate();
  try {
    while (running()) {
      const { image, picture } = camera.frame();
      const fps = rate.tick(performance.now());
      await predictAndShow(prepared, 'webcam', image, picture, fps);
      page.webcam.dataset.frames = String(Number(page.webcam.dataset.frames ?? 0) + 1);
    }
  } finally {
    camera.close();
  }
}

/** A whole number from a training input, within its min and max. */
function wholeNumber(input: HTMLInputElement, what: string): number {
  const n = Number(input.value);
  const low = Number(input.min);
  const high = Number(input.max);
  if (!Number.isInteger(n) || n < low || n > high)
    throw new Error(`${what}: expected a whole number from ${low} to ${high}`);
  return n;
}

/** The training the page has done so far: later runs continue it (weights and optimizer moments). */
interface Training {
  trainer?: PageTrainer;
  set?: TrainingSet;
}

/**
 * Trains the loaded model for the steps asked, charting each step, then makes predictions use the
 * trained weights and offers them as a safetensors download (parameters and running statistics by
 * official names, as `hrnet train` writes final_state.safetensors).
 */
async function train(prepared: Prepared, training: Training): Promise<void> {
  const { gpu, program, config, runner } = prepared;
  const steps = wholeNumber(page.steps, 'steps');
  const batchSize = wholeNumber(page.batchSize, 'batch size');
  const figures = wholeNumber(page.figures, 'figures');
  const seed = wholeNumber(page.seed, 'seed');
  if (batchSize > figures) throw new Error(`batch size ${batchSize} is more than the ${figures} figures`);
  training.trainer ??= await stage(
    `prepare the training pipelines (${prepared.trainStep!.dispatches.length} dispatches)`,
    () =>
      PageTrainer.create(gpu, prepared.trainStep!, program.kernels, config, prepared.weights, program.tuning),
  );
  const trainer = training.trainer;
  trainer.checkBatch(batchSize);
  if (training.set?.seed !== seed || training.set.figures !== figures)
    training.set = await stage(`draw ${figures} synthetic figures (seed ${seed})`, async () =>
      syntheticTrainingSet(config, figures, seed),
    );
  const set = training.set;
  const experiment = program.manifest.experiment;
  const before = trainer.steps.length;
  await stage(`train ${steps} steps of ${batchSize}`, () =>
    trainer.train(set, steps, batchSize, (record) => {
      appendStepRow(page.trainLog, record);
      page.trainChart.innerHTML = stepChartSvg(trainer.steps, experiment);
      page.trainStatus.textContent = `Step ${record.step}: loss ${record.loss.toExponential(4)}, training accuracy ${record.accuracy.toFixed(3)}, ${record.imagesPerSecond.toFixed(2)} images/s`;
      showProgress('training', record.step - before, steps);
    }),
  );
  const state = await stage('read the trained weights', () => trainer.readState());
  runner.updateState(state);
  const total = trainer.optimizerSteps;
  setDownload(
    page.download,
    serializeSafetensors(state, { format: 'pt', steps: String(total) }),
    `${experiment}-trained-${total}-steps.safetensors`,
    `Download weights (${total} steps, safetensors)`,
  );
  page.progressLabel.textContent = `Trained ${total} steps; predictions use the trained weights`;
}

async function main(): Promise<void> {
  // Independent of the GPU: shown even where the page cannot run the program.
  showExperiment(page).catch((error) => showError(error));
  let prepared: Prepared;
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
  page.webcam.disabled = false;
  setState('ready');
  let webcamOn = false;
  const busy = (on: boolean) => {
    page.image.disabled = on;
    page.webcam.disabled = on && !webcamOn;
    page.train.disabled = on || !prepared.trainStep;
  };
  page.webcam.addEventListener('click', async () => {
    if (webcamOn) {
      webcamOn = false;
      return;
    }
    webcamOn = true;
    page.error.hidden = true;
    page.webcam.textContent = 'Stop webcam';
    page.webcam.dataset.frames = '0';
    setState('webcam');
    busy(true);
    try {
      await predictWebcam(prepared, () => webcamOn);
      setState('predicted');
    } catch (error) {
      showError(error);
      setState('error');
    } finally {
      webcamOn = false;
      page.webcam.textContent = 'Start webcam';
      busy(false);
    }
  });
  page.image.addEventListener('change', async () => {
    const file = page.image.files?.[0];
    if (!file) return;
    page.error.hidden = true;
    page.keypoints.textContent = '';
    setState('predicting');
    busy(true);
    try {
      await predict(file, prepared);
      setState('predicted');
    } catch (error) {
      showError(error);
      setState('error');
    } finally {
      busy(false);
    }
  });
  if (!prepared.trainStep) {
    page.trainSettings.textContent =
      'The program folder has no backward.ts, so the page cannot train; recompile with --emit including backward.';
    page.trainSettings.classList.add('missing');
    return;
  }
  page.trainSettings.textContent = optimizerLine(prepared.config as TrainingConfig);
  page.train.disabled = false;
  const training: Training = {};
  page.train.addEventListener('click', async () => {
    page.error.hidden = true;
    setState('training');
    busy(true);
    try {
      await train(prepared, training);
      setState('trained');
    } catch (error) {
      showError(error);
      setState('error');
    } finally {
      busy(false);
    }
  });
}

void main();
