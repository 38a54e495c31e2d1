import { describe, expect, it } from 'vitest';
import { lowerExperiment, trainingProgram } from '../../compiler/pipeline.ts';
import { loadTestExperiment } from '../helpers/experiments.ts';

describe('the training planner fuses neighbours (no device)', () => {
  it('runs ReLUs with their BN or add, running statistics with bn_stats, β gradients with γ gradients', () => {
    const experiment = loadTestExperiment('tiny/w8_64x64.yaml');
    const lowered = lowerExperiment(experiment);
    if (!lowered.ok) throw new Error(lowered.message);
    const { graph, program } = trainingProgram({ experiment, graph: lowered.graph, inputName: 'test' });
    const count = (op: string) => graph.nodes.filter((n) => n.op === op).length;
    const launched = (op: string) =>
      program.launches.filter((l) => l.node >= 0 && graph.nodes[l.node]!.op === op).length;
    const kernelOf = (prefix: string) => program.launches.filter((l) => l.kernel.startsWith(`${prefix}_`));
    // Every ReLU of HRNet reads a training BN or an add that nothing else reads.
    expect(count('relu')).toBeGreaterThan(0);
    expect(launched('relu')).toBe(0);
    expect(launched('bn_running')).toBe(0);
    expect(kernelOf('bn_stats')).toHaveLength(count('bn_running'));
    // Each BN's β gradient (a channel_sum of the same gradient) rides with its γ gradient.
    expect(launched('channel_sum')).toBe(count('channel_sum') - count('bn_grad_gamma'));
    // Sums of two gradients that only a ReLU gradient reads ride with it; residual and fuse-layer sums
    // whose other term is ready ride with the BN before them (and take that sum's ReLU along).
    const readers = (id: number) => graph.nodes.filter((n) => n.inputs.includes(id));
    const launchedNodes = new Set(program.launches.map((l) => l.node));
    const gradientSums = graph.nodes.filter(
      (n) => n.op === 'add' && readers(n.id).length === 1 && readers(n.id)[0]!.op === 'relu_grad',
    );
    expect(gradientSums.length).toBeGreaterThan(0);
    for (const sum of gradientSums) {
      const own = program.launches.filter((l) => l.node === sum.id);
      expect(own.map((l) => l.kernel.replace(/_[0-9a-f]{8}$/, ''))).toEqual(['relu_grad']);
      expect(launchedNodes.has(readers(sum.id)[0]!.id)).toBe(false);
    }
    const description = (name: string) => program.kernels.find((k) => k.name === name)!.description;
    const withSums = kernelOf('bn_train').filter((l) => description(l.kernel).includes(', add'));
    expect(withSums.length).toBeGreaterThan(0);
    expect(launched('add')).toBe(count('add') - withSums.length);
    // A fused launch writes the ReLU's value: every value a later launch binds is still written.
    const bound = new Set(program.launches.flatMap((l) => l.bindings.slice(1)).map((b) => JSON.stringify(b)));
    const written = new Set(program.launches.map((l) => JSON.stringify(l.bindings[0])));
    for (const id of graph.nodes.filter((n) => n.op === 'relu').map((n) => n.id)) {
      const value = JSON.stringify({ kind: 'activation', tensor: id });
      if (bound.has(value)) expect(written.has(value)).toBe(true);
    }
  });
});
