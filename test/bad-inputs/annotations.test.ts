/**
 * Bad annotation, ground-truth, results and detection files: every row is one input, the command
 * (or loader call) that reads it, and what the user gets — exit 1 and one stderr line that starts
 * with the file's path and says what is wrong, or "works". The CLI prefix may be `error:` or
 * `hrnet:`; the rest of the line is matched exactly.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../runtime/data/dataset.ts';
import { jsonSyntaxError, lineAndColumn, readJson } from '../../runtime/data/read-json.ts';
import { writeSyntheticDataset } from '../../runtime/data/synthetic/write-dataset.ts';
import { compileTestExperiment } from '../helpers/compile.ts';

const root = new URL('../../', import.meta.url).pathname;
const fixtures = 'test/fixtures/bad-inputs/annotations';
const fixture = (name: string) => `${fixtures}/${name}`;
const work = mkdtempSync(join(tmpdir(), 'hrnet-bad-annotations-'));

interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `hrnet` from the repository root, as a user would. */
function hrnet(args: readonly string[], timeoutMs = 600_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${root}bin/hrnet.js`, ...args], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', HRNETC_DEBUG: '' },
      timeout: timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The one error line: `error: <file><problem>` (or `hrnet: …`). */
function errorLine(file: string, problem: RegExp): RegExp {
  return new RegExp(`^(error|hrnet): ${escapeRegExp(file)}${problem.source}$`);
}

/**
 * Exit 1 and exactly one stderr line matching the message, no stack trace. `noise` lets through
 * lines a command prints before it reaches the data (the GPU adapter's warnings when training).
 */
function expectOneError(result: CliResult, file: string, problem: RegExp, noise?: RegExp): void {
  const lines = result.stderr.split('\n').filter((l) => l !== '' && !noise?.test(l));
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(errorLine(file, problem));
  expect(result.stderr).not.toMatch(/^ {4}at /m);
  expect(result.stderr).not.toContain('internal error');
  expect(result.status).toBe(1);
}

type Expected = { readonly problem: RegExp } | { readonly works: (result: CliResult) => void };

interface FileRow {
  readonly input: string;
  readonly args: readonly string[];
  /** The file the message must start with (default: `input`). */
  readonly file?: string;
  readonly expected: Expected;
}

const cocoEval = (gt: string, results: string) => [
  'evaluate',
  '--dataset',
  'coco',
  '--gt',
  fixture(gt),
  '--results',
  fixture(results),
];
const mpiiEval = (gt: string, preds: string) => [
  'evaluate',
  '--dataset',
  'mpii',
  '--gt',
  fixture(gt),
  '--preds',
  fixture(preds),
];
const mpiiTable =
  '| preds | 100.000 | 100.000 | 100.000 | 50.000 | 100.000 | 100.000 | 100.000 | 96.296 | 14.815 |';

/** Files given directly to `hrnet evaluate`. */
const fileRows: readonly FileRow[] = [
  // COCO ground truth.
  {
    input: 'coco-gt.json + coco-results.json',
    args: cocoEval('coco-gt.json', 'coco-results.json'),
    expected: {
      works: (r) => expect(r.stdout.split('\n')[2]).toMatch(/^\| results \| 1\.000 \| 1\.000 \| 1\.000 \|/),
    },
  },
  {
    input: 'coco-gt-trailing-comma.json',
    args: cocoEval('coco-gt-trailing-comma.json', 'coco-results.json'),
    // The comma ends line 8 (232 characters); JSON.parse itself gives no position for this one.
    expected: { problem: /:8:232: invalid JSON: a comma before '\]': JSON allows no trailing comma/ },
  },
  {
    input: 'empty.json',
    args: cocoEval('empty.json', 'coco-results.json'),
    expected: { problem: /: empty file; expected COCO annotations as JSON/ },
  },
  {
    input: 'coco-gt-list.json',
    args: cocoEval('coco-gt-list.json', 'coco-results.json'),
    expected: { problem: /: must hold a COCO object \{images, annotations, categories\}, found a list of 1/ },
  },
  {
    input: 'coco-gt-no-categories.json',
    args: cocoEval('coco-gt-no-categories.json', 'coco-results.json'),
    expected: { problem: /: missing "categories"/ },
  },
  {
    input: 'coco-gt-keypoints-50.json',
    args: cocoEval('coco-gt-keypoints-50.json', 'coco-results.json'),
    expected: {
      problem: /: annotations\[1\]\.keypoints: expected 51 numbers \(17 keypoints × \[x, y, v\]\), found 50/,
    },
  },
  {
    input: 'coco-gt-bbox-string.json',
    args: cocoEval('coco-gt-bbox-string.json', 'coco-results.json'),
    expected: { problem: /: annotations\[0\]\.bbox\[2\]: expected a number, found a string \("45"\)/ },
  },
  {
    input: 'coco-gt-image-id-null.json',
    args: cocoEval('coco-gt-image-id-null.json', 'coco-results.json'),
    expected: { problem: /: images\[1\]\.id: expected a number, found null/ },
  },
  {
    input: 'coco-gt-unknown-image.json',
    args: cocoEval('coco-gt-unknown-image.json', 'coco-results.json'),
    expected: { problem: /: annotations\[1\]\.image_id: 7 is not the id of any of the 2 images/ },
  },
  {
    input: 'missing-gt.json (no such file)',
    args: cocoEval('missing-gt.json', 'coco-results.json'),
    file: fixture('missing-gt.json'),
    expected: { problem: /: cannot read COCO annotations: no such file/ },
  },
  // COCO results.
  {
    input: 'coco-results-object.json',
    args: cocoEval('coco-gt.json', 'coco-results-object.json'),
    expected: {
      problem:
        /: must hold a list of results \(\{image_id, category_id, keypoints, score\}\), found an object/,
    },
  },
  {
    input: 'coco-results-no-keypoints.json',
    args: cocoEval('coco-gt.json', 'coco-results-no-keypoints.json'),
    expected: { problem: /: \[1\]: missing "keypoints"/ },
  },
  {
    input: 'coco-results-no-image-id.json',
    args: cocoEval('coco-gt.json', 'coco-results-no-image-id.json'),
    expected: { problem: /: \[0\]: missing "image_id"/ },
  },
  {
    input: 'coco-results-score-string.json',
    args: cocoEval('coco-gt.json', 'coco-results-score-string.json'),
    expected: { problem: /: \[0\]\.score: expected a number, found a string \("0\.9"\)/ },
  },
  {
    input: 'coco-results-score-1e999.json',
    args: cocoEval('coco-gt.json', 'coco-results-score-1e999.json'),
    expected: {
      problem:
        /: \[1\]\.score: expected a number, found Infinity \(a number too large for a double, such as 1e999\)/,
    },
  },
  {
    input: 'coco-results-unknown-image.json',
    args: cocoEval('coco-gt.json', 'coco-results-unknown-image.json'),
    expected: {
      problem: new RegExp(
        `: \\[2\\]\\.image_id: 999 is not an image of ${escapeRegExp(fixture('coco-gt.json'))}`,
      ),
    },
  },
  {
    input: 'coco-results-keypoints-34.json',
    args: cocoEval('coco-gt.json', 'coco-results-keypoints-34.json'),
    expected: {
      problem: /: \[0\]\.keypoints: expected 51 numbers \(17 keypoints × \[x, y, score\]\), found 34/,
    },
  },
  {
    input: 'coco-results-empty-list.json',
    args: cocoEval('coco-gt.json', 'coco-results-empty-list.json'),
    expected: { problem: /: holds no results; there is nothing to evaluate/ },
  },
  {
    input: 'coco-results-nan.json',
    args: cocoEval('coco-gt.json', 'coco-results-nan.json'),
    expected: { problem: /:2:46: invalid JSON: NaN is not JSON \(write a number or null\)/ },
  },
  // MPII ground truth (JSON) and predictions.
  {
    input: 'mpii-gt.json + mpii-preds.json',
    args: mpiiEval('mpii-gt.json', 'mpii-preds.json'),
    expected: { works: (r) => expect(r.stdout.split('\n')[2]).toBe(mpiiTable) },
  },
  {
    input: 'mpii-gt-no-headboxes.json',
    args: mpiiEval('mpii-gt-no-headboxes.json', 'mpii-preds.json'),
    expected: { problem: /: missing "headboxes"/ },
  },
  {
    input: 'mpii-gt-15-joints.json',
    args: mpiiEval('mpii-gt-15-joints.json', 'mpii-preds.json'),
    expected: { problem: /: joints\[1\]: expected 16 joints \[x, y\] \(MPII has 16\), found 15/ },
  },
  {
    input: 'mpii-gt-lengths-differ.json',
    args: mpiiEval('mpii-gt-lengths-differ.json', 'mpii-preds.json'),
    expected: {
      problem:
        /: joints, joints_missing and headboxes must have one entry per annotation; they have 2, 1 and 2/,
    },
  },
  {
    input: 'mpii-gt-missing-flag-2.json',
    args: mpiiEval('mpii-gt-missing-flag-2.json', 'mpii-preds.json'),
    expected: { problem: /: joints_missing\[1\]\[9\]: expected 0 or 1, found 2/ },
  },
  {
    input: 'mpii-preds-no-preds.json',
    args: mpiiEval('mpii-gt.json', 'mpii-preds-no-preds.json'),
    expected: { problem: /: missing "preds"/ },
  },
  {
    input: 'mpii-preds-17-joints.json',
    args: mpiiEval('mpii-gt.json', 'mpii-preds-17-joints.json'),
    expected: { problem: /: preds\[1\]: expected 16 joints \[x, y\] \(MPII has 16\), found 17/ },
  },
  {
    input: 'mpii-preds-null.json',
    args: mpiiEval('mpii-gt.json', 'mpii-preds-null.json'),
    expected: { problem: /: preds\[1\]\[1\]\[1\]: expected a number, found null/ },
  },
  {
    input: 'mpii-preds-one.json',
    args: mpiiEval('mpii-gt.json', 'mpii-preds-one.json'),
    expected: {
      problem: new RegExp(
        `: holds 1 prediction but ${escapeRegExp(fixture('mpii-gt.json'))} holds 2 annotations; there must be one per annotation, in the same order`,
      ),
    },
  },
  {
    input: 'mpii-preds-truncated.json',
    args: mpiiEval('mpii-gt.json', 'mpii-preds-truncated.json'),
    // Cut after 200 bytes: line 1 is 11 characters and its newline, so the file ends at 2:189.
    expected: {
      problem: /:2:189: invalid JSON: unexpected end of the file, expected ',' or '\]' after a list element/,
    },
  },
  {
    input: 'coco-results.json given as MPII predictions',
    args: mpiiEval('mpii-gt.json', 'coco-results.json'),
    file: fixture('coco-results.json'),
    expected: {
      problem: /: must hold an object \{"preds": \[\[\[x, y\] × 16\] per annotation\]\}, found a list of 2/,
    },
  },
  // MPII ground truth as the official .mat.
  {
    input: 'mpii-gt.mat (written by make-mat-fixtures.ts from mpii-gt.json)',
    args: mpiiEval('mpii-gt.mat', 'mpii-preds.json'),
    expected: { works: (r) => expect(r.stdout.split('\n')[2]).toBe(mpiiTable) },
  },
  {
    input: 'mat-truncated.mat',
    args: mpiiEval('mat-truncated.mat', 'mpii-preds.json'),
    expected: {
      problem:
        /: truncated or corrupt MAT file: a data element at byte 1088 holds 5184 bytes but only 1904 remain/,
    },
  },
  {
    input: 'mat-truncated-compressed.mat',
    args: mpiiEval('mat-truncated-compressed.mat', 'mpii-preds.json'),
    expected: {
      problem:
        /: truncated or corrupt MAT file: a data element at byte 452 holds 4067 bytes but only 1540 remain/,
    },
  },
  {
    input: 'mat-corrupt-compressed.mat',
    args: mpiiEval('mat-corrupt-compressed.mat', 'mpii-preds.json'),
    expected: {
      problem:
        /: truncated or corrupt MAT file: the compressed element at byte 269 does not decompress \(.+\)/,
    },
  },
  {
    input: 'mat-not-mat.mat (JSON text)',
    args: mpiiEval('mat-not-mat.mat', 'mpii-preds.json'),
    file: fixture('mat-not-mat.mat'),
    expected: { problem: /: not a MATLAB v5 MAT file \(no MAT header; save it with MATLAB's -v7 or scipy\)/ },
  },
  {
    input: 'mat-short.mat',
    args: mpiiEval('mat-short.mat', 'mpii-preds.json'),
    expected: { problem: /: not a MAT file: 20 bytes, shorter than the 128-byte MAT header/ },
  },
  {
    input: 'mat-v73.mat (HDF5)',
    args: mpiiEval('mat-v73.mat', 'mpii-preds.json'),
    file: fixture('mat-v73.mat'),
    expected: {
      problem: /: a MATLAB v7\.3 \(HDF5\) MAT file; save it with -v7 \(or scipy's savemat\) instead/,
    },
  },
  {
    input: 'mat-other-layout.mat',
    args: mpiiEval('mat-other-layout.mat', 'mpii-preds.json'),
    expected: {
      problem:
        /: missing variables dataset_joints, jnt_missing, pos_gt_src, headboxes_src; expected the layout of MPII's gt_valid\.mat: .* \(it holds annolist, img_train\)/,
    },
  },
  {
    input: 'mat-no-dataset-joints.mat',
    args: mpiiEval('mat-no-dataset-joints.mat', 'mpii-preds.json'),
    expected: {
      problem: /: missing variable dataset_joints; .* \(it holds jnt_missing, pos_gt_src, headboxes_src\)/,
    },
  },
  {
    input: 'mat-wrong-dims.mat',
    args: mpiiEval('mat-wrong-dims.mat', 'mpii-preds.json'),
    expected: { problem: /: pos_gt_src is a numeric array 2×16×2; expected a numeric array 16×2×N/ },
  },
];

const fileOf = (row: FileRow) => row.file ?? fixture(row.input.split(' ')[0]!);

/**
 * Starts the commands two at a time (tsx start-up dominates and the machine has two cores), in
 * order; each row then awaits its own result.
 */
function startInOrder(commands: readonly (readonly string[])[], parallel = 2): Promise<CliResult>[] {
  const resolvers: ((result: CliResult) => void)[] = [];
  const results = commands.map(() => new Promise<CliResult>((resolve) => resolvers.push(resolve)));
  let next = 0;
  const lane = async () => {
    while (next < commands.length) {
      const k = next++;
      resolvers[k]!(await hrnet(commands[k]!));
    }
  };
  for (let i = 0; i < parallel; i++) void lane();
  return results;
}

describe('hrnet evaluate: one row per file', () => {
  let results: Promise<CliResult>[] = [];
  beforeAll(() => {
    results = startInOrder(fileRows.map((row) => row.args));
  });

  it.each(fileRows.map((row, i) => [row.input, row, i] as const))('%s', async (_, row, i) => {
    const result = await results[i]!;
    if ('works' in row.expected) {
      expect(result.status, result.stderr).toBe(0);
      row.expected.works(result);
    } else {
      expectOneError(result, fileOf(row), row.expected.problem);
    }
  });
});

// Dataset folders: a synthetic dataset, copied and broken one way per row.
const bases = { mpii: join(work, 'base-mpii'), coco: join(work, 'base-coco') };

function editJson(file: string, edit: (value: never) => unknown): void {
  writeFileSync(file, JSON.stringify(edit(JSON.parse(readFileSync(file, 'utf8')) as never)));
}

type MpiiEntry = Record<string, unknown> & { joints: number[][] };
type CocoFile = { annotations: Record<string, unknown>[]; images: { id: number; file_name: string }[] };

interface FolderRow {
  readonly input: string;
  readonly base: keyof typeof bases;
  readonly command: 'show' | 'test' | 'train';
  readonly edit: (dir: string) => void;
  /** The file the message must start with, in the folder. */
  readonly file: (dir: string) => string;
  readonly expected: Expected | ((dir: string) => RegExp);
}

const mpiiTrain = (dir: string) => join(dir, 'annot', 'train.json');
const mpiiValid = (dir: string) => join(dir, 'annot', 'valid.json');
const cocoTrain = (dir: string) => join(dir, 'annotations', 'person_keypoints_train.json');

const folderRows: readonly FolderRow[] = [
  {
    input: 'MPII annot/train.json as it is',
    base: 'mpii',
    command: 'show',
    edit: () => {},
    file: mpiiTrain,
    expected: {
      works: (r) => expect(r.stderr).toMatch(/^hrnet: sample 0 of train \(.*train_000001\.jpg\) → /),
    },
  },
  {
    input: 'MPII annotation without joints',
    base: 'mpii',
    command: 'show',
    edit: (dir) =>
      editJson(mpiiTrain(dir), (list: MpiiEntry[]) =>
        list.map((a, i) => (i === 1 ? { ...a, joints: undefined } : a)),
      ),
    file: mpiiTrain,
    expected: { problem: /: \[1\]: missing "joints"/ },
  },
  {
    input: 'MPII annotation with 17 joints',
    base: 'mpii',
    command: 'show',
    edit: (dir) =>
      editJson(mpiiTrain(dir), (list: MpiiEntry[]) =>
        list.map((a, i) => (i === 0 ? { ...a, joints: [...a.joints, [1, 2]] } : a)),
      ),
    file: mpiiTrain,
    expected: { problem: /: \[0\]\.joints: expected 16 joints \[x, y\] \(MPII has 16\), found 17/ },
  },
  {
    input: 'MPII annotation with a string in center',
    base: 'mpii',
    command: 'show',
    edit: (dir) =>
      editJson(mpiiTrain(dir), (list: MpiiEntry[]) =>
        list.map((a, i) => (i === 2 ? { ...a, center: ['40', 30] } : a)),
      ),
    file: mpiiTrain,
    expected: { problem: /: \[2\]\.center\[0\]: expected a number, found a string \("40"\)/ },
  },
  {
    input: 'MPII annotation without scale',
    base: 'mpii',
    command: 'show',
    edit: (dir) =>
      editJson(mpiiTrain(dir), (list: MpiiEntry[]) =>
        list.map((a, i) => (i === 3 ? { ...a, scale: undefined } : a)),
      ),
    file: mpiiTrain,
    expected: { problem: /: \[3\]: missing "scale"/ },
  },
  {
    input: 'MPII annot/train.json holding an object',
    base: 'mpii',
    command: 'show',
    edit: (dir) => editJson(mpiiTrain(dir), (list: MpiiEntry[]) => ({ annotations: list })),
    file: mpiiTrain,
    expected: {
      problem:
        /: must hold a list of MPII annotations \(\{image, center, scale, joints, joints_vis\}\), found an object/,
    },
  },
  {
    input: 'MPII image named by an annotation missing',
    base: 'mpii',
    command: 'show',
    edit: (dir) => rmSync(join(dir, 'images', 'train_000003.jpg')),
    file: mpiiTrain,
    expected: (dir) =>
      new RegExp(
        `: \\[2\\]\\.image: the image ${escapeRegExp(join(dir, 'images', 'train_000003.jpg'))} does not exist`,
      ),
  },
  {
    input: 'COCO person_keypoints_train.json as it is',
    base: 'coco',
    command: 'show',
    edit: () => {},
    file: cocoTrain,
    expected: {
      works: (r) => expect(r.stderr).toMatch(/^hrnet: sample 0 of train \(.*000000000001\.jpg\) → /),
    },
  },
  {
    input: 'COCO annotations with a stray comma',
    base: 'coco',
    command: 'show',
    edit: (dir) =>
      writeFileSync(
        cocoTrain(dir),
        readFileSync(cocoTrain(dir), 'utf8').replace('"keypoints":[', '"keypoints":[,'),
      ),
    file: cocoTrain,
    expected: (dir) => {
      const text = readFileSync(cocoTrain(dir), 'utf8');
      const before = text.slice(0, text.indexOf('[,') + 1);
      const line = before.split('\n').length;
      const column = before.length - before.lastIndexOf('\n');
      return new RegExp(`:${line}:${column}: invalid JSON: expected a value, found ','`);
    },
  },
  {
    input: 'COCO annotation with 50 keypoint numbers',
    base: 'coco',
    command: 'show',
    edit: (dir) =>
      editJson(cocoTrain(dir), (gt: CocoFile) => {
        const a = gt.annotations[2]!;
        a.keypoints = (a.keypoints as number[]).slice(0, 50);
        return gt;
      }),
    file: cocoTrain,
    expected: {
      problem: /: annotations\[2\]\.keypoints: expected 51 numbers \(17 keypoints × \[x, y, v\]\), found 50/,
    },
  },
  {
    input: 'COCO annotations without "annotations"',
    base: 'coco',
    command: 'show',
    edit: (dir) => editJson(cocoTrain(dir), (gt: CocoFile) => ({ ...gt, annotations: undefined })),
    file: cocoTrain,
    expected: { problem: /: missing "annotations"/ },
  },
  {
    input: 'COCO image named by the annotations missing',
    base: 'coco',
    command: 'show',
    edit: (dir) => rmSync(join(dir, 'images', 'train', '000000000002.jpg')),
    file: cocoTrain,
    expected: (dir) =>
      new RegExp(
        `: image id 2: the image ${escapeRegExp(join(dir, 'images', 'train', '000000000002.jpg'))} does not exist`,
      ),
  },
  {
    input: 'MPII valid image missing (hrnet test --data)',
    base: 'mpii',
    command: 'test',
    edit: (dir) => rmSync(join(dir, 'images', 'valid_000002.jpg')),
    file: mpiiValid,
    expected: (dir) =>
      new RegExp(
        `: \\[1\\]\\.image: the image ${escapeRegExp(join(dir, 'images', 'valid_000002.jpg'))} does not exist`,
      ),
  },
  {
    input: 'MPII gt_valid.json with fewer people than valid.json (hrnet test --data)',
    base: 'mpii',
    command: 'test',
    edit: (dir) =>
      editJson(join(dir, 'annot', 'gt_valid.json'), (gt: Record<string, unknown[]>) =>
        Object.fromEntries(Object.entries(gt).map(([k, v]) => [k, v.slice(0, 3)])),
      ),
    file: (dir) => join(dir, 'annot', 'gt_valid.json'),
    expected: (dir) =>
      new RegExp(
        `: holds 3 annotations but ${escapeRegExp(mpiiValid(dir))} holds 4; they must be the same people in the same order`,
      ),
  },
  {
    input: 'MPII gt_valid.mat truncated (hrnet test --data)',
    base: 'mpii',
    command: 'test',
    edit: (dir) => {
      rmSync(join(dir, 'annot', 'gt_valid.json'));
      cpSync(join(root, fixture('mat-truncated.mat')), join(dir, 'annot', 'gt_valid.mat'));
    },
    file: (dir) => join(dir, 'annot', 'gt_valid.mat'),
    expected: {
      problem:
        /: truncated or corrupt MAT file: a data element at byte 1088 holds 5184 bytes but only 1904 remain/,
    },
  },
  {
    input: 'MPII train image missing (hrnet train --data)',
    base: 'mpii',
    command: 'train',
    edit: (dir) => rmSync(join(dir, 'images', 'train_000005.jpg')),
    file: mpiiTrain,
    expected: (dir) =>
      new RegExp(
        `: \\[4\\]\\.image: the image ${escapeRegExp(join(dir, 'images', 'train_000005.jpg'))} does not exist`,
      ),
  },
];

let compiled = '';
let weights = '';

describe('hrnet show, test and train --data: one row per broken dataset folder', () => {
  beforeAll(async () => {
    writeSyntheticDataset({
      format: 'mpii',
      train: 6,
      validation: 4,
      seed: 5,
      size: [64, 64],
      out: bases.mpii,
    });
    writeSyntheticDataset({
      format: 'coco',
      train: 3,
      validation: 2,
      seed: 6,
      size: [96, 64],
      out: bases.coco,
    });
    compiled = await compileTestExperiment('tiny/w8_64x64.yaml');
    weights = join(work, 'w.safetensors');
    const init = await hrnet(['init-weights', compiled, '-o', weights]);
    expect(init.status, init.stderr).toBe(0);
  });

  it.each(folderRows.map((row, i) => [row.command, row.input, row, i] as const))(
    'hrnet %s: %s',
    async (command, _, row, i) => {
      const dir = join(work, `case-${i}`);
      cpSync(bases[row.base], dir, { recursive: true });
      row.edit(dir);
      const out = join(work, `out-${i}`);
      const args =
        command === 'show'
          ? ['show', dir, '--index', '0', '-o', join(out, 'sample.png')]
          : command === 'test'
            ? ['test', compiled, '--weights', weights, '--data', dir, '-o', out]
            : [
                'train',
                compiled,
                '--data',
                dir,
                'AUTO_RESUME',
                'False',
                'TRAIN.END_EPOCH',
                '1',
                'OUTPUT_DIR',
                out,
              ];
      mkdirSync(out, { recursive: true });
      const result = await hrnet(args);
      const expected = typeof row.expected === 'function' ? { problem: row.expected(dir) } : row.expected;
      if ('works' in expected) {
        expect(result.status, result.stderr).toBe(0);
        expected.works(result);
        expect(readFileSync(join(out, 'sample.png')).subarray(1, 4).toString()).toBe('PNG');
      } else {
        // Training opens the GPU before it reads the data: its adapter warnings and first line come first.
        const noise = command === 'train' ? /^(Warning: |hrnet: training )/ : undefined;
        expectOneError(result, row.file(dir), expected.problem, noise);
      }
    },
  );
});

describe('COCO detections (TEST.COCO_BBOX_FILE): loader calls', () => {
  const dir = join(work, 'coco-detections');
  const gtFile = () => join(dir, 'annotations', 'person_keypoints_val.json');
  const detections = (name: string, entries: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(entries));
    return () =>
      loadDataset({
        format: 'coco',
        root: dir,
        imageSet: 'val',
        aspectRatio: 0.75,
        detections: { file, imageThreshold: 0.5 },
      });
  };
  let ids: number[] = [];
  beforeAll(() => {
    writeSyntheticDataset({ format: 'coco', train: 1, validation: 2, seed: 7, size: [96, 64], out: dir });
    ids = (JSON.parse(readFileSync(gtFile(), 'utf8')) as CocoFile).images.map((i) => i.id);
  });
  const box = (imageId: number, score = 0.9, bbox = [10, 5, 30, 40]) => ({
    image_id: imageId,
    category_id: 1,
    bbox,
    score,
  });

  it('works: each detection above IMAGE_THRE is a sample with its score', () => {
    const samples = detections('ok.json', [box(ids[0]!, 0.9), box(ids[1]!, 0.7), box(ids[1]!, 0.2)])()
      .samples;
    expect(samples.map((s) => [s.imageId, s.score])).toEqual([
      [ids[0], 0.9],
      [ids[1], 0.7],
    ]);
  });

  it('an unknown image id', () => {
    const load = detections('unknown.json', [box(ids[0]!), box(999)]);
    expect(load).toThrow(`${join(dir, 'unknown.json')}: [1].image_id: 999 is not an image of ${gtFile()}`);
  });

  it('a box of no width', () => {
    expect(detections('flat.json', [box(ids[0]!, 0.9, [10, 5, 0, 40])])).toThrow(
      `${join(dir, 'flat.json')}: [0].bbox: width and height must be positive, found 0 × 40`,
    );
  });

  it('a detection without score', () => {
    expect(detections('no-score.json', [{ image_id: ids[0], category_id: 1, bbox: [1, 2, 3, 4] }])).toThrow(
      `${join(dir, 'no-score.json')}: [0]: missing "score"`,
    );
  });

  it('no detection above IMAGE_THRE', () => {
    expect(detections('low.json', [box(ids[0]!, 0.1), box(ids[1]!, 0.2)])).toThrow(
      `${join(dir, 'low.json')}: none of the 2 detections is a person (category_id 1) with a score of at least TEST.IMAGE_THRE 0.5`,
    );
  });
});

describe('JSON syntax errors: position and agreement with JSON.parse', () => {
  it('reports line and column of the first error', () => {
    const file = join(work, 'syntax.json');
    writeFileSync(file, '{\n  "a": [1, 2],\n  "b": {"c": tru}\n}\n');
    expect(() => readJson(file, 'a test file')).toThrow(
      `${file}:3:14: invalid JSON: expected a value, found 't'`,
    );
    writeFileSync(file, '{"a": "line\nbreak"}');
    expect(() => readJson(file, 'a test file')).toThrow(
      `${file}:1:12: invalid JSON: U+000A inside a string (control characters must be escaped, e.g. \\n)`,
    );
    writeFileSync(file, '\ufeff[1, 2]');
    expect(readJson(file, 'a test file')).toEqual([1, 2]);
  });

  it('lineAndColumn counts lines from 1 and columns from 1', () => {
    expect(lineAndColumn('ab\ncd\n', 0)).toEqual({ line: 1, column: 1 });
    expect(lineAndColumn('ab\ncd\n', 4)).toEqual({ line: 2, column: 2 });
    expect(lineAndColumn('ab\ncd\n', 6)).toEqual({ line: 3, column: 1 });
  });

  it('finds an error exactly when JSON.parse refuses the text', () => {
    const parses = (text: string) => {
      try {
        JSON.parse(text);
        return true;
      } catch {
        return false;
      }
    };
    const broken = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.constantFrom('', ',', ']', '}', '[', '{', '"', ':', '-', '0', '.', 'e', ' ', '\\', 'x'),
      )
      .map(([text, at, insert]) => {
        const k = at % (text.length + 1);
        // Delete one character or insert one, at k.
        return insert === 'x'
          ? text.slice(0, k) + text.slice(k + 1)
          : text.slice(0, k) + insert + text.slice(k);
      });
    fc.assert(
      fc.property(broken, (text) => {
        const error = jsonSyntaxError(text);
        expect(error === undefined).toBe(parses(text));
        if (error) {
          expect(error.offset).toBeGreaterThanOrEqual(0);
          expect(error.offset).toBeLessThanOrEqual(text.length);
        }
      }),
      { numRuns: 3000, seed: 1 },
    );
  });
});
