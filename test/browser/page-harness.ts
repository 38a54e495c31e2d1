/** What the browser tests share: `hrnet serve` as a child process, and headless chromium with WebGPU. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const root = new URL('../../', import.meta.url).pathname;
export const screenshots = join(root, '.test-output', 'browser');
const chromium = '/usr/bin/chromium';

/**
 * WebGPU on a machine without a GPU: Debian's chromium exposes no WebGPU adapter by default on Linux;
 * --enable-unsafe-webgpu lifts that, and these flags make it SwiftShader, the software Vulkan driver
 * chromium ships (lavapipe through VK_ICD_FILENAMES is ignored: chromium still picks SwiftShader).
 */
export const webgpuFlags = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  // Chromium's built-in test camera (a moving pattern), granted without a prompt.
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

export interface Served {
  readonly process: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
}

/** `hrnet serve … --port 0`, resolved once it has printed its URL (its first stdout line). */
export async function serve(args: readonly string[]): Promise<Served> {
  const child = spawn(process.execPath, [join(root, 'bin/hrnet.js'), 'serve', ...args, '--port', '0'], {
    cwd: root,
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) =>
      reject(new Error(`hrnet serve exited with ${code} before its URL: ${stderr}`)),
    );
  });
  return { process: child, url, stderr: () => stderr };
}

/** Headless chromium; --no-sandbox because CI runs as root, where chromium's sandbox refuses to start. */
export async function launch(flags: readonly string[] = webgpuFlags): Promise<Browser> {
  // Never a skip: without chromium these suites fail, naming the setup script.
  if (!existsSync(chromium))
    throw new Error(`${chromium} is missing; run \`bash scripts/setup-system.sh\` (installs chromium)`);
  return puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', ...flags],
    protocolTimeout: 900_000,
  });
}

/** A new tab whose uncaught errors and console errors are collected in `errors`. */
export async function newPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return page;
}

/** What the page is doing (<body data-state>). */
export async function state(page: Page): Promise<string | undefined> {
  return page.$eval('body', (body) => body.dataset.state);
}

export async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (element) => element.textContent ?? '');
}
