import { describe, expect, it } from 'vitest';
import {
  consumers,
  eliminateDeadNodes,
  GraphBuilder,
  type Node,
  substitute,
  topologicalOrder,
} from '../../compiler/ir/graph.ts';
import { tensorType } from '../../compiler/ir/tensor-type.ts';
import { verifyGraph } from '../../compiler/ir/verify.ts';

const t = tensorType(['N', 2, 4, 4]);

function chain() {
  const b = new GraphBuilder('g');
  const x = b.add({ op: 'input', inputs: [], type: t, attrs: {}, module: 'input' });
  const r1 = b.add({ op: 'relu', inputs: [x], type: t, attrs: {}, module: 'r1' });
  const r2 = b.add({ op: 'relu', inputs: [r1], type: t, attrs: {}, module: 'r2' });
  const sum = b.add({ op: 'add', inputs: [r2, r1], type: t, attrs: {}, module: 'sum' });
  b.add({ op: 'output', inputs: [sum], type: t, attrs: {}, module: 'output' });
  return b.build();
}

describe('graph utilities', () => {
  it('the builder refuses forward references and sorts attributes', () => {
    const b = new GraphBuilder('g');
    expect(() => b.add({ op: 'relu', inputs: [0], type: t, attrs: {}, module: 'r' })).toThrow(
      /missing input/,
    );
    b.add({ op: 'input', inputs: [], type: t, attrs: {}, module: 'input' });
    const id = b.add({
      op: 'upsample_nearest',
      inputs: [0],
      type: t,
      attrs: { z: 1, scale: 2, a: 0 },
      module: 'u',
    });
    expect(Object.keys(b.build().nodes[id]!.attrs)).toEqual(['a', 'scale', 'z']);
  });

  it('consumers lists readers in order', () => {
    expect(consumers(chain())).toEqual([[1], [2, 3], [3], [4], []]);
  });

  it('topologicalOrder sorts shuffled nodes and renumbers, and detects cycles', () => {
    const g = chain();
    const shuffled: Node[] = [g.nodes[4]!, g.nodes[2]!, g.nodes[0]!, g.nodes[3]!, g.nodes[1]!];
    const sorted = topologicalOrder('g', shuffled);
    expect(sorted.nodes.map((n) => n.module)).toEqual(['input', 'r1', 'r2', 'sum', 'output']);
    expect(verifyGraph(sorted)).toEqual([]);
    const cyclic = [{ ...g.nodes[1]!, inputs: [2] }, { ...g.nodes[2]! }];
    expect(() => topologicalOrder('g', cyclic)).toThrow(/cycle/);
  });

  it('substitute rewires uses and drops what becomes dead', () => {
    // Replace r2 by r1: sum reads r1 twice, r2 disappears.
    const g = substitute(chain(), new Map([[2, 1]]));
    expect(g.nodes.map((n) => n.module)).toEqual(['input', 'r1', 'sum', 'output']);
    expect(g.nodes[2]!.inputs).toEqual([1, 1]);
    expect(verifyGraph(g)).toEqual([]);
  });

  it('eliminateDeadNodes keeps only what outputs need', () => {
    const b = new GraphBuilder('g');
    const x = b.add({ op: 'input', inputs: [], type: t, attrs: {}, module: 'input' });
    b.add({ op: 'relu', inputs: [x], type: t, attrs: {}, module: 'unused' });
    b.add({ op: 'output', inputs: [x], type: t, attrs: {}, module: 'output' });
    expect(eliminateDeadNodes(b.build()).nodes.map((n) => n.module)).toEqual(['input', 'output']);
  });

  it('the verifier reports wrong types, arities, attributes and duplicate parameters', () => {
    const b = new GraphBuilder('g');
    const x = b.add({ op: 'input', inputs: [], type: t, attrs: {}, module: 'input' });
    b.add({ op: 'parameter', inputs: [], type: tensorType([2]), attrs: { role: 'weight' }, module: 'p' });
    b.add({ op: 'parameter', inputs: [], type: tensorType([2]), attrs: { role: 'weight' }, module: 'p' });
    b.add({ op: 'relu', inputs: [x], type: tensorType(['N', 3, 4, 4]), attrs: {}, module: 'r' });
    b.add({ op: 'upsample_nearest', inputs: [x], type: t, attrs: { scale: 1.5 }, module: 'u' });
    const problems = verifyGraph(b.build()).map((p) => `${p.node}: ${p.message}`);
    expect(problems).toEqual([
      '2: duplicate parameter name',
      '3: type f32[N,3,4,4] but its inputs give f32[N,2,4,4]',
      '4: attribute scale must be int',
      'undefined: the graph has no output',
    ]);
  });
});
