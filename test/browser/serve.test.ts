import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { basename, dirname, join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng, readImage } from '../../runtime/image/image.ts';
import type { PredictionRecord } from '../../runtime/prediction-record.ts';
import { writeSafetensors } from '../../runtime/weights/safetensors.ts';
import { runCli } from '../cli/run-cli.ts';
import { compileTestExperiment } from '../helpers/compile.ts';
import { lowerTestExperiment } from '../helpers/experiments.ts';
import { testWeights } from '../helpers/test-weights.ts';
import {
  launch,
  newPage,
  root,
  type Served,
  screenshots,
  serve,
  state,
  text,
  webgpuFlags,
} from './page-harness.ts';

/** A GET with the path sent exactly as given (no client-side normalisation of '..' or escapes). */
function rawGet(url: string, path: string, host?: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers: host ? { host } : {} }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function stopped(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Opens the page and waits until it has prepared its pipelines (or failed to). */
async function openPage(browser: Browser, url: string, errors: string[], name: string): Promise<Page> {
  const page = await newPage(browser, errors);
  await page.goto(url);
  // While it prepares (a minute on SwiftShader), the stages so far and the progress bar.
  await page.waitForSelector('#stages li', { timeout: 60_000 });
  await page.screenshot({ path: join(screenshots, `${name}-loading.png`), fullPage: true });
  await page.waitForSelector('body:not([data-state="loading"])', { timeout: 900_000 });
  return page;
}

/** Uploads `image` through the page's one file input and returns what #keypoints then holds. */
async function predictInPage(page: Page, image: string, screenshot: string): Promise<PredictionRecord> {
  const inputs = await page.$$('input[type="file"]');
  expect(inputs).toHaveLength(1);
  expect(await inputs[0]!.evaluate((input) => input.getAttribute('accept'))).toBe('image/*');
  await inputs[0]!.uploadFile(image);
  await page.waitForSelector('body[data-state="predicted"], body[data-state="error"]', { timeout: 900_000 });
  await page.screenshot({ path: join(screenshots, screenshot), fullPage: true });
  expect(await state(page), await text(page, '#error')).toBe('predicted');
  const json = await text(page, '#keypoints');
  // Byte for byte the layout `hrnet predict` writes.
  expect(json).toBe(`${JSON.stringify(JSON.parse(json), null, 1)}\n`);
  return JSON.parse(json) as PredictionRecord;
}

/** The page's joints against `hrnet predict`'s for the same image and weights. */
function expectSamePrediction(page: PredictionRecord, node: PredictionRecord): void {
  const { joints: pageJoints, ...pageRest } = page;
  const { joints: nodeJoints, ...nodeRest } = node;
  expect(pageRest).toEqual(nodeRest);
  expect(pageJoints).toHaveLength(nodeJoints.length);
  pageJoints.forEach((joint, k) => {
    const expected = nodeJoints[k]!;
    expect(joint.name).toBe(expected.name);
    expect(Math.abs(joint.x - expected.x), `${joint.name} x`).toBeLessThanOrEqual(0.5);
    expect(Math.abs(joint.y - expected.y), `${joint.name} y`).toBeLessThanOrEqual(0.5);
    expect(Math.abs(joint.score - expected.score), `${joint.name} score`).toBeLessThanOrEqual(1e-4);
  });
}

describe('hrnet serve: the page predicts in chromium as hrnet predict does in Node', async () => {
  const compiled = await compileTestExperiment('tiny/w8_64x64.yaml');
  const work = join(dirname(compiled), 'serve');
  const images = join(work, 'images');
  const nodeResults = join(work, 'predict');
  const weights = join(work, 'weights.safetensors');
  mkdirSync(images, { recursive: true });
  mkdirSync(screenshots, { recursive: true });
  // Well-scaled random weights: the official initialisation's near-zero heatmaps would leave argmax to ties.
  writeSafetensors(weights, testWeights(lowerTestExperiment('tiny/w8_64x64.yaml'), 31));

  let served: Served;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let jpeg: string;
  let png: string;

  beforeAll(async () => {
    const synth = runCli('hrnet', [
      'synth',
      '--format',
      'mpii',
      '-n',
      '0',
      '--val',
      '1',
      '-o',
      join(work, 'synth'),
    ]);
    expect(synth.status, synth.stderr).toBe(0);
    jpeg = join(images, 'figure.jpg');
    writeFileSync(jpeg, readFileSync(join(work, 'synth', 'images', 'valid_000001.jpg')));
    // The same figure losslessly: browser and Node decode a PNG to exactly the same samples.
    png = join(images, 'figure-png.png');
    writeFileSync(png, encodePng(readImage(jpeg)));
    // Run from the images' folder, so the JSON's `image` is the bare name, as the page writes it.
    const predict = runCli(
      'hrnet',
      ['predict', compiled, basename(png), basename(jpeg), '--weights', weights, '-o', nodeResults],
      { cwd: images },
    );
    expect(predict.status, predict.stderr).toBe(0);
    served = await serve([compiled, '--weights', weights]);
    browser = await launch(webgpuFlags);
  });

  afterAll(async () => {
    await browser?.close();
    if (served && served.process.exitCode === null) served.process.kill('SIGKILL');
  });

  it('prints its URL on 127.0.0.1 as the first line', () => {
    expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('serves the page and the program folder, and nothing outside it', async () => {
    expect((await rawGet(served.url, '/')).status).toBe(200);
    const manifest = await rawGet(served.url, '/program/manifest.json');
    expect(manifest.status).toBe(200);
    const kernel = (JSON.parse(manifest.body) as { kernels: { file: string }[] }).kernels[0]!.file;
    expect((await rawGet(served.url, `/program/${kernel}`)).status).toBe(200);
    expect((await rawGet(served.url, '/program/graph.svg')).status).toBe(200);
    symlinkSync(join(root, 'package.json'), join(compiled, 'escape.json'));
    const outside = [
      '/../package.json',
      '/%2e%2e/package.json',
      '/program/../package.json',
      '/program/../../../../package.json',
      '/program/kernels/../../../../../package.json',
      '/program/..%2f..%2f..%2f..%2fpackage.json',
      '/program/%2e%2e/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/program/%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fpackage.json',
      '/program/%252e%252e/%252e%252e/%252e%252e/%252e%252e/package.json',
      '/program/..\\..\\..\\..\\package.json',
      '/program/..%5c..%5c..%5c..%5cpackage.json',
      '/program/%2fetc%2fpasswd',
      '/program//etc/passwd',
      '/program/manifest.json%00.svg',
      '/program/%',
      '/program/escape.json',
      '/package.json',
      '/web/page.ts',
    ];
    for (const path of outside) {
      const response = await rawGet(served.url, path);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.body, path).not.toContain('"name": "hrnetc"');
      expect(response.body, path).not.toContain('root:');
    }
    // A page elsewhere that rebinds its DNS name to 127.0.0.1 is refused too.
    expect((await rawGet(served.url, '/program/manifest.json', 'attacker.example')).status).toBe(403);
  });

  it('shows the adapter and the time of each stage once the pipelines are prepared', async () => {
    page = await openPage(browser, served.url, pageErrors, 'serve');
    await page.screenshot({ path: join(screenshots, 'serve-ready.png'), fullPage: true });
    expect(await state(page), await text(page, '#error')).toBe('ready');
    expect(await text(page, '#adapter')).toMatch(/^Adapter: google swiftshader/);
    expect(await text(page, '#experiment')).toBe('w8_64x64');
    const stages = await text(page, '#stages');
    for (const stage of ['open the WebGPU device', 'fetch weights weights.safetensors', 'prepare pipelines'])
      expect(stages).toContain(stage);
    expect(stages).toMatch(/prepare pipelines and upload weights [\d.]+ m?s/);
  });

  it('predicts a PNG with the same joints and scores as hrnet predict', async () => {
    const fromPage = await predictInPage(page, png, 'serve-predicted-png.png');
    const fromNode = JSON.parse(
      readFileSync(join(nodeResults, 'figure-png.json'), 'utf8'),
    ) as PredictionRecord;
    expectSamePrediction(fromPage, fromNode);
    // Not a degenerate comparison: the test weights give the joints real, distinct scores.
    expect(Math.max(...fromNode.joints.map((j) => j.score))).toBeGreaterThan(0.01);
    expect(await text(page, '#stages')).toMatch(
      /predict \(crop, normalise, forward, flip test, decode\) [\d.]+ m?s/,
    );
    // The canvas holds the picture: scaled up to a 256-pixel shorter side, with the legend beside it.
    const size = await page.$eval('#picture', (canvas) => [
      (canvas as unknown as { width: number }).width,
      (canvas as unknown as { height: number }).height,
    ]);
    expect(size[0]).toBeGreaterThan(256);
    expect(size[1]).toBeGreaterThanOrEqual(256);
    expect(pageErrors).toEqual([]);
  });

  it('predicts the JPEG the generator wrote with the same joints and scores as hrnet predict', async () => {
    // The page decodes JPEGs with the runtime's own decoder: the browser's rounds some samples
    // differently (by up to 3 levels here), which moved a joint to another near-equal peak.
    const fromPage = await predictInPage(page, jpeg, 'serve-predicted-jpeg.png');
    const fromNode = JSON.parse(readFileSync(join(nodeResults, 'figure.json'), 'utf8')) as PredictionRecord;
    expect(fromPage.image).toBe('figure.jpg');
    expectSamePrediction(fromPage, fromNode);
    expect(Math.max(...fromNode.joints.map((j) => j.score))).toBeGreaterThan(0.01);
    expect(pageErrors).toEqual([]);
  });

  it('predicts on webcam frames one after another, with the frame rate, until stopped', async () => {
    await page.click('#webcam');
    await page.waitForFunction("Number(document.getElementById('webcam').dataset.frames) >= 2", {
      timeout: 900_000,
    });
    expect(await state(page), await text(page, '#error')).toBe('webcam');
    expect(await text(page, '#webcam')).toBe('Stop webcam');
    const record = JSON.parse(await text(page, '#keypoints')) as PredictionRecord & {
      width: number;
      height: number;
    };
    expect(record.image).toBe('webcam');
    expect([record.width, record.height]).toEqual([640, 480]);
    expect(record.joints).toHaveLength(16);
    for (const joint of record.joints) {
      // The crop is the whole frame made square (the model's aspect) and enlarged ×1.25: 800×800
      // about the frame's centre, so a joint may lie outside the frame but not outside the crop.
      expect(Math.abs(joint.x - 320)).toBeLessThanOrEqual(400);
      expect(Math.abs(joint.y - 240)).toBeLessThanOrEqual(400);
      expect(Number.isFinite(joint.score)).toBe(true);
    }
    await page.screenshot({ path: join(screenshots, 'serve-webcam.png'), fullPage: true });
    await page.click('#webcam');
    await page.waitForSelector('body[data-state="predicted"], body[data-state="error"]', {
      timeout: 900_000,
    });
    expect(await state(page), await text(page, '#error')).toBe('predicted');
    expect(await text(page, '#webcam')).toBe('Start webcam');
    expect(pageErrors).toEqual([]);
  });

  it('says so when the browser offers no WebGPU adapter', async () => {
    // Chromium on Linux without --enable-unsafe-webgpu: navigator.gpu exists, requestAdapter gives null.
    const plain = await launch([]);
    try {
      const errors: string[] = [];
      const noGpu = await openPage(plain, served.url, errors, 'serve-no-webgpu');
      await noGpu.screenshot({ path: join(screenshots, 'serve-no-webgpu.png'), fullPage: true });
      expect(await state(noGpu)).toBe('no-webgpu');
      expect(await text(noGpu, '#adapter')).toContain('navigator.gpu gave no adapter');
      expect(await text(noGpu, '#experiment')).toBe('w8_64x64');
      expect(await text(noGpu, '#stages')).toContain('open the WebGPU device: failed');
      expect(
        await noGpu.$eval('#image', (input) => (input as unknown as { disabled: boolean }).disabled),
      ).toBe(true);
    } finally {
      await plain.close();
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    served.process.kill('SIGTERM');
    expect(await stopped(served.process)).toEqual({ code: 0, signal: null });
    expect(served.stderr()).toContain('hrnet: stopped (SIGTERM)');
  });
});

describe('hrnet serve without --weights', async () => {
  const compiled = await compileTestExperiment('tiny/w8_64x64.yaml');

  it('tells the page to use the official initialisation and serves no weights', async () => {
    const served = await serve([compiled]);
    try {
      const session = await rawGet(served.url, '/session.json');
      expect(JSON.parse(session.body)).toEqual({
        experiment: 'w8_64x64',
        weights: null,
        seed: 0,
        tuning: false,
      });
      expect((await rawGet(served.url, '/weights.safetensors')).status).toBe(404);
    } finally {
      served.process.kill('SIGINT');
      expect(await stopped(served.process)).toEqual({ code: 0, signal: null });
    }
  });

  it('refuses weights that do not fit the program, before serving', () => {
    const work = join(dirname(compiled), 'bad');
    mkdirSync(work, { recursive: true });
    const wrong = join(work, 'w.safetensors');
    const tensors = testWeights(lowerTestExperiment('tiny/w8_64x64.yaml'), 1);
    tensors.delete('final_layer.bias');
    writeSafetensors(wrong, tensors);
    const result = runCli('hrnet', ['serve', compiled, '--weights', wrong, '--port', '0'], {
      timeoutMs: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^hrnet: .*w\.safetensors/);
    expect(result.stderr).toContain('missing 1: final_layer.bias');
  });
});
