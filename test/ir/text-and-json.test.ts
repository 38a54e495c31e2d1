import { readdirSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../compiler/config/load-experiment.ts';
import { lineColumnAt, makeSourceText } from '../../compiler/diagnostics/source-text.ts';
import { graphFromJson, graphToJson } from '../../compiler/ir/json.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { printGraph } from '../../compiler/ir/print.ts';
import { emitArtifacts, emitKinds, lowerExperiment } from '../../compiler/pipeline.ts';

const experimentsDir = new URL('../../experiments/', import.meta.url);
const hrnetExperiments = readdirSync(experimentsDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.yaml') && !/\/res\d+_/.test(f))
  .sort();

function lowered(relative: string) {
  const loaded = loadExperiment(new URL(relative, experimentsDir).pathname);
  if (!loaded.ok) throw new Error('invalid experiment');
  const result = lowerExperiment(loaded.experiment);
  if (!result.ok) throw new Error(result.message);
  return { experiment: loaded.experiment, graph: result.graph };
}

function parseText(text: string, name = 'test.ir') {
  return parseGraph(makeSourceText(name, text));
}

describe('text form: print → parse → print is the identity', () => {
  for (const file of hrnetExperiments) {
    it(file, () => {
      const { graph } = lowered(file);
      const text = printGraph(graph, { header: ['header'] });
      const parsed = parseText(text);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.graph).toEqual(graph);
      expect(printGraph(parsed.graph, { header: ['header'] })).toBe(text);
    });
  }

  it('reads a hand-written graph', () => {
    const text = readFileSync(new URL('../fixtures/ir/residual.ir', import.meta.url), 'utf8');
    const parsed = parseText(text);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.graph.name).toBe('small');
    expect(parsed.graph.nodes.map((n) => n.op)).toEqual([
      'input',
      'parameter',
      'conv2d',
      'parameter',
      'parameter',
      'parameter',
      'parameter',
      'batch_norm',
      'add',
      'relu',
      'upsample_nearest',
      'output',
    ]);
    expect(parsed.graph.nodes[8]!.inputs).toEqual([7, 0]);
    expect(parsed.graph.nodes[2]!.module).toBe('conv');
  });

  it.each([
    [
      '%1: f32[N,4,8,8] = conv2d(%0, @conv.weight) {kernel=3, pad=1, stride=1}  # conv',
      '%1: f32[N,4,8,8] = conv3d(%0, @conv.weight) {kernel=3, pad=1, stride=1}  # conv',
      'E302',
      '5:22',
      "unknown op 'conv3d'",
    ],
    [
      '%3: f32[N,4,8,8] = add(%2, %0)',
      '%3: f32[N,4,8,8] = add(%2, %9)',
      'E304',
      '11:30',
      '%9 is not defined before this line',
    ],
    [
      '%5: f32[N,4,16,16] = upsample',
      '%5: f32[N,4,15,16] = upsample',
      'E306',
      '13:3',
      'type f32[N,4,15,16] but its inputs give f32[N,4,16,16]',
    ],
    ['{kernel=3, pad=1, stride=1}', '{kernel=3, pad=1}', 'E306', '5:3', 'missing attribute stride'],
    [
      '%3: f32[N,4,8,8] = add(%2, %0)',
      '%3: f32[N,4,8,8] = add(%2, %0, %1)',
      'E306',
      '11:3',
      'takes 2 inputs, has 3',
    ],
    ['  %6: f32[N,4,16,16] = output(%5)  # output\n', '', 'E306', '1:1', 'the graph has no output'],
    ['= input()', '= input(', 'E101', '3:30', 'IR syntax error'],
  ])('locates errors: %#', (from, to, code, where, message) => {
    const text = readFileSync(new URL('../fixtures/ir/residual.ir', import.meta.url), 'utf8').replace(
      from,
      to,
    );
    const parsed = parseText(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    const first = parsed.diagnostics[0]!;
    const at = lineColumnAt(first.span!.source, first.span!.start);
    expect({ code: first.code, where: `${at.line}:${at.column}` }).toEqual({ code, where });
    expect(first.message).toContain(message);
  });
});

describe('graph.json', () => {
  it('round-trips and matches schemas/ir.schema.json', () => {
    const { graph } = lowered('mpii/w32_256x256.yaml');
    const json = graphToJson(graph);
    expect(graphFromJson(json)).toEqual(graph);
    const schema = JSON.parse(
      readFileSync(new URL('../../schemas/ir.schema.json', import.meta.url), 'utf8'),
    ) as object;
    const validate = new Ajv({ allErrors: true, strict: true }).compile(schema);
    expect(validate(JSON.parse(json)), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
  });

  it('refuses a document that is not valid IR', () => {
    const { graph } = lowered('tiny/w8_64x64.yaml');
    const broken = JSON.parse(graphToJson(graph)) as { nodes: { inputs: number[] }[] };
    broken.nodes[3]!.inputs = [50];
    expect(() => graphFromJson(JSON.stringify({ ...broken, format: 'hrnetc-ir', version: 1 }))).toThrow(
      /invalid IR JSON/,
    );
  });
});

describe('emitted files', () => {
  it('are deterministic: compiling twice gives identical bytes', async () => {
    const first = lowered('tiny/w8_96x64.yaml');
    const kinds = new Set(emitKinds);
    const a = await emitArtifacts({ ...first, inputName: 'w8_96x64.yaml' }, kinds);
    const b = await emitArtifacts({ ...lowered('tiny/w8_96x64.yaml'), inputName: 'w8_96x64.yaml' }, kinds);
    expect(a.map((x) => x.path)).toEqual(
      expect.arrayContaining([
        'model.ir',
        'graph.json',
        'graph.dot',
        'graph.svg',
        'summary.txt',
        'summary.json',
        'forward.ts',
        'manifest.json',
        'package.json',
      ]),
    );
    expect(a.filter((x) => x.path.startsWith('kernels/')).length).toBeGreaterThan(10);
    expect(b).toEqual(a);
  });

  it('summary.json has params, gflops and op counts; the DOT has clusters per stage, module and branch', async () => {
    const artifacts = await emitArtifacts(
      { ...lowered('coco/w32_256x192.yaml'), inputName: 'w32.yaml' },
      new Set(['summary', 'dot'] as const),
    );
    const summary = JSON.parse(artifacts.find((a) => a.path === 'summary.json')!.content as string) as Record<
      string,
      unknown
    >;
    expect(summary).toMatchObject({
      params: 28_536_113,
      gflops: 7.12,
      ops: { conv2d: 293, batch_norm: 292, upsample_nearest: 28 },
    });
    const dot = artifacts.find((a) => a.path === 'graph.dot')!.content as string;
    for (const label of [
      'label="stage3"',
      'label="module 3"',
      'label="branch 2"',
      'label="fuse → 1"',
      'label="stem"',
      'label="N×64×64×48"'.replace('N×', ''),
    ]) {
      expect(dot).toContain(label);
    }
  });
});
