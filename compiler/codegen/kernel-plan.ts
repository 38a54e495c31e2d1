import type {
  ArenaTensor,
  Binding,
  DispatchVariant,
  ParameterInfo,
  WeightEntry,
  WeightLayout,
  WeightSource,
  WeightWindows,
} from '../../runtime/program.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { graphParameters } from '../ir/parameters.ts';
import { elementsPerItem } from '../ir/tensor-type.ts';
import { liveRanges } from '../passes/liveness.ts';
import { alignUp, planMemory } from '../passes/memory-plan.ts';
import { type GeneratedKernel, KernelSet, type Launch } from './launch.ts';
import {
  chooseDirectTiling,
  type DirectConvTiling,
  directConvWorkgroups,
  directTilingsFor,
  directVariantName,
  directWeightLayout,
  directWeightWindows,
  generateDirectConvKernel,
  sharesWeightLoads,
  subgroupShare,
} from './wgsl/conv-direct.ts';
import { type ConvKernelSpec, convWorkgroups, describeConv, generateConvKernel } from './wgsl/conv-gemm.ts';
import {
  describeElementwise,
  type ElementwiseKernelSpec,
  elementwiseWorkgroups,
  generateElementwiseKernel,
} from './wgsl/elementwise.ts';

/**
 * What a program is compiled for. `software` (lavapipe, SwiftShader: CPUs running SIMD lanes) gets
 * the direct kernels without workgroup memory; `gpu` (discrete and integrated GPUs) gets the tiled
 * workgroup-memory GEMM; `auto` emits both, and the runtime picks by the adapter it finds (or by a
 * tuning file measured on it).
 */
export type Target = 'auto' | 'software' | 'gpu';
export const targets: readonly Target[] = ['auto', 'software', 'gpu'];

export interface PlanOptions {
  readonly target?: Target;
}

/** The inference program: kernels, the linear launch schedule, the arena plan and the weight layout. */
export interface KernelProgram {
  readonly kernels: readonly GeneratedKernel[];
  readonly launches: readonly Launch[];
  readonly tensors: readonly ArenaTensor[];
  readonly input: { readonly tensor: number; readonly shape: readonly number[] };
  readonly output: { readonly tensor: number; readonly shape: readonly number[] };
  readonly arenaBytesPerImage: number;
  readonly peakLiveBytesPerImage: number;
  readonly weights: { readonly bytes: number; readonly entries: readonly WeightEntry[] };
  readonly parameters: readonly ParameterInfo[];
}

const computeOps = new Set(['fused_conv2d', 'conv2d', 'relu', 'add', 'upsample_nearest', 'batch_norm']);

/** Lowers an inference graph (after the passes) to kernels and launches over planned memory. */
export function planKernels(graph: Graph, options: PlanOptions = {}): KernelProgram {
  const target = options.target ?? 'auto';
  const nodes = graph.nodes;
  const inputNode = nodes.find((n) => n.op === 'input');
  const outputs = nodes.filter((n) => n.op === 'output');
  if (!inputNode || outputs.length !== 1) throw new Error('a program needs exactly one input and one output');
  const unsupported = nodes.filter(
    (n) =>
      !computeOps.has(n.op) &&
      !['input', 'output', 'parameter', 'fold_bn_weight', 'fold_bn_bias'].includes(n.op),
  );
  if (unsupported.length > 0) throw new Error(`no kernel for op ${unsupported[0]!.op}`);
  const schedule = nodes.filter((n) => computeOps.has(n.op));
  const resultTensor = outputs[0]!.inputs[0]!;

  const weights = new WeightPacker(nodes);
  const kernels = new KernelSet();
  const addKernel = kernels.add.bind(kernels);
  const activation = (id: number): Binding => ({ kind: 'activation', tensor: id });

  const launches: Launch[] = schedule.map((node) => {
    const base = { module: node.module, node: node.id };
    if (node.op === 'fused_conv2d' || node.op === 'conv2d') {
      const spec = convSpec(node, nodes);
      const [x, weight, bias, ...terms] = node.inputs;
      const variantOf = (strategy: ConvStrategy): DispatchVariant => {
        const bindings: Binding[] = [
          activation(node.id),
          activation(x!),
          strategy.kind === 'direct'
            ? weights.entry(
                weight!,
                directWeightLayout(strategy.tiling),
                directWeightWindows(spec, strategy.tiling),
              )
            : weights.entry(weight!, 'conv-gemm'),
        ];
        if (bias !== undefined) bindings.push(weights.entry(bias, 'vector'));
        bindings.push(...terms.map(activation));
        const shape = `${spec.kernel}x${spec.kernel}s${spec.stride}_${spec.inChannels}to${spec.outChannels}_${spec.outHeight}x${spec.outWidth}`;
        if (strategy.kind === 'gemm') {
          return {
            name: strategy.name,
            kernel: addKernel(generateConvKernel(spec), describeConv(spec), `conv${shape}`),
            bindings,
            workgroups: { kind: 'tiles', ...convWorkgroups(spec) },
          };
        }
        const plain = addKernel(
          generateDirectConvKernel(spec, strategy.tiling),
          describeConv(spec),
          `direct${shape}`,
        );
        // Weights read from storage: loads shared across subgroups, with a twin for devices without.
        const shared = sharesWeightLoads(spec, strategy.tiling, 'packed', subgroupShare);
        return {
          name: strategy.name,
          kernel: shared
            ? addKernel(
                generateDirectConvKernel(spec, strategy.tiling, 'packed', subgroupShare),
                `${describeConv(spec)}, weight loads shared by ${subgroupShare} lanes`,
                `direct${shape}_subgroups`,
              )
            : plain,
          ...(shared ? { withoutSubgroups: plain } : {}),
          bindings,
          // The direct kernel's columns are pixel blocks, one per invocation.
          workgroups: { kind: 'tiles', ...directConvWorkgroups(spec, strategy.tiling, 'packed') },
        };
      };
      const strategies = convStrategies(spec, target);
      const variants = strategies.map(variantOf);
      const defaults = {
        software: defaultConvStrategy(spec, target === 'gpu' ? 'gpu' : 'software'),
        hardware: defaultConvStrategy(spec, target === 'software' ? 'software' : 'gpu'),
      };
      const own = variants.find((v) => v.name === defaults.software)!;
      const launch = {
        ...base,
        kernel: own.kernel,
        bindings: own.bindings,
        workgroups: own.workgroups,
        ...(own.withoutSubgroups === undefined ? {} : { withoutSubgroups: own.withoutSubgroups }),
      };
      if (variants.length === 1) return launch;
      // The reference kernel's name, whichever variants this target emits.
      const key = variants.find((v) => v.name === 'gemm')?.kernel ?? own.kernel;
      return { ...launch, choice: { key, variants, defaults } };
    }
    const spec = elementwiseSpec(node, nodes);
    const bindings: Binding[] = [activation(node.id)];
    if (node.op === 'batch_norm') {
      bindings.push(
        activation(node.inputs[0]!),
        ...node.inputs.slice(1).map((i) => weights.entry(i, 'plain')),
      );
    } else {
      bindings.push(...node.inputs.map(activation));
    }
    return {
      ...base,
      kernel: addKernel(generateElementwiseKernel(spec), describeElementwise(spec), node.op),
      bindings,
      workgroups: { kind: 'grid-stride', ...elementwiseWorkgroups(spec) },
    };
  });

  // The input exists before step 0, the result is read after the end.
  const live = liveRanges(
    schedule.map((n) => ({ reads: n.inputs, writes: [n.id] })),
    [inputNode.id],
    [resultTensor],
  );
  const tensorNodes = [inputNode, ...schedule];
  const plan = planMemory(
    tensorNodes.map((n) => ({ id: n.id, bytes: elementsPerItem(n.type) * 4, ...live.get(n.id)! })),
  );
  const valueNames = new Map<number, number>();
  let next = 0;
  for (const n of nodes) if (n.op !== 'parameter') valueNames.set(n.id, next++);
  const tensors: ArenaTensor[] = tensorNodes.map((n) => ({
    id: n.id,
    label: `%${valueNames.get(n.id)} ${n.module}`,
    shape: n.type.shape.slice(1) as number[],
    offset: plan.offsets.get(n.id)!,
    bytes: alignUp(elementsPerItem(n.type) * 4),
  }));

  const perImageShape = (n: Node) => n.type.shape.slice(1) as number[];
  return {
    kernels: kernels.list(),
    launches,
    tensors,
    input: { tensor: inputNode.id, shape: perImageShape(inputNode) },
    output: { tensor: resultTensor, shape: perImageShape(nodes[resultTensor]!) },
    arenaBytesPerImage: plan.arenaBytes,
    peakLiveBytesPerImage: plan.peakLiveBytes,
    weights: weights.finish(),
    parameters: graphParameters(graph),
  };
}

type ConvStrategy =
  | { readonly kind: 'gemm'; readonly name: string }
  | { readonly kind: 'direct'; readonly name: string; readonly tiling: DirectConvTiling };

/** The strategies a target compiles a convolution for, the reference GEMM first. */
function convStrategies(spec: ConvKernelSpec, target: Target): ConvStrategy[] {
  const gemm: ConvStrategy = { kind: 'gemm', name: 'gemm' };
  if (target === 'gpu' || !usesDirectConv(spec)) return [gemm];
  return [
    gemm,
    ...directTilingsFor(spec).map((tiling) => ({
      kind: 'direct' as const,
      name: directVariantName(tiling),
      tiling,
    })),
  ];
}

/**
 * The variant an adapter class runs when no tuning file says otherwise. On software adapters the
 * direct kernel runs convolutions 2–6× faster than the tiled GEMM, strided ones included (measured
 * on lavapipe with `hrnet tune`); GPUs get the GEMM, the usual design there.
 */
function defaultConvStrategy(spec: ConvKernelSpec, adapterClass: 'software' | 'gpu'): string {
  if (adapterClass === 'gpu' || !usesDirectConv(spec)) return 'gemm';
  return directVariantName(chooseDirectTiling(spec));
}

/**
 * Convolutions the direct kernel runs (and runs by default on software adapters): square kernels
 * with the padding that keeps odd sizes, any stride, terms that tile the output.
 */
export function usesDirectConv(spec: ConvKernelSpec): boolean {
  const shape = (spec.kernel === 3 && spec.pad === 1) || (spec.kernel === 1 && spec.pad === 0);
  const termsTile = spec.termScales.every((s) => spec.outHeight % s === 0 && spec.outWidth % s === 0);
  return shape && termsTile;
}

function convSpec(node: Node, nodes: readonly Node[]): ConvKernelSpec {
  const x = nodes[node.inputs[0]!]!.type.shape as [string, number, number, number];
  const [, outChannels, outHeight, outWidth] = node.type.shape as [string, number, number, number];
  const fused = node.op === 'fused_conv2d';
  return {
    kind: 'conv',
    inChannels: x[1],
    height: x[2],
    width: x[3],
    inputScale: fused ? (node.attrs.input_scale as number) : 1,
    outChannels,
    outHeight,
    outWidth,
    kernel: node.attrs.kernel as number,
    stride: node.attrs.stride as number,
    pad: node.attrs.pad as number,
    hasBias: node.inputs.length >= 3,
    termScales: fused ? (node.attrs.term_scales as number[]) : [],
    selfIndex: fused ? (node.attrs.self_index as number) : 0,
    relu: fused ? (node.attrs.relu as boolean) : false,
  };
}

function elementwiseSpec(node: Node, nodes: readonly Node[]): ElementwiseKernelSpec {
  const elements = elementsPerItem(node.type);
  switch (node.op) {
    case 'relu':
    case 'add':
      return { kind: node.op, elements };
    case 'upsample_nearest': {
      const [, c, h, w] = nodes[node.inputs[0]!]!.type.shape as [string, number, number, number];
      return {
        kind: 'upsample_nearest',
        channels: c,
        height: h,
        width: w,
        scale: node.attrs.scale as number,
      };
    }
    case 'batch_norm': {
      const [, c, h, w] = node.type.shape as [string, number, number, number];
      return { kind: 'batch_norm', channels: c, plane: h * w, eps: node.attrs.eps as number };
    }
    default:
      throw new Error(`no kernel for ${node.op}`);
  }
}

/** Assigns each weight value a region of the one weight buffer, once per (value, layout). */
class WeightPacker {
  private readonly entries: WeightEntry[] = [];
  private readonly index = new Map<string, number>();
  private bytes = 0;

  constructor(private readonly nodes: readonly Node[]) {}

  entry(id: number, layout: WeightLayout, windows?: WeightWindows): Binding {
    // The windows follow from the value's shape and the layout, so they need no place in the key.
    const key = `${id}:${layout}`;
    let entry = this.index.get(key);
    if (entry === undefined) {
      const node = this.nodes[id]!;
      const shape = node.type.shape as number[];
      const bytes = alignUp(packedElements(shape, layout, windows) * 4);
      entry = this.entries.length;
      this.entries.push({
        source: this.sourceOf(node),
        shape,
        layout,
        offset: this.bytes,
        bytes,
        ...(windows ? { windows } : {}),
      });
      this.bytes += bytes;
      this.index.set(key, entry);
    }
    return { kind: 'weight', entry };
  }

  private sourceOf(node: Node): WeightSource {
    const name = (i: number) => {
      const input = this.nodes[node.inputs[i]!]!;
      if (input.op !== 'parameter') throw new Error(`${node.op} of ${input.op} is not a loadable weight`);
      return input.module;
    };
    const eps = node.attrs.eps as number;
    switch (node.op) {
      case 'parameter':
        return { kind: 'parameter', name: node.module };
      case 'fold_bn_weight':
        return { kind: 'fold_bn_weight', weight: name(0), gamma: name(1), variance: name(2), eps };
      case 'fold_bn_bias':
        return {
          kind: 'fold_bn_bias',
          gamma: name(0),
          beta: name(1),
          mean: name(2),
          variance: name(3),
          ...(node.inputs.length > 4 ? { bias: name(4) } : {}),
          eps,
        };
      default:
        throw new Error(`${node.op} is not a weight`);
    }
  }

  finish() {
    return { bytes: this.bytes, entries: this.entries };
  }
}

/** Elements a layout stores for a value of `shape` (padding and window headers included). */
export function packedElements(
  shape: readonly number[],
  layout: WeightLayout,
  windows?: WeightWindows,
): number {
  if (windows) return (windows.count * windows.bytes) / 4;
  const count = shape.reduce((n, d) => n * d, 1);
  if (layout === 'plain') return count;
  const out = shape[0]!;
  const block = layout === 'conv-direct-k8' ? 8 : layout === 'conv-direct-k16' ? 16 : 4;
  const padded = Math.ceil(out / block) * block;
  return (count / out) * padded;
}
