import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../runtime/weights/safetensors.ts';
import { compileTestExperiment } from '../helpers/compile.ts';
import { testInput } from '../helpers/test-weights.ts';
import { runCli } from './run-cli.ts';

describe('hrnet forward, init-weights and predict', async () => {
  const compiled = await compileTestExperiment('tiny/w8_96x64.yaml');
  const work = mkdtempSync(join(tmpdir(), 'hrnet-cli-'));
  const weights = join(work, 'w.safetensors');

  it('init-weights writes the official initialisation by official names', () => {
    const result = runCli('hrnet', ['init-weights', compiled, '-o', weights, '--seed', '7']);
    expect(result.status, result.stderr).toBe(0);
    const tensors = readSafetensors(weights);
    expect(tensors.get('bn1.weight')!.data.every((v) => v === 1)).toBe(true);
    expect(tensors.get('bn1.running_var')!.data.every((v) => v === 1)).toBe(true);
    expect(tensors.get('final_layer.bias')!.data.every((v) => v === 0)).toBe(true);
    const conv = tensors.get('stage2.0.branches.1.0.conv1.weight')!.data;
    const std = Math.sqrt(conv.reduce((s, v) => s + v * v, 0) / conv.length);
    expect(std).toBeGreaterThan(0.0008);
    expect(std).toBeLessThan(0.0012);
  });

  it('forward reads `input` and writes `output` for any batch size', () => {
    const input = join(work, 'x.safetensors');
    writeSafetensors(input, [['input', { shape: [3, 3, 96, 64], data: testInput(3 * 3 * 96 * 64, 1) }]]);
    const output = join(work, 'y.safetensors');
    const result = runCli('hrnet', [
      'forward',
      compiled,
      '--weights',
      weights,
      '--input',
      input,
      '-o',
      output,
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(readSafetensors(output).get('output')!.shape).toEqual([3, 17, 24, 16]);
  });

  it('forward names what is wrong with the input and the weights', () => {
    const bad = join(work, 'bad.safetensors');
    writeSafetensors(bad, [['input', { shape: [1, 3, 64, 64], data: new Float32Array(3 * 64 * 64) }]]);
    const shape = runCli('hrnet', [
      'forward',
      compiled,
      '--weights',
      weights,
      '--input',
      bad,
      '-o',
      join(work, 'z.safetensors'),
    ]);
    expect(shape.status).toBe(1);
    expect(shape.stderr).toContain('input is 1x3x64x64; this program takes N x 3 x 96 x 64');
    const tensors = readSafetensors(weights);
    tensors.delete('final_layer.bias');
    tensors.set('conv1.weight', { shape: [1], data: new Float32Array(1) });
    tensors.set('extra.weight', { shape: [1], data: new Float32Array(1) });
    const broken = join(work, 'broken.safetensors');
    writeSafetensors(broken, tensors);
    const result = runCli('hrnet', [
      'forward',
      compiled,
      '--weights',
      broken,
      '--input',
      bad,
      '-o',
      join(work, 'z.safetensors'),
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('missing 1: final_layer.bias');
    expect(result.stderr).toContain('wrong shape 1: conv1.weight (file 1, model 64x3x3x3)');
    expect(result.stderr).toContain('unexpected 1: extra.weight');
  });

  it('predict writes joints (official names and order) and a picture, for PNG and JPEG', () => {
    const rgba = new Uint8Array(80 * 60 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 31) % 256));
    const jpegPath = join(work, 'person.jpg');
    writeFileSync(jpegPath, jpeg.encode({ data: rgba, width: 80, height: 60 }, 90).data);
    const out = join(work, 'pred');
    const result = runCli('hrnet', [
      'predict',
      compiled,
      jpegPath,
      '--weights',
      weights,
      '--bbox',
      '10,5,40,50',
      '-o',
      out,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'person.json'), 'utf8')) as {
      joints: { name: string }[];
      center: number[];
    };
    expect(json.joints.map((j) => j.name).slice(0, 3)).toEqual(['nose', 'left_eye', 'right_eye']);
    expect(json.joints).toHaveLength(17);
    expect(json.center).toEqual([30, 30]);
    expect(readFileSync(join(out, 'person.png')).subarray(1, 4).toString()).toBe('PNG');
  });
});
