import { describe, expect, it } from 'vitest';
import { Prng } from '../../common/prng.ts';
import type { Graph } from '../../compiler/ir/graph.ts';
import { interpretGraph } from '../../compiler/ir/interpret.ts';
import { elementsPerItem, tensorType } from '../../compiler/ir/tensor-type.ts';
import { verifyGraph } from '../../compiler/ir/verify.ts';
import { LayerBuilder } from '../../compiler/models/layers.ts';
import { fuseReluMask } from '../../compiler/passes/fuse-relu-mask.ts';
import { buildTrainingGraph, trainingOutput } from '../../compiler/passes/training-graph.ts';

const batch = 3;

/** A small forward graph: input [N, 2, 8, 8] through `body`, whose result is the "heatmaps". */
function forward(body: (b: LayerBuilder, x: number) => number): Graph {
  const b = new LayerBuilder('g');
  const x = b.input(tensorType(['N', 2, 8, 8]));
  b.output(body(b, x));
  return b.graph.build();
}

interface Values {
  parameters: Map<string, Float64Array>;
  input: Float64Array;
  extra: Map<string, Float64Array>;
}

function randomValues(graph: Graph, seed: number): Values {
  const prng = new Prng(seed);
  const random = (n: number, low = -1, high = 1) =>
    Float64Array.from({ length: n }, () => prng.uniform(low, high));
  const parameters = new Map<string, Float64Array>();
  for (const node of graph.nodes.filter((n) => n.op === 'parameter')) {
    const n = elementsPerItem(node.type);
    parameters.set(node.module, node.attrs.role === 'running_var' ? random(n, 0.5, 1.5) : random(n));
  }
  const inputNode = graph.nodes.find((n) => n.op === 'input' && n.module === 'input')!;
  const target = graph.nodes.find((n) => n.module === 'target')!;
  return {
    parameters,
    input: random(batch * elementsPerItem(inputNode.type)),
    extra: new Map([
      ['target', random(batch * elementsPerItem(target.type))],
      [
        'target_weight',
        random(batch * elementsPerItem(graph.nodes.find((n) => n.module === 'target_weight')!.type), 0, 1),
      ],
    ]),
  };
}

function run(graph: Graph, values: Values) {
  const all = interpretGraph(graph, {
    batch,
    input: values.input,
    parameters: values.parameters,
    extraInputs: values.extra,
  });
  const byName = new Map(
    graph.nodes.filter((n) => n.op === 'output').map((n) => [n.module, all[n.id]!.data]),
  );
  return byName;
}

/**
 * Compares every gradient the training graph outputs with central finite differences of its loss,
 * on a sample of entries, in float64.
 */
function checkGradients(body: (b: LayerBuilder, x: number) => number, seed = 1): void {
  const graph = buildTrainingGraph(forward(body), { useTargetWeight: true });
  expect(verifyGraph(graph)).toEqual([]);
  const values = randomValues(graph, seed);
  const analytic = run(graph, values);
  const loss = (v: Values) => run(graph, v).get(trainingOutput.loss)![0]!;
  const eps = 1e-6;
  const prng = new Prng(seed + 100);
  const targets: [string, Float64Array][] = [...values.parameters].filter(([name]) =>
    analytic.has(trainingOutput.gradient(name)),
  );
  targets.push(['input', values.input]);
  expect(targets.length).toBeGreaterThan(1);
  for (const [name, data] of targets) {
    const gradient = analytic.get(trainingOutput.gradient(name))!;
    expect(gradient, name).toBeDefined();
    for (let sample = 0; sample < 6; sample++) {
      const i = Math.floor(prng.next() * data.length);
      const original = data[i]!;
      data[i] = original + eps;
      const up = loss(values);
      data[i] = original - eps;
      const down = loss(values);
      data[i] = original;
      const numeric = (up - down) / (2 * eps);
      expect(Math.abs(gradient[i]! - numeric), `${name}[${i}]: ${gradient[i]} vs ${numeric}`).toBeLessThan(
        1e-7 + 1e-5 * Math.abs(numeric),
      );
    }
  }
}

describe('every gradient rule against finite differences (float64 interpreter)', () => {
  it('conv2d 3x3 stride 2 with bias, and the loss (with target weights)', () => {
    checkGradients((b, x) => b.conv(x, 'conv', 3, 3, 2, 1, true));
  });
  it('conv2d 1x1 without bias, and 3x3 stride 1 without padding', () => {
    checkGradients((b, x) => b.conv(b.conv(x, 'a', 4, 1, 1, 0), 'b', 2, 3, 1, 0));
  });
  it('batch_norm in training mode (through the batch statistics)', () => {
    checkGradients((b, x) => b.batchNorm(b.conv(x, 'conv', 3, 3, 1, 1), 'bn'));
  });
  it('relu', () => {
    checkGradients((b, x) => b.relu(b.conv(x, 'conv', 3, 3, 1, 1, true), 'relu'));
  });
  it('add, with a value read twice (gradients accumulate)', () => {
    checkGradients((b, x) => {
      const y = b.conv(x, 'conv', 2, 1, 1, 0);
      return b.add(b.relu(y, 'relu'), y, 'sum');
    });
  });
  it('upsample_nearest', () => {
    checkGradients((b, x) => b.upsampleNearest(b.conv(x, 'conv', 2, 3, 2, 1), 2, 'up'));
  });
  it('a residual block: conv, BN, ReLU, conv, BN, add, ReLU', () => {
    checkGradients((b, x) => {
      const y = b.relu(b.batchNorm(b.conv(x, 'c1', 2, 3, 1, 1), 'bn1'), 'r1');
      return b.relu(b.add(b.batchNorm(b.conv(y, 'c2', 2, 3, 1, 1), 'bn2'), x, 'block'), 'r2');
    }, 7);
  });
});

describe('training graph', () => {
  it('fuse-relu-mask moves a ReLU mask into the BN backward and computes the same values', () => {
    const graph = buildTrainingGraph(
      forward((b, x) => {
        const y = b.relu(b.batchNorm(b.conv(x, 'c1', 2, 3, 1, 1), 'bn1'), 'r1');
        return b.relu(b.add(b.batchNorm(b.conv(y, 'c2', 2, 3, 1, 1), 'bn2'), x, 'block'), 'r2');
      }),
      { useTargetWeight: true },
    );
    const fused = fuseReluMask.run(graph);
    expect(verifyGraph(fused)).toEqual([]);
    const count = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;
    // r1's gradient only feeds bn1's backward; r2's also feeds the residual path, so it stays.
    expect([count(graph, 'relu_grad'), count(fused, 'relu_grad')]).toEqual([2, 1]);
    const maskedInputs = fused.nodes
      .filter((n) => n.module === 'bn1' && ['bn_grad_gamma', 'channel_sum', 'bn_grad_input'].includes(n.op))
      .map((n) => n.inputs.length);
    expect(maskedInputs.sort()).toEqual([2, 4, 7]);
    const values = randomValues(graph, 11);
    expect(run(fused, values)).toEqual(run(graph, values));
  });

  it('updates running statistics with momentum 0.1 and the unbiased variance', () => {
    const graph = buildTrainingGraph(
      forward((b, x) => b.batchNorm(x, 'bn')),
      { useTargetWeight: false },
    );
    const values = randomValues(graph, 3);
    const out = run(graph, values);
    const running = out.get(trainingOutput.running('bn'))!;
    const x = values.input;
    const count = batch * 64;
    for (let c = 0; c < 2; c++) {
      const vals: number[] = [];
      for (let n = 0; n < batch; n++) for (let i = 0; i < 64; i++) vals.push(x[(n * 2 + c) * 64 + i]!);
      const mean = vals.reduce((s, v) => s + v, 0) / count;
      const unbiased = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / (count - 1);
      expect(running[c]).toBeCloseTo(0.9 * values.parameters.get('bn.running_mean')![c]! + 0.1 * mean, 12);
      expect(running[2 + c]).toBeCloseTo(
        0.9 * values.parameters.get('bn.running_var')![c]! + 0.1 * unbiased,
        12,
      );
    }
  });
});
