/**
 * Output paths and the device: every way writing a result or keeping the GPU can fail ends the command
 * with exit 1 and one line naming the path (no stack trace, no hang), and leaves the file named by -o
 * and any checkpoint exactly as they were. docs/bad-inputs.md lists the same cases for users.
 *
 * The first table runs the real CLI on paths that fail before the GPU is opened (about 2 s a row);
 * the lock is tested with a small holder process (test/fixtures/bad-inputs/outputs/lock-holder.ts)
 * and with two real `hrnet train` runs; the last group trains the tiny experiment on 8 synthetic
 * images, resuming from a checkpoint written here, so that each failure comes in its second epoch.
 *
 * A full disk and a read-only file system are real ones (a small tmpfs, a read-only bind mount):
 * those rows are skipped where `mount` is not allowed. A lost device is simulated through the test
 * hook HRNETC_TEST_LOSE_DEVICE_AFTER_BATCHES (cli/commands/training.ts).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../common/atomic-write.ts';
import { lockFileName, lockOutputDirectory } from '../../common/output-lock.ts';
import { UserError } from '../../common/user-error.ts';
import { writeSyntheticDataset } from '../../runtime/data/synthetic/write-dataset.ts';
import { DeviceGuard, DeviceLostError, DeviceOutOfMemoryError } from '../../runtime/gpu/device-guard.ts';
import { loadManifest } from '../../runtime/program-loader.ts';
import { checkTrainingBatchFits } from '../../runtime/train/batch-fit.ts';
import { writeCheckpoint } from '../../runtime/train/checkpoint.ts';
import { officialInitialWeights } from '../../runtime/weights/init-weights.ts';
import { type NamedTensor, writeSafetensors } from '../../runtime/weights/safetensors.ts';
import { compileTestExperiment } from '../helpers/compile.ts';

const root = new URL('../../', import.meta.url).pathname;
const holderScript = join(root, 'test/fixtures/bad-inputs/outputs/lock-holder.ts');

interface Run {
  readonly status: number | null;
  readonly stderr: string;
}

/** `hrnet ARGS` as a user runs it, with extra environment variables (the test hooks). */
function hrnet(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 600_000): Run {
  const result = spawnSync(process.execPath, [join(root, 'bin/hrnet.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, FORCE_COLOR: '0', HRNETC_DEBUG: '', ...env },
  });
  return { status: result.status, stderr: result.stderr };
}

/** Lines that report progress, not errors (the adapter line, resuming, kernel preparation, Dawn). */
const progressLine = /^(hrnet: (training|resuming|prepared|loaded|took over) |Warning: )/;

/** Exit 1 and exactly one error line, matching `message` after `error: ` (or `hrnet: `), no stack. */
function expectOneLineError(run: Run, message: RegExp): void {
  expect(run.status, run.stderr).toBe(1);
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '' && !progressLine.test(l));
  expect(lines, run.stderr).toHaveLength(1);
  const line = lines[0]!;
  expect(line).toMatch(/^(error|hrnet): /);
  expect(line.replace(/^(error|hrnet): /, '')).toMatch(message);
  expect(run.stderr).not.toMatch(/^\s+at |internal error/m);
}

/** Every file under `dir` (recursively, or `dir` itself) with a hash of its bytes; {} when it is gone. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  if (existsSync(dir) && !statSync(dir).isDirectory())
    return { '.': createHash('sha256').update(readFileSync(dir)).digest('hex') };
  const walk = (at: string, prefix: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path, `${prefix}${name}/`);
      else files[`${prefix}${name}`] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  };
  if (existsSync(dir)) walk(dir, '');
  return files;
}

/** Temporary files, probes and locks that must not outlive a command. */
function leftovers(dir: string): string[] {
  return Object.keys(snapshot(dir)).filter((f) => /\.tmp-\d+-|\.hrnet-probe-|hrnet\.lock|\.partial-/.test(f));
}

/** Runs `mount ARGS`; true when it worked (root with CAP_SYS_ADMIN). */
function mount(args: readonly string[]): boolean {
  return spawnSync('mount', args, { stdio: 'ignore' }).status === 0;
}

const mounted: string[] = [];
const mountRoot = mkdtempSync(join(tmpdir(), 'hrnetc-outputs-'));
const canMount = (() => {
  const probe = join(mountRoot, 'probe');
  mkdirSync(probe);
  if (!mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe])) return false;
  spawnSync('umount', [probe]);
  return true;
})();

/** A pid no process has (a child that has ended). */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

let compiled: string;
let scratch: string;
let weights: string;

beforeAll(async () => {
  compiled = await compileTestExperiment('tiny/w8_64x64.yaml');
  scratch = mkdtempSync(join(root, '.test-output', 'outputs-'));
  weights = join(scratch, 'weights.safetensors');
  writeSafetensors(weights, officialInitialWeights(loadManifest(compiled).parameters, 0));
});

afterAll(() => {
  for (const dir of mounted.reverse()) spawnSync('umount', ['-l', dir]);
  rmSync(mountRoot, { recursive: true, force: true });
});

interface PathRow {
  readonly case: string;
  /** Makes what the row needs in its own folder `dir`; returns the paths that must not change. */
  readonly setup: (dir: string) => string[];
  readonly args: (dir: string) => string[];
  readonly message: RegExp;
  readonly needsMount?: boolean;
}

const pathRows: PathRow[] = [
  {
    case: 'forward: -o under a regular file (ENOTDIR, also as root)',
    setup: (dir) => {
      writeFileSync(join(dir, 'afile'), 'keep');
      return [join(dir, 'afile')];
    },
    args: (dir) => [
      'forward',
      compiled,
      '--weights',
      weights,
      '--input',
      weights,
      '-o',
      `${dir}/afile/y.safetensors`,
    ],
    message: /^cannot write -o \S+\/afile\/y\.safetensors: \S+\/afile is a file, not a folder$/,
  },
  {
    case: 'forward: -o is an existing folder',
    setup: (dir) => {
      mkdirSync(join(dir, 'out'));
      writeFileSync(join(dir, 'out', 'inside'), 'keep');
      return [join(dir, 'out')];
    },
    args: (dir) => ['forward', compiled, '--weights', weights, '--input', weights, '-o', `${dir}/out`],
    message: /^-o \S+\/out is a folder; name a file to write$/,
  },
  {
    case: 'forward: -o is the --input file',
    setup: (dir) => {
      cpSync(weights, join(dir, 'x.safetensors'));
      return [join(dir, 'x.safetensors')];
    },
    args: (dir) => [
      'forward',
      compiled,
      '--weights',
      weights,
      '--input',
      `${dir}/x.safetensors`,
      '-o',
      `${dir}/./x.safetensors`,
    ],
    message: /^-o \S+x\.safetensors is also the --input file; write the output elsewhere$/,
  },
  {
    case: 'init-weights: -o under /proc (Node 20 mkdir -p never returns there)',
    setup: () => [],
    args: () => ['init-weights', compiled, '-o', '/proc/self/hrnetc-test/w.safetensors'],
    message:
      /^cannot write -o \/proc\/self\/hrnetc-test\/w\.safetensors: \/proc\/self does not accept new files or folders \(ENOENT\)$/,
  },
  {
    case: 'init-weights: -o an existing file on a read-only file system',
    needsMount: true,
    setup: (dir) => {
      mkdirSync(join(dir, 'source'));
      mkdirSync(join(dir, 'ro'));
      cpSync(weights, join(dir, 'source', 'w.safetensors'));
      if (!mount(['--bind', join(dir, 'source'), join(dir, 'ro')])) throw new Error('bind mount failed');
      mounted.push(join(dir, 'ro'));
      if (!mount(['-o', 'remount,bind,ro', join(dir, 'ro')])) throw new Error('read-only remount failed');
      return [join(dir, 'ro')];
    },
    args: (dir) => ['init-weights', compiled, '-o', `${dir}/ro/w.safetensors`, '--seed', '7'],
    message: /^cannot write -o \S+\/ro\/w\.safetensors: the file system is read-only \(EROFS\)$/,
  },
  {
    case: 'predict: -o DIR is an existing file',
    setup: (dir) => {
      writeFileSync(join(dir, 'results'), 'keep');
      return [join(dir, 'results')];
    },
    args: (dir) => [
      'predict',
      compiled,
      '--weights',
      weights,
      join(root, 'test/fixtures/images/person.png'),
      '-o',
      `${dir}/results`,
    ],
    message: /^-o \S+\/results is a file; it must be a folder \(or a name for a new one\)$/,
  },
  {
    case: 'predict: two images would write the same DIR/<name>.json',
    setup: (dir) => {
      mkdirSync(join(dir, 'a'));
      mkdirSync(join(dir, 'b'));
      cpSync(join(root, 'test/fixtures/images/person.png'), join(dir, 'a', 'person.png'));
      cpSync(join(root, 'test/fixtures/images/person.png'), join(dir, 'b', 'person.png'));
      return [dir];
    },
    args: (dir) => [
      'predict',
      compiled,
      '--weights',
      weights,
      `${dir}/a/person.png`,
      `${dir}/b/person.png`,
      '-o',
      `${dir}/results`,
    ],
    message:
      /^\S+\/a\/person\.png and \S+\/b\/person\.png would both write \S+\/results\/person\.json and \.png; predict them into different -o folders$/,
  },
  {
    case: 'train: OUTPUT_DIR is a file',
    setup: (dir) => {
      writeFileSync(join(dir, 'output'), 'keep');
      return [join(dir, 'output')];
    },
    args: (dir) => ['train', compiled, '--synthetic', '16', 'OUTPUT_DIR', `${dir}/output`],
    message:
      /^cannot create the training output folder \S+\/output\/mpii\/pose_hrnet\/w8_64x64: \S+\/output is a file, not a folder \(check OUTPUT_DIR\)$/,
  },
  {
    case: 'train-step: -o under a regular file',
    setup: (dir) => {
      writeFileSync(join(dir, 'afile'), 'keep');
      return [join(dir, 'afile')];
    },
    args: (dir) => [
      'train-step',
      compiled,
      '--weights',
      weights,
      '--batch',
      weights,
      '-o',
      `${dir}/afile/r.safetensors`,
    ],
    message: /^cannot write -o \S+\/afile\/r\.safetensors: \S+\/afile is a file, not a folder$/,
  },
];

describe('output paths that cannot be written (checked before any work)', () => {
  pathRows.forEach((row, i) => {
    it.skipIf(row.needsMount && !canMount)(row.case, () => {
      const dir = join(scratch, `path-${i}`);
      mkdirSync(dir);
      const kept = row.setup(dir);
      const before = kept.map(snapshot);
      const run = hrnet(row.args(dir), {}, 900_000);
      expectOneLineError(run, row.message);
      expect(kept.map(snapshot)).toEqual(before);
      expect(leftovers(dir)).toEqual([]);
    });
  });
});

describe('writeFileAtomic on a full disk', () => {
  it.skipIf(!canMount)('throws one line naming the file; the previous file and no temporary remain', () => {
    const dir = join(mountRoot, 'full');
    mkdirSync(dir);
    expect(mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir])).toBe(true);
    mounted.push(dir);
    const path = join(dir, 'checkpoint.safetensors');
    writeFileAtomic(path, new Uint8Array(40_000).fill(7));
    const before = snapshot(dir);
    expect(() => writeFileAtomic(path, new Uint8Array(50_000))).toThrow(
      new UserError(
        `cannot write ${path}: the disk is full (ENOSPC); the previous checkpoint.safetensors is unchanged`,
      ),
    );
    expect(snapshot(dir)).toEqual(before);
  });
});

describe('the output lock', () => {
  /** Starts the holder fixture; resolves once it holds the lock. */
  async function startHolder(dir: string, mode: string): Promise<{ child: ChildProcess; out: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', holderScript, dir, mode], { cwd: root });
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
    });
    child.stderr!.on('data', (d) => {
      out += String(d);
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', () => {
        if (out.includes('locked')) resolve();
      });
      child.on('exit', () => reject(new Error(`the holder ended: ${out}`)));
    });
    return { child, out };
  }
  /** How a child ended: its exit code, or the signal that killed it (`SIGTERM`, `SIGSEGV`, …). */
  const exitOf = (child: ChildProcess) =>
    new Promise<number | string | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? child.signalCode);
      else child.on('exit', (code, signal) => resolve(code ?? signal));
    });

  it('refuses a second holder, naming the pid; released on SIGINT (ended by it: 130 in a shell), normal exit and errors', async () => {
    const dir = join(scratch, 'lock-holder');
    const { child } = await startHolder(dir, 'wait');
    let refusal: unknown;
    try {
      lockOutputDirectory(dir, { command: 'hrnet train' });
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(UserError);
    expect((refusal as Error).message).toMatch(
      new RegExp(`^${dir} is in use by another lock-holder \\(pid ${child.pid}, since \\S+\\); wait for it`),
    );
    child.kill('SIGINT');
    expect(await exitOf(child)).toBe('SIGINT');
    expect(existsSync(join(dir, lockFileName))).toBe(false);

    for (const [mode, status] of [
      ['exit', 0],
      ['throw', 1],
    ] as const) {
      const ended = spawnSync(process.execPath, ['--import', 'tsx', holderScript, dir, mode], {
        cwd: root,
        encoding: 'utf8',
      });
      expect(ended.stdout).toContain('locked');
      expect(ended.status, mode).toBe(status);
      expect(existsSync(join(dir, lockFileName)), mode).toBe(false);
    }
  }, 600_000);

  it('takes over a stale lock: its pid has ended, was reused by another process, or it is not a lock', () => {
    const dir = join(scratch, 'lock-stale');
    mkdirSync(dir);
    const lockPath = join(dir, lockFileName);
    const stale = { pid: deadPid(), started: '2020-01-01T00:00:00.000Z', host: hostname(), command: 'x' };
    for (const holder of [stale, { ...stale, pid: process.pid, processStart: '1' }]) {
      writeFileSync(lockPath, JSON.stringify(holder));
      const lock = lockOutputDirectory(dir);
      expect(lock.tookOverFrom?.pid).toBe(holder.pid);
      expect(JSON.parse(readFileSync(lockPath, 'utf8')).pid).toBe(process.pid);
      lock.release();
      expect(existsSync(lockPath)).toBe(false);
    }
    writeFileSync(lockPath, '');
    const lock = lockOutputDirectory(dir);
    expect(lock.tookOverFrom).toBe(undefined);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a second hrnet train on the same output refuses at once; SIGTERM ends the first and frees it', async () => {
    const data = join(scratch, 'lock-data');
    writeSyntheticDataset({ format: 'mpii', train: 8, validation: 8, seed: 0, size: [128, 128], out: data });
    const output = join(scratch, 'lock-train');
    const dir = join(output, 'mpii', 'pose_hrnet', 'w8_64x64');
    mkdirSync(dir, { recursive: true });
    const ended = deadPid();
    writeFileSync(
      join(dir, lockFileName),
      JSON.stringify({
        pid: ended,
        started: new Date().toISOString(),
        host: hostname(),
        command: 'hrnet train',
      }),
    );
    const args = [
      'train',
      compiled,
      '--data',
      data,
      'TRAIN.BATCH_SIZE_PER_GPU',
      '4',
      'TRAIN.END_EPOCH',
      '50',
    ];
    const first = spawn(process.execPath, [join(root, 'bin/hrnet.js'), ...args, 'OUTPUT_DIR', output], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let firstErr = '';
    first.stderr!.on('data', (d) => {
      firstErr += String(d);
    });
    try {
      const started = Date.now();
      while (!firstErr.includes('took over')) {
        if (Date.now() - started > 600_000 || first.exitCode !== null)
          throw new Error(`the first run did not take the lock: ${firstErr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(firstErr).toContain(`from pid ${ended}, which has ended`);
      const second = hrnet([...args, 'OUTPUT_DIR', output], {}, 900_000);
      expectOneLineError(
        second,
        new RegExp(
          `^\\S+/mpii/pose_hrnet/w8_64x64 is in use by another hrnet train \\(pid ${first.pid}, since \\S+\\); wait for it to end or stop it, or write elsewhere \\(hrnet\\.lock there names the holder\\)$`,
        ),
      );
      expect(first.exitCode).toBe(null);
    } finally {
      first.kill('SIGTERM');
    }
    expect(await exitOf(first), firstErr).toBe('SIGTERM');
    expect(firstErr).toMatch(/hrnet: stopped by SIGTERM; /);
    expect(leftovers(output)).toEqual([]);
  }, 1_200_000);
});

describe('the device', () => {
  it('a batch too large for the device names the buffer, its size, the limit and a batch that fits', () => {
    const step = {
      arenaBytesPerImage: 4_915_200,
      parameterBytes: 1_000_000,
      fixedBytes: 600_000,
      tensors: [
        { label: '%3 bn1', bytes: 100_000 },
        { label: '%1 conv1', bytes: 262_144 },
      ],
    } as unknown as Parameters<typeof checkTrainingBatchFits>[1];
    const limits = { maxBufferSize: 4_294_967_295, maxStorageBufferBindingSize: 134_217_728 };
    expect(() => checkTrainingBatchFits(limits, step, 512)).not.toThrow();
    expect(() => checkTrainingBatchFits(limits, step, 1000)).toThrow(
      "a training batch of 1000 images is too large for this GPU: its activations need one buffer of 4.58 GiB (4.69 MiB per image), over this GPU's maxBufferSize of 4 GiB; and the activation 'conv1' needs 250 MiB in one binding (256 KiB per image), over this GPU's maxStorageBufferBindingSize of 128 MiB; the largest that fits is 512: set TRAIN.BATCH_SIZE_PER_GPU 512 or lower",
    );
    expect(() => checkTrainingBatchFits(limits, step, 600, 4)).toThrow(
      /the largest that fits is 512: set TRAIN\.BATCH_SIZE_PER_GPU 128 \(× 4 GPUS\) or lower$/,
    );
  });

  /** A stand-in device: `lose()` resolves `lost`; `failNext` makes the next popped scope an error. */
  function fakeDevice() {
    let lose: (info: GPUDeviceLostInfo) => void = () => {};
    const scopes: (GPUError | null)[] = [];
    const device = {
      lost: new Promise<GPUDeviceLostInfo>((resolve) => {
        lose = resolve;
      }),
      pushErrorScope: (): undefined => {
        scopes.push(null);
      },
      popErrorScope: async () => scopes.pop() ?? null,
      failNext: (filter: 'validation' | 'out-of-memory', message: string) => {
        scopes[filter === 'validation' ? scopes.length - 1 : scopes.length - 2] = { message } as GPUError;
      },
    };
    return {
      device,
      lose: (reason: GPUDeviceLostReason, message: string) => lose({ reason, message } as GPUDeviceLostInfo),
    };
  }

  it('a lost device ends pending work at once with one line (no hang), and so does any later work', async () => {
    const { device, lose } = fakeDevice();
    const guard = new DeviceGuard(device, {
      lost: () => '; the last checkpoint is out/checkpoint.safetensors (epoch 1)',
    });
    const never = guard.run('training step 1 of epoch 2', () => new Promise<never>(() => {}));
    lose('destroyed', 'device was destroyed');
    const expected = new DeviceLostError(
      'the GPU device was lost: device was destroyed; the last checkpoint is out/checkpoint.safetensors (epoch 1)',
    );
    await expect(never).rejects.toThrow(expected);
    await expect(guard.run('training step 2 of epoch 2', async () => 1)).rejects.toThrow(expected);
  });

  it('an allocation the device cannot make becomes one line saying what ran and what to lower', async () => {
    const { device } = fakeDevice();
    const guard = new DeviceGuard(device, { outOfMemory: () => '; lower TRAIN.BATCH_SIZE_PER_GPU (now 64)' });
    await expect(
      guard.run('training step 1 of epoch 1', async () => {
        device.failNext(
          'out-of-memory',
          'Out of memory allocating 2 GiB\n - While calling [Device].CreateBuffer',
        );
      }),
    ).rejects.toThrow(
      new DeviceOutOfMemoryError(
        'the GPU ran out of memory during training step 1 of epoch 1 (Out of memory allocating 2 GiB); lower TRAIN.BATCH_SIZE_PER_GPU (now 64)',
      ),
    );
    await expect(guard.run('a step', async () => 3)).resolves.toBe(3);
  });
});

describe('hrnet train on the GPU: a full disk, a lost device, a batch too large', () => {
  let data: string;
  /** OUTPUT_DIR of a run that has finished epoch 1 (its checkpoint written here, not trained). */
  function outputAfterEpoch1(output: string): string {
    const dir = join(output, 'mpii', 'pose_hrnet', 'w8_64x64');
    mkdirSync(dir, { recursive: true });
    const manifest = loadManifest(compiled);
    const state = officialInitialWeights(manifest.parameters, 0);
    const moments = new Map<string, NamedTensor>();
    for (const p of manifest.parameters) {
      const zero = { shape: p.shape, data: new Float32Array(p.shape.reduce((n, d) => n * d, 1)) };
      moments.set(`optimizer.exp_avg.${p.name}`, zero);
      moments.set(`optimizer.exp_avg_sq.${p.name}`, zero);
    }
    writeCheckpoint(
      dir,
      { epoch: 1, perf: 0, bestPerf: 0, steps: 2, optimizer: 'adam', model: 'pose_hrnet' },
      state,
      moments,
    );
    return dir;
  }
  const trainArgs = (output: string, extra: string[] = []) => [
    'train',
    compiled,
    '--data',
    data,
    ...['TRAIN.BATCH_SIZE_PER_GPU', '4', 'TEST.BATCH_SIZE_PER_GPU', '8', 'WORKERS', '1'],
    ...['TRAIN.END_EPOCH', '2', 'OUTPUT_DIR', output],
    ...extra,
  ];

  beforeAll(() => {
    data = join(scratch, 'data8');
    writeSyntheticDataset({ format: 'mpii', train: 8, validation: 8, seed: 0, size: [128, 128], out: data });
  });

  it.skipIf(!canMount)(
    'disk full while writing the checkpoint: one line naming it; the previous checkpoint stays, no temporary files',
    () => {
      const output = join(mountRoot, 'train-full');
      mkdirSync(output);
      // Room for the epoch-1 checkpoint and half a megabyte, not for a second checkpoint beside it.
      const checkpointBytes = statSync(
        join(outputAfterEpoch1(join(scratch, 'sizing')), 'checkpoint.safetensors'),
      ).size;
      expect(
        mount(['-t', 'tmpfs', '-o', `size=${Math.ceil(checkpointBytes / 1024) + 512}k`, 'tmpfs', output]),
      ).toBe(true);
      mounted.push(output);
      const dir = outputAfterEpoch1(output);
      const before = snapshot(dir);
      const run = hrnet(trainArgs(output), {}, 900_000);
      expectOneLineError(
        run,
        /^cannot write \S+\/mpii\/pose_hrnet\/w8_64x64\/checkpoint\.safetensors: the disk is full \(ENOSPC\); the previous checkpoint\.safetensors is unchanged$/,
      );
      expect(snapshot(dir)).toEqual(before);
      expect(leftovers(output)).toEqual([]);
    },
    1_800_000,
  );

  it('a device lost during training: one line with the reason and the last checkpoint, which stays as it was', () => {
    const output = join(scratch, 'train-lost');
    const dir = outputAfterEpoch1(output);
    const before = snapshot(dir);
    const run = hrnet(trainArgs(output), { HRNETC_TEST_LOSE_DEVICE_AFTER_BATCHES: '1' }, 900_000);
    expectOneLineError(
      run,
      /^the GPU device was lost: device was destroyed; the last checkpoint is \S+\/mpii\/pose_hrnet\/w8_64x64\/checkpoint\.safetensors \(epoch 1\)$/,
    );
    expect(snapshot(dir)).toEqual(before);
    expect(leftovers(output)).toEqual([]);
  }, 1_800_000);

  it('a batch too large for the device: one line before any GPU memory is used; the checkpoint stays', () => {
    const many = join(scratch, 'data1000');
    cpSync(data, many, { recursive: true });
    const annotations = JSON.parse(readFileSync(join(many, 'annot', 'train.json'), 'utf8')) as unknown[];
    writeFileSync(
      join(many, 'annot', 'train.json'),
      JSON.stringify(Array.from({ length: 1000 }, (_, i) => annotations[i % annotations.length])),
    );
    const output = join(scratch, 'train-big');
    const dir = outputAfterEpoch1(output);
    const before = snapshot(dir);
    const args = trainArgs(output, ['TRAIN.BATCH_SIZE_PER_GPU', '1000']);
    args[args.indexOf('--data') + 1] = many;
    const run = hrnet(args, {}, 900_000);
    expectOneLineError(
      run,
      /^a training batch of 1000 images is too large for this GPU: .*(maxBufferSize|maxStorageBufferBindingSize) of [\d.]+ [KMGT]iB.*; the largest that fits is \d+: set TRAIN\.BATCH_SIZE_PER_GPU \d+ or lower$/,
    );
    expect(snapshot(dir)).toEqual(before);
    expect(leftovers(output)).toEqual([]);
  }, 1_800_000);
});
