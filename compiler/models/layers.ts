import { GraphBuilder } from '../ir/graph.ts';
import type { ParameterRole } from '../ir/ops.ts';
import { type TensorType, tensorType } from '../ir/tensor-type.ts';

/** BatchNorm2d settings of the official models: eps 1e-5, momentum 0.1 everywhere. */
export const batchNormEps = 1e-5;
export const batchNormMomentum = 0.1;

/**
 * PyTorch-like layer helpers over a GraphBuilder: each creates its parameters under the official
 * module path, so the graph's parameter names are the official state_dict keys.
 */
export class LayerBuilder {
  readonly graph: GraphBuilder;

  constructor(name: string) {
    this.graph = new GraphBuilder(name);
  }

  input(type: TensorType): number {
    return this.graph.add({ op: 'input', inputs: [], type, attrs: {}, module: 'input' });
  }

  output(x: number): number {
    return this.graph.add({
      op: 'output',
      inputs: [x],
      type: this.graph.typeOf(x),
      attrs: {},
      module: 'output',
    });
  }

  parameter(name: string, role: ParameterRole, shape: number[]): number {
    return this.graph.add({
      op: 'parameter',
      inputs: [],
      type: tensorType(shape),
      attrs: { role },
      module: name,
    });
  }

  channels(x: number): number {
    return this.graph.typeOf(x).shape[1] as number;
  }

  /** nn.Conv2d(in, out, kernel, stride, pad, bias) named `module`. */
  conv(
    x: number,
    module: string,
    out: number,
    kernel: number,
    stride: number,
    pad: number,
    bias = false,
  ): number {
    const inChannels = this.channels(x);
    const weight = this.parameter(`${module}.weight`, 'weight', [out, inChannels, kernel, kernel]);
    const inputs = [x, weight];
    if (bias) inputs.push(this.parameter(`${module}.bias`, 'bias', [out]));
    const [n, , h, w] = this.graph.typeOf(x).shape;
    const size = (d: number) => Math.floor((d + 2 * pad - kernel) / stride) + 1;
    return this.graph.add({
      op: 'conv2d',
      inputs,
      type: tensorType([n!, out, size(h as number), size(w as number)]),
      attrs: { kernel, stride, pad },
      module,
    });
  }

  /** nn.BatchNorm2d(channels, momentum=0.1) named `module`. */
  batchNorm(x: number, module: string): number {
    const c = this.channels(x);
    const inputs = [
      x,
      this.parameter(`${module}.weight`, 'weight', [c]),
      this.parameter(`${module}.bias`, 'bias', [c]),
      this.parameter(`${module}.running_mean`, 'running_mean', [c]),
      this.parameter(`${module}.running_var`, 'running_var', [c]),
    ];
    return this.graph.add({
      op: 'batch_norm',
      inputs,
      type: this.graph.typeOf(x),
      attrs: { eps: batchNormEps, momentum: batchNormMomentum },
      module,
    });
  }

  relu(x: number, module: string): number {
    return this.graph.add({ op: 'relu', inputs: [x], type: this.graph.typeOf(x), attrs: {}, module });
  }

  add(a: number, b: number, module: string): number {
    return this.graph.add({ op: 'add', inputs: [a, b], type: this.graph.typeOf(a), attrs: {}, module });
  }

  upsampleNearest(x: number, scale: number, module: string): number {
    const [n, c, h, w] = this.graph.typeOf(x).shape as [number | 'N', number, number, number];
    return this.graph.add({
      op: 'upsample_nearest',
      inputs: [x],
      type: tensorType([n, c, h * scale, w * scale]),
      attrs: { scale },
      module,
    });
  }
}
