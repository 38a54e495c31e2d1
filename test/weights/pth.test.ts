/**
 * Reading torch.save checkpoints without Python (runtime/weights/pth.ts): every fixture made by
 * test/fixtures/pth/make_pth_fixtures.py (torch 1.13) loads with exactly the values of its
 * safetensors twin, or is refused as it should be; damaged files are UserErrors, never crashes.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../common/user-error.ts';
import { parseWeightFile, readWeightFile, readWeights } from '../../runtime/weights/read-weights.ts';
import { readSafetensors, tensorSource } from '../../runtime/weights/safetensors.ts';
import { runCli } from '../cli/run-cli.ts';
import { compileTestExperiment } from '../helpers/compile.ts';

const dir = new URL('../fixtures/pth/', import.meta.url).pathname;
const fixture = (name: string) => join(dir, name);

function expectSameTensors(pth: string, twin: string): void {
  const got = readWeights(fixture(pth));
  const want = readSafetensors(fixture(twin));
  expect([...got.keys()]).toEqual([...want.keys()]);
  for (const [name, tensor] of want) {
    expect(got.get(name)!.shape, name).toEqual(tensor.shape);
    expect(got.get(name)!.data, name).toEqual(tensor.data);
  }
}

describe('readWeights on torch.save files', () => {
  for (const format of ['zip', 'legacy'] as const) {
    it(`reads a ${format} state_dict, int64 num_batches_tracked included`, () => {
      expectSameTensors(`state_dict_${format}.pth`, 'state_dict.safetensors');
      const file = readWeightFile(fixture(`state_dict_${format}.pth`));
      expect(file.format).toBe(format);
      expect(file.pth!.layout).toBe('a plain state_dict');
      expect(file.pth!.strippedModulePrefix).toBe(false);
      expect(file.dtypes.get('conv1.weight')).toBe('float32');
      expect(file.dtypes.get('bn1.num_batches_tracked')).toBe('int64');
      expect(file.tensors.get('bn1.num_batches_tracked')!.data[0]).toBe(1234);
      expect(tensorSource(file.tensors)).toBe(fixture(`state_dict_${format}.pth`));
    });

    it(`takes a ${format} training checkpoint's 'state_dict' and removes 'module.'`, () => {
      expectSameTensors(`checkpoint_${format}.pth`, 'checkpoint.safetensors');
      const { pth } = readWeightFile(fixture(`checkpoint_${format}.pth`));
      expect(pth!.checkpointKey).toBe('state_dict');
      expect(pth!.strippedModulePrefix).toBe(true);
      expect(pth!.otherKeys).toEqual(['epoch', 'model', 'best_state_dict', 'perf', 'optimizer']);
    });

    it(`converts ${format} float16, bfloat16, float64 and int32 storages to float32`, () => {
      expectSameTensors(`dtypes_${format}.pth`, 'dtypes.safetensors');
      const { dtypes } = readWeightFile(fixture(`dtypes_${format}.pth`));
      expect(Object.fromEntries(dtypes)).toEqual({
        half: 'float16',
        bfloat16: 'bfloat16',
        double: 'float64',
        int32: 'int32',
        scalar: 'float32',
        empty: 'float32',
      });
    });

    it(`materialises ${format} views of one storage (slices, transposes, steps, broadcasts)`, () => {
      expectSameTensors(`views_${format}.pth`, 'views.safetensors');
    });

    it(`refuses a ${format} pickle that names os.system`, () => {
      const path = fixture(`forbidden_${format}.pth`);
      expect(() => readWeights(path)).toThrow(UserError);
      expect(() => readWeights(path)).toThrow(
        `${path}: refuses to load: the pickle names os.system, which a tensor checkpoint does not need (like torch.load(weights_only=True))`,
      );
    });
  }

  it('reads a torch zip re-zipped with deflate', () => {
    expectSameTensors('state_dict_deflated.pth', 'state_dict.safetensors');
  });

  it('refuses a pickled module and a pickle that is not torch.save', () => {
    expect(() => readWeights(fixture('module_object.pth'))).toThrow(
      /module_object\.pth: refuses to load: the pickle names torch\.nn\.modules\.conv\.Conv2d/,
    );
    expect(() => readWeights(fixture('plain.pkl'))).toThrow(
      /plain\.pkl: is a Python pickle, but not a PyTorch checkpoint/,
    );
  });

  it('refuses a zip whose state_dict is empty', () => {
    const path = 'test/fixtures/bad-inputs/weights/pytorch-zip.pth';
    expect(() => readWeights(path)).toThrow(`${path}: holds an empty dict: no tensors`);
  });

  it('names an unknown opcode and its offset', () => {
    const bytes = readFileSync(fixture('forbidden_legacy.pth'));
    const header = bytes.indexOf(Buffer.from('cos\n'));
    const bad = Buffer.concat([bytes.subarray(0, header), Buffer.from([0x21])]);
    expect(() => parseWeightFile(bad, 'x.pth')).toThrow(
      `x.pth: damaged pickle at byte ${header}: opcode 0x21 ('!') is not one torch.save writes`,
    );
  });

  for (const name of ['state_dict_zip.pth', 'state_dict_legacy.pth', 'views_legacy.pth']) {
    it(`refuses every truncation of ${name} with a UserError`, () => {
      const bytes = readFileSync(fixture(name));
      for (let length = 0; length < bytes.length; length += 7) {
        expect(() => parseWeightFile(bytes.subarray(0, length), name), `${length} bytes`).toThrow(UserError);
      }
    });
  }

  for (const name of ['state_dict_zip.pth', 'checkpoint_legacy.pth', 'state_dict_deflated.pth']) {
    it(`loads or refuses with a UserError every damaged ${name} (fuzz)`, () => {
      const bytes = new Uint8Array(readFileSync(fixture(name)));
      const damage = fc.oneof(
        fc.record({ truncate: fc.nat({ max: bytes.length - 1 }) }),
        fc.record({
          flips: fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
        }),
      );
      fc.assert(
        fc.property(damage, (d) => {
          let input: Uint8Array;
          if ('truncate' in d) input = bytes.slice(0, d.truncate);
          else {
            input = bytes.slice();
            for (const [at, mask] of d.flips) input[at]! ^= mask;
          }
          try {
            parseWeightFile(input, name);
          } catch (e) {
            if (!(e instanceof UserError)) throw e;
            expect(e.message.startsWith(`${name}: `)).toBe(true);
          }
        }),
        { seed: 20261201, numRuns: 200 },
      );
    });
  }
});

describe('hrnet inspect', async () => {
  const compiled = await compileTestExperiment('tiny/w8_64x64.yaml');

  it('lists format, layout and tensors', () => {
    const path = fixture('checkpoint_zip.pth');
    const result = runCli('hrnet', ['inspect', path]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${path}: PyTorch zip checkpoint (torch.save, PyTorch ≥ 1.6)`);
    expect(result.stdout).toContain("layout: a checkpoint dict; weights from its 'state_dict'");
    expect(result.stdout).toContain(
      "every name started with 'module.' (DataParallel): the prefix is removed",
    );
    expect(result.stdout).toMatch(/conv1\.weight\s+float32\s+16x3x3x3/);
    expect(result.stdout).toMatch(/bn1\.num_batches_tracked\s+int64\s+scalar/);
  });

  it('says that weights match a compiled experiment', () => {
    const weights = join(mkdtempSync(join(tmpdir(), 'hrnet-inspect-')), 'w.safetensors');
    expect(runCli('hrnet', ['init-weights', compiled, '-o', weights]).status).toBe(0);
    const result = runCli('hrnet', ['inspect', weights, '--program', compiled]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`${weights}: safetensors`);
    expect(result.stdout).toMatch(/conv1\.weight\s+float32\s+64x3x3x3/);
    expect(result.stdout).toMatch(/matches experiment w8_64x64 \(.*\): all \d+ parameters/);
  });

  it('says when weights do not match a compiled experiment', () => {
    const result = runCli('hrnet', ['inspect', fixture('state_dict_legacy.pth'), '--program', compiled]);
    expect(result.status).toBe(1);
    expect(result.stdout).toContain('PyTorch legacy checkpoint');
    expect(result.stderr).toMatch(/weights do not match the model \(missing \d+: .*wrong shape/);
  });
});
