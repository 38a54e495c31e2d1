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
    // A fused launch writes the ReLU's value: every value a later launch binds is still written.
    const bound = new Set(program.launches.flatMap((l) => l.bindings.slice(1)).map((b) => JSON.stringify(b)));
    const written = new Set(program.launches.map((l) => JSON.stringify(l.bindings[0])));
    for (const id of graph.nodes.filter((n) => n.op === 'relu').map((n) => n.id)) {
      const value = JSON.stringify({ kind: 'activation', tensor: id });
      if (bound.has(value)) expect(written.has(value)).toBe(true);
    }
  });
});
