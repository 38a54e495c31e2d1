import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prng } from '../../common/prng.ts';
import { encodePng, readImage } from '../../runtime/image/image.ts';
import type { PredictionRecord } from '../../runtime/prediction-record.ts';
import type { Manifest } from '../../runtime/program.ts';
import { officialInitialWeights } from '../../runtime/weights/init-weights.ts';
import { readSafetensors, writeSafetensors } from '../../runtime/weights/safetensors.ts';
import { runCli } from '../cli/run-cli.ts';
import { compileTestExperiment } from '../helpers/compile.ts';
import { launch, newPage, screenshots, serve, state, text } from './page-harness.ts';

/** Steps short enough for SwiftShader, long enough for the loss to move. */
const run = { steps: 6, batchSize: 4, figures: 4, seed: 7 } as const;

async function openPage(browser: Browser, url: string, errors: string[]): Promise<Page> {
  const page = await newPage(browser, errors);
  await page.setViewport({ width: 1100, height: 900 });
  await page.goto(url);
  await page.waitForSelector('body:not([data-state="loading"])', { timeout: 900_000 });
  return page;
}

/** Fills the training inputs and presses Train; resolves with each step's loss once it has finished. */
async function trainInPage(page: Page): Promise<{ losses: number[]; seconds: number }> {
  for (const [id, value] of [
    ['steps', run.steps],
    ['batch-size', run.batchSize],
    ['figures', run.figures],
    ['seed', run.seed],
  ] as const)
    await page.$eval(
      `#${id}`,
      (input, v) => ((input as unknown as { value: string }).value = String(v)),
      value,
    );
  const started = performance.now();
  await page.click('#train');
  await page.waitForSelector('body[data-state="trained"], body[data-state="error"]', { timeout: 900_000 });
  const seconds = (performance.now() - started) / 1000;
  expect(await state(page), await text(page, '#error')).toBe('trained');
  const losses = await page.$$eval('#train-log tbody tr', (rows) =>
    rows.map((row) => Number((row as unknown as { dataset: { loss: string } }).dataset.loss)),
  );
  return { losses, seconds };
}

describe('hrnet serve: the page trains on generated figures and shows the experiment', async () => {
  const compiled = await compileTestExperiment('tiny/w8_64x64.yaml');
  const manifest = JSON.parse(readFileSync(join(compiled, 'manifest.json'), 'utf8')) as Manifest;
  const work = join(dirname(compiled), 'serve-train');
  const downloads = join(work, 'downloads');
  const images = join(work, 'images');
  mkdirSync(downloads, { recursive: true });
  mkdirSync(images, { recursive: true });
  mkdirSync(screenshots, { recursive: true });

  let served: { process: ChildProcess; url: string };
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  let downloaded: string;

  beforeAll(async () => {
    // Without --weights: the page starts from the official initialisation, seed 0.
    served = await serve([compiled]);
    browser = await launch();
  });

  afterAll(async () => {
    await browser?.close();
    if (served && served.process.exitCode === null) served.process.kill('SIGKILL');
  });

  it('shows the summary table, the resolved config and the IR graph, which pans and zooms', async () => {
    page = await openPage(browser, served.url, pageErrors);
    expect(await state(page), await text(page, '#error')).toBe('ready');
    await page.waitForSelector('#graph svg', { timeout: 60_000 });
    const summary = JSON.parse(readFileSync(join(compiled, 'summary.json'), 'utf8')) as {
      params: number;
      gflops: number;
      memory: { dispatches: number; training: { dispatches: number } };
    };
    const rows = await page.$$eval('#summary tr', (trs) =>
      trs.map((tr) => [tr.querySelector('th')?.textContent, tr.querySelector('td')?.textContent]),
    );
    expect(rows).toContainEqual(['parameters', summary.params.toLocaleString('en-US')]);
    expect(summary.params).toBe(544_496);
    expect(rows).toContainEqual(['GFLOPs per image', String(summary.gflops)]);
    expect(rows).toContainEqual(['forward dispatches', String(summary.memory.dispatches)]);
    expect(rows).toContainEqual(['training-step dispatches', String(summary.memory.training.dispatches)]);
    expect(await text(page, '#config')).toBe(readFileSync(join(compiled, 'config.yaml'), 'utf8'));
    // graph.svg itself: one node per IR value, and conv1 among them.
    expect(await page.$$eval('#graph svg g.node', (nodes) => nodes.length)).toBeGreaterThan(100);
    expect(await text(page, '#graph svg')).toContain('conv1');

    const transform = () =>
      page.$eval('#graph svg', (svg) => (svg as unknown as { style: { transform: string } }).style.transform);
    const scale = async () =>
      Number(
        await page.$eval(
          '#graph',
          (view) => (view as unknown as { dataset: { scale: string } }).dataset.scale,
        ),
      );
    const fitted = await scale();
    // The mouse acts at viewport coordinates: the graph must be on screen.
    await page.$eval('#graph', (element) => element.scrollIntoView({ block: 'center' }));
    // Zoom about the first node (the input), so the screenshot shows the graph, not its margins.
    const view = (await page.$eval('#graph svg g.node', (element) => {
      const r = element.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
    })) as { x: number; y: number };
    await page.mouse.move(view.x, view.y);
    await page.mouse.wheel({ deltaY: -400 });
    await page.waitForFunction(
      // A string: this file is type-checked without the DOM's types.
      `Number(document.getElementById('graph').dataset.scale) > ${fitted}`,
    );
    const zoomed = await scale();
    expect(zoomed).toBeGreaterThan(fitted * 1.5);
    const beforeDrag = await transform();
    await page.mouse.down();
    await page.mouse.move(view.x - 200, view.y + 40, { steps: 4 });
    await page.mouse.up();
    const afterDrag = await transform();
    expect(afterDrag).not.toBe(beforeDrag);
    // Dragging pans without zooming.
    expect(await scale()).toBe(zoomed);
    await page.screenshot({ path: join(screenshots, 'serve-train-graph.png') });
    expect(pageErrors).toEqual([]);
  });

  it('trains with the experiment optimizer, charting loss and accuracy, and the loss falls', async () => {
    expect(await text(page, '#train-settings')).toContain(
      'Adam (β = 0.9, 0.999; ε = 1e-8; no weight decay), LR 0.002',
    );
    const { losses, seconds } = await trainInPage(page);
    process.stderr.write(
      `serve-train: pipelines + ${run.steps} steps of ${run.batchSize} took ${seconds.toFixed(1)} s\n`,
    );
    await page.screenshot({ path: join(screenshots, 'serve-train-trained.png'), fullPage: true });
    expect(losses).toHaveLength(run.steps);
    for (const loss of losses) expect(Number.isFinite(loss) && loss > 0).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    const stages = await text(page, '#stages');
    expect(stages).toMatch(/prepare the training pipelines \(\d+ dispatches\) [\d.]+ m?s/);
    expect(stages).toContain(`draw ${run.figures} synthetic figures (seed ${run.seed})`);
    expect(await text(page, '#train-status')).toMatch(/^Step 6: loss .* images\/s$/);
    // The chart has its axes' titles, ticks and a legend for both series.
    const chart = await text(page, '#train-chart svg');
    for (const label of ['step', 'loss', 'accuracy', 'training loss', 'training accuracy'])
      expect(chart).toContain(label);
    expect(
      await page.$$eval('#train-chart svg polyline, #train-chart svg path', (lines) => lines.length),
    ).toBeGreaterThan(1);
    expect(pageErrors).toEqual([]);
  });

  it('downloads the trained state as safetensors that hrnet forward runs', async () => {
    const cdp = await browser.target().createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', {
      behavior: 'allow',
      downloadPath: downloads,
      eventsEnabled: true,
    });
    const done = new Promise<void>((resolve, reject) => {
      cdp.on('Browser.downloadProgress', (event: { state: string }) => {
        if (event.state === 'completed') resolve();
        if (event.state === 'canceled') reject(new Error('the download was canceled'));
      });
    });
    expect(await text(page, '#download-weights')).toBe(`Download weights (${run.steps} steps, safetensors)`);
    await page.click('#download-weights');
    await done;
    const files = readdirSync(downloads);
    expect(files).toEqual([`w8_64x64-trained-${run.steps}-steps.safetensors`]);
    downloaded = join(downloads, files[0]!);
    const tensors = readSafetensors(downloaded);
    // Every parameter and running statistic by its official name, in state_dict order.
    expect([...tensors.keys()].sort()).toEqual(manifest.parameters.map((p) => p.name).sort());
    for (const [name, tensor] of tensors) expect(tensor.data.every(Number.isFinite), name).toBe(true);
    // Trained: not the official initialisation the page started from.
    const initial = officialInitialWeights(manifest.parameters, 0);
    for (const name of ['final_layer.bias', 'conv1.weight', 'bn1.running_mean'])
      expect([...tensors.get(name)!.data]).not.toEqual([...initial.get(name)!.data]);

    const input = join(work, 'input.safetensors');
    const prng = new Prng(3);
    writeSafetensors(input, [
      [
        'input',
        { shape: [2, 3, 64, 64], data: Float32Array.from({ length: 2 * 3 * 64 * 64 }, () => prng.normal()) },
      ],
    ]);
    const output = join(work, 'output.safetensors');
    const forward = runCli('hrnet', [
      'forward',
      compiled,
      '--weights',
      downloaded,
      '--input',
      input,
      '-o',
      output,
    ]);
    expect(forward.status, forward.stderr).toBe(0);
    const heatmaps = readSafetensors(output).get('output')!;
    expect(heatmaps.shape).toEqual([2, 16, 16, 16]);
    expect(heatmaps.data.every(Number.isFinite)).toBe(true);
    expect(Math.max(...heatmaps.data.map(Math.abs))).toBeGreaterThan(0);
  });

  it('predicts with the trained weights, as hrnet predict does with the downloaded file', async () => {
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
    const png = join(images, 'figure.png');
    writeFileSync(png, encodePng(readImage(join(work, 'synth', 'images', 'valid_000001.jpg'))));
    const predict = runCli(
      'hrnet',
      ['predict', compiled, basename(png), '--weights', downloaded, '-o', join(work, 'predict')],
      {
        cwd: images,
      },
    );
    expect(predict.status, predict.stderr).toBe(0);
    const fromNode = JSON.parse(
      readFileSync(join(work, 'predict', 'figure.json'), 'utf8'),
    ) as PredictionRecord;

    const [input] = await page.$$('input[type="file"]');
    await input!.uploadFile(png);
    await page.waitForSelector('body[data-state="predicted"], body[data-state="error"]', {
      timeout: 300_000,
    });
    await page.screenshot({ path: join(screenshots, 'serve-train-predicted.png'), fullPage: true });
    expect(await state(page), await text(page, '#error')).toBe('predicted');
    const fromPage = JSON.parse(await text(page, '#keypoints')) as PredictionRecord;
    expect(fromPage.joints).toHaveLength(fromNode.joints.length);
    fromPage.joints.forEach((joint, k) => {
      const expected = fromNode.joints[k]!;
      expect(Math.abs(joint.x - expected.x), `${joint.name} x`).toBeLessThanOrEqual(0.5);
      expect(Math.abs(joint.y - expected.y), `${joint.name} y`).toBeLessThanOrEqual(0.5);
      expect(Math.abs(joint.score - expected.score), `${joint.name} score`).toBeLessThanOrEqual(1e-4);
    });
    expect(pageErrors).toEqual([]);
  });
});
