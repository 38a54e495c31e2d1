import { describe, expect, it } from 'vitest';
import { applyPretrained } from '../../runtime/weights/init-weights.ts';
import { WeightMismatchError } from '../../runtime/weights/pack-weights.ts';
import type { NamedTensor } from '../../runtime/weights/safetensors.ts';

const tensor = (shape: number[], value: number): NamedTensor => ({
  shape,
  data: new Float32Array(shape.reduce((n, d) => n * d, 1)).fill(value),
});

/** A model's initial weights: two stem layers and a head. */
function initial(): Map<string, NamedTensor> {
  return new Map([
    ['conv1.weight', tensor([2, 3, 3, 3], 0)],
    ['bn1.weight', tensor([2], 1)],
    ['final_layer.weight', tensor([4, 2, 1, 1], 0)],
  ]);
}

/** An ImageNet backbone's state_dict: the stem, a classification head, and a layer the model lacks. */
const backbone = new Map([
  ['conv1.weight', tensor([2, 3, 3, 3], 0.5)],
  ['bn1.weight', tensor([2], 0.25)],
  ['fc.weight', tensor([1000, 2], 0.1)],
  ['incre_modules.0.weight', tensor([3], 0.2)],
]);

describe('MODEL.PRETRAINED with PRETRAINED_LAYERS (the official init_weights)', () => {
  it('loads only the listed layers, ignores the classification head, and names listed layers that matched nothing', () => {
    const weights = initial();
    const result = applyPretrained(weights, backbone, ['conv1', 'bn1', 'transition1', 'stage2']);
    expect(result.loaded).toEqual(['conv1.weight', 'bn1.weight']);
    expect(result.skipped).toEqual(['fc.weight', 'incre_modules.0.weight']);
    expect(result.unmatchedLayers).toEqual(['transition1', 'stage2']);
    expect([...weights.get('conv1.weight')!.data]).toEqual(new Array(54).fill(0.5));
    expect([...weights.get('bn1.weight')!.data]).toEqual([0.25, 0.25]);
    expect([...weights.get('final_layer.weight')!.data]).toEqual(new Array(8).fill(0));
  });

  it("'*' loads every tensor the model has and reports no unmatched layer", () => {
    const weights = initial();
    const result = applyPretrained(weights, backbone, ['*']);
    expect(result.loaded).toEqual(['conv1.weight', 'bn1.weight']);
    expect(result.unmatchedLayers).toEqual([]);
  });

  it('a listed tensor of another shape is an error, as load_state_dict raises even with strict=False', () => {
    const other = new Map([['conv1.weight', tensor([4, 3, 3, 3], 1)]]);
    expect(() => applyPretrained(initial(), other, ['conv1'])).toThrow(WeightMismatchError);
  });
});
