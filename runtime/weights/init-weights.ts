import { Prng } from '../../common/prng.ts';
import type { ParameterInfo } from '../program.ts';
import { WeightMismatchError } from './pack-weights.ts';
import type { NamedTensor, TensorMap } from './safetensors.ts';

/**
 * The official init_weights: every conv weight ~ N(0, 0.001²), conv biases 0, BN γ = 1, β = 0,
 * running mean 0 and running var 1 (a fresh nn.BatchNorm2d). Seeded, so runs are reproducible.
 */
export function officialInitialWeights(
  parameters: readonly ParameterInfo[],
  seed: number,
): Map<string, NamedTensor> {
  const prng = new Prng(seed);
  const weights = new Map<string, NamedTensor>();
  for (const p of parameters) {
    const count = p.shape.reduce((n, d) => n * d, 1);
    const data = new Float32Array(count);
    if (p.role === 'weight' && p.shape.length === 4) {
      for (let i = 0; i < count; i++) data[i] = prng.normal() * 0.001;
    } else if ((p.role === 'weight' && p.shape.length === 1) || p.role === 'running_var') {
      data.fill(1);
    }
    weights.set(p.name, { shape: p.shape, data });
  }
  return weights;
}

/**
 * The official pretrained-layer filter: entries of `pretrained` whose first name component is in
 * `layers` (or all, when layers[0] is '*') replace the initial values; others are ignored, as
 * load_state_dict(strict=False) does (a classification head of an ImageNet backbone, `fc.*` or
 * `classifier.*`, is among those). Returns the names loaded and skipped, and the listed layers that
 * matched nothing (a typo there silently trains from scratch in the official code).
 */
export function applyPretrained(
  weights: Map<string, NamedTensor>,
  pretrained: TensorMap,
  layers: readonly string[],
): { loaded: string[]; skipped: string[]; unmatchedLayers: string[] } {
  const loaded: string[] = [];
  const skipped: string[] = [];
  for (const [name, tensor] of pretrained) {
    const wanted = layers[0] === '*' || layers.includes(name.split('.')[0]!);
    const target = weights.get(name);
    if (wanted && target && target.shape.join('x') !== tensor.shape.join('x')) {
      // load_state_dict raises on a size mismatch even with strict=False.
      throw new WeightMismatchError(
        [],
        [`${name} (pretrained ${tensor.shape.join('x')}, model ${target.shape.join('x')})`],
        [],
      );
    }
    if (wanted && target) {
      weights.set(name, { shape: target.shape, data: Float32Array.from(tensor.data) });
      loaded.push(name);
    } else {
      skipped.push(name);
    }
  }
  const loadedLayers = new Set(loaded.map((name) => name.split('.')[0]!));
  const unmatchedLayers = layers.filter((layer) => layer !== '*' && !loadedLayers.has(layer));
  return { loaded, skipped, unmatchedLayers };
}
