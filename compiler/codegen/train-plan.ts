import type {
  ArenaTensor,
  Binding,
  DispatchChoice,
  DispatchVariant,
  FixedTensor,
  FlatEntry,
  WorkgroupCounts,
} from '../../runtime/program.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { valueNames } from '../ir/print.ts';
import { elementsPerItem } from '../ir/tensor-type.ts';
import { liveRanges, type ScheduleStep } from '../passes/liveness.ts';
import { alignUp, type PlannedTensor, planMemory } from '../passes/memory-plan.ts';
import { trainingOutput } from '../passes/training-graph.ts';
import { type PlanOptions, usesDirectConv } from './kernel-plan.ts';
import { type GeneratedKernel, KernelSet, type Launch } from './launch.ts';
import {
  chooseTrainingDirectTiling,
  type DirectConvTiling,
  directConvWorkgroups,
  directVariantName,
  generateDirectConvKernel,
  sharesWeightLoads,
  subgroupShare,
  trainingDirectTilingsFor,
} from './wgsl/conv-direct.ts';
import { type ConvKernelSpec, describeConv } from './wgsl/conv-gemm.ts';
import {
  type ElementwiseKernelSpec,
  elementwiseWorkgroups,
  generateElementwiseKernel,
} from './wgsl/elementwise.ts';
import {
  batchNormGammaGradKernel,
  batchStatsKernel,
  channelReductionWorkgroups,
  channelSumKernel,
  mseLossKernel,
  partialSumKernel,
  partialSumWorkgroups,
} from './wgsl/train/channel-reductions.ts';
import {
  chooseDirectWeightGradTiling,
  describeDirectWeightGrad,
  directWeightGradWorkgroups,
  generateDirectWeightGradKernel,
} from './wgsl/train/conv-grad-weight-direct.ts';
import {
  type ConvShape,
  convForwardSpec,
  convGradInputSpec,
  convGradWeightSpec,
  inputGradientConv,
  strideClasses,
  weightGradientSplits,
} from './wgsl/train/conv-train.ts';
import { type GemmSpec, gemmTiling, generateGemmKernel } from './wgsl/train/gemm.ts';
import { adamKernel, hyperCount, optimizerWorkgroups, sgdKernel } from './wgsl/train/optimizer.ts';
import {
  batchNormInputGradKernel,
  batchNormRunningKernel,
  batchNormTrainKernel,
  mseLossGradKernel,
  pointwiseMaxGroups,
  reluGradIterations,
  reluGradKernel,
  upsampleGradKernel,
} from './wgsl/train/pointwise-train.ts';

export interface TrainKernelProgram {
  readonly kernels: readonly GeneratedKernel[];
  readonly launches: readonly Launch[];
  readonly optimizer: { readonly adam: Launch; readonly sgd: Launch };
  readonly inputs: { readonly input: number; readonly target: number; readonly targetWeight: number };
  readonly inputShapes: {
    readonly input: number[];
    readonly target: number[];
    readonly targetWeight: number[];
  };
  readonly outputs: { readonly loss: number; readonly heatmaps: number; readonly gradInput?: number };
  readonly tensors: readonly ArenaTensor[];
  readonly fixedTensors: readonly FixedTensor[];
  readonly arenaBytesPerImage: number;
  readonly fixedBytes: number;
  readonly parameters: readonly FlatEntry[];
  readonly parameterBytes: number;
  readonly running: readonly FlatEntry[];
  readonly runningBytes: number;
}

function layoutFlat(nodes: readonly Node[]): {
  entries: FlatEntry[];
  bytes: number;
  index: Map<number, number>;
} {
  const entries: FlatEntry[] = [];
  const index = new Map<number, number>();
  let offset = 0;
  for (const node of nodes) {
    const bytes = alignUp(elementsPerItem(node.type) * 4);
    index.set(node.id, entries.length);
    entries.push({ name: node.module, shape: node.type.shape as number[], offset, bytes });
    offset += bytes;
  }
  return { entries, bytes: Math.max(256, offset), index };
}

/** Lowers a training graph (passes/training-graph.ts) to kernels and launches over planned buffers. */
export function planTrainingKernels(graph: Graph, options: PlanOptions = {}): TrainKernelProgram {
  // The GEMM on GPUs; the direct kernel where it runs, for software adapters (see planKernels).
  const directAllowed = (options.target ?? 'auto') !== 'gpu';
  const offersChoice = (options.target ?? 'auto') === 'auto';
  const nodes = graph.nodes;
  const trainable = nodes.filter(
    (n) => n.op === 'parameter' && (n.attrs.role === 'weight' || n.attrs.role === 'bias'),
  );
  const runningNodes = nodes.filter(
    (n) => n.op === 'parameter' && (n.attrs.role === 'running_mean' || n.attrs.role === 'running_var'),
  );
  const parameters = layoutFlat(trainable);
  const running = layoutFlat(runningNodes);
  const parameterByName = new Map(trainable.map((n) => [n.module, n.id]));
  const outputs = nodes.filter((n) => n.op === 'output');
  const outputNamed = (name: string) => outputs.find((o) => o.module === name)?.inputs[0];
  // A parameter's gradient is computed straight into its slot of the gradient buffer.
  const gradientSlot = new Map<number, number>();
  for (const o of outputs) {
    if (!o.module.startsWith('grad:') || o.module === trainingOutput.gradient('input')) continue;
    gradientSlot.set(o.inputs[0]!, parameters.index.get(parameterByName.get(o.module.slice(5))!)!);
  }
  const input = (name: string) => nodes.find((n) => n.op === 'input' && n.module === name)!;
  const inputs = {
    input: input('input').id,
    target: input('target').id,
    targetWeight: input('target_weight').id,
  };
  const loss = outputNamed(trainingOutput.loss)!;
  const heatmaps = outputNamed(trainingOutput.heatmaps)!;
  const gradInput = outputNamed(trainingOutput.gradient('input'));

  const kernels = new KernelSet();
  const addKernel = kernels.add.bind(kernels);
  const isBatched = (id: number) => nodes[id]!.type.shape.includes('N');
  const temporaries: { id: number; bytes: number; label: string; shape: number[] }[] = [];
  let nextTemporary = -1;
  const bind = (id: number): Binding => {
    const node = nodes[id]!;
    if (node.op === 'parameter') {
      return parameters.index.has(id)
        ? { kind: 'parameter', entry: parameters.index.get(id)! }
        : { kind: 'running', entry: running.index.get(id)! };
    }
    if (gradientSlot.has(id)) return { kind: 'gradient', entry: gradientSlot.get(id)! };
    return isBatched(id) ? { kind: 'activation', tensor: id } : { kind: 'fixed', tensor: id };
  };
  const gemm = (spec: GemmSpec, columnsPerImage: number, fixedColumns: number) => {
    const tiling = gemmTiling(spec);
    return {
      kernel: addKernel(
        generateGemmKernel(spec, 'compiler/codegen/wgsl/train/gemm.ts'),
        spec.description,
        'gemm',
      ),
      workgroups: {
        kind: 'split-tiles' as const,
        columnsPerImage,
        fixedColumns,
        columnsPerGroup: tiling.tileN,
        rows: Math.ceil(spec.mValue / tiling.tileM),
        splits: spec.splits,
      },
    };
  };
  /**
   * The direct convolution kernel reading the parameter in place, where it runs the shape (see
   * usesDirectConv): on the CPU adapters this project tests on it is several times faster than the
   * GEMM. One strategy per tiling the tuner may choose (trainingDirectTilingsFor), named as the
   * forward's variants are; `preferred` is the tiling software adapters take by default.
   */
  const directTrainConv = (
    s: ConvShape,
    hasBias: boolean,
    weights: 'official' | 'flipped-transposed',
  ): DirectStrategies | undefined => {
    const spec: ConvKernelSpec = {
      kind: 'conv',
      ...s,
      inputScale: 1,
      hasBias,
      termScales: [],
      selfIndex: 0,
      relu: false,
    };
    if (!directAllowed || !usesDirectConv(spec)) return undefined;
    const preferred = chooseTrainingDirectTiling(spec);
    const tilings = offersChoice ? trainingDirectTilingsFor(spec) : [preferred];
    const prefix = weights === 'official' ? 'direct' : 'direct_grad';
    const strategy = (tiling: DirectConvTiling): ConvStrategy => {
      const description = `${weights === 'official' ? 'forward' : 'input gradient'} of ${describeConv(spec)}, ${tiling.channels} channels × ${tiling.pixels} pixels`;
      const plain = addKernel(generateDirectConvKernel(spec, tiling, weights), description, prefix);
      const shared = sharesWeightLoads(spec, tiling, weights, subgroupShare);
      return {
        kernel: shared
          ? addKernel(
              generateDirectConvKernel(spec, tiling, weights, subgroupShare),
              `${description}, weight loads shared by ${subgroupShare} lanes`,
              `${prefix}_subgroups`,
            )
          : plain,
        withoutSubgroups: shared ? plain : undefined,
        workgroups: { kind: 'tiles' as const, ...directConvWorkgroups(spec, tiling, weights) },
      };
    };
    return {
      preferred: directVariantName(preferred),
      variants: tilings.map((tiling) => ({ name: directVariantName(tiling), strategy: strategy(tiling) })),
    };
  };
  /** The split GEMM weight gradient: the reference, and what GPUs run. */
  const gemmWeightGradient = (s: ConvShape, splits: number) => {
    const spec = convGradWeightSpec(s, splits);
    const tiling = gemmTiling(spec);
    return {
      kernel: addKernel(
        generateGemmKernel(spec, 'compiler/codegen/wgsl/train/gemm.ts'),
        spec.description,
        'gemm',
      ),
      withoutSubgroups: undefined,
      workgroups: {
        kind: 'split-tiles' as const,
        columnsPerImage: 0,
        fixedColumns: s.inChannels * s.kernel * s.kernel,
        columnsPerGroup: tiling.tileN,
        rows: Math.ceil(s.outChannels / tiling.tileM),
        splits: spec.splits,
      },
      splits: spec.splits,
    };
  };
  /**
   * The direct weight gradient (no workgroup memory), sharing its output-gradient loads across
   * subgroups where the device has them, with a twin for devices without the feature.
   */
  const directWeightGradient = (s: ConvShape) => {
    const tiling = chooseDirectWeightGradTiling(s);
    const description = describeDirectWeightGrad(s, tiling);
    const plain = addKernel(generateDirectWeightGradKernel(s, tiling), description, 'wgrad');
    const shared = tiling.lanes % subgroupShare === 0;
    const [, rows, splits] = directWeightGradWorkgroups(s, tiling);
    return {
      kernel: shared
        ? addKernel(
            generateDirectWeightGradKernel(s, tiling, subgroupShare),
            `${description}, gradient loads shared by ${subgroupShare} lanes`,
            'wgrad_subgroups',
          )
        : plain,
      withoutSubgroups: shared ? plain : undefined,
      workgroups: {
        kind: 'split-tiles' as const,
        columnsPerImage: 0,
        fixedColumns: s.outChannels,
        columnsPerGroup: tiling.channels,
        rows,
        splits,
      },
      splits: tiling.splits,
    };
  };
  const grid = (perImage: number): WorkgroupCounts => ({
    kind: 'grid-stride',
    elementsPerImage: perImage,
    threads: 256,
    maxGroups: pointwiseMaxGroups,
  });
  const shapeOf = (id: number) => nodes[id]!.type.shape as number[];

  const launches: Launch[] = [];
  // For liveness: what each launch reads and writes (a launch may also read a temporary).
  const steps: ScheduleStep[] = [];
  const push = (
    node: Node,
    kernel: string,
    bindings: Binding[],
    workgroups: WorkgroupCounts,
    reads: number[],
    writes: number | number[],
    withoutSubgroups?: string,
    choice?: DispatchChoice,
  ) => {
    launches.push({
      kernel,
      module: node.module,
      node: node.id,
      bindings,
      workgroups,
      ...(withoutSubgroups === undefined ? {} : { withoutSubgroups }),
      ...(choice === undefined ? {} : { choice }),
    });
    steps.push({ reads, writes: typeof writes === 'number' ? [writes] : writes });
  };

  /**
   * A convolution's launch (forward, input or weight gradient). Under --target auto it offers every
   * strategy, chosen when the runtime loads the step (runtime/kernel-choice.ts): the direct kernel's
   * variants, one of which is software adapters' default, and the tiled GEMM, GPUs' (the reference,
   * listed first; its kernel names the choice). Other targets, and shapes the direct kernel does not
   * run, get one of them.
   */
  const pushConvolution = (
    node: Node,
    bindings: Binding[],
    reads: number[],
    writes: number,
    direct: DirectStrategies | undefined,
    gemmStrategy: () => ConvStrategy,
  ) => {
    const preferred = direct?.variants.find((v) => v.name === direct.preferred)?.strategy;
    if (direct && !preferred) throw new Error(`${node.module}: no direct variant ${direct.preferred}`);
    if (preferred && !offersChoice) {
      push(node, preferred.kernel, bindings, preferred.workgroups, reads, writes, preferred.withoutSubgroups);
      return;
    }
    const gemm = gemmStrategy();
    if (!direct || !preferred) {
      for (const launch of [gemm, ...(gemm.followedBy ?? [])])
        push(node, launch.kernel, bindings, launch.workgroups, reads, writes);
      return;
    }
    const variant = (name: string, strategy: ConvStrategy): DispatchVariant => ({
      name,
      kernel: strategy.kernel,
      bindings,
      workgroups: strategy.workgroups,
      ...(strategy.withoutSubgroups === undefined ? {} : { withoutSubgroups: strategy.withoutSubgroups }),
      ...(strategy.followedBy?.length
        ? {
            followedBy: strategy.followedBy.map((t) => ({
              kernel: t.kernel,
              bindings,
              workgroups: t.workgroups,
            })),
          }
        : {}),
    });
    push(node, preferred.kernel, bindings, preferred.workgroups, reads, writes, preferred.withoutSubgroups, {
      key: gemm.kernel,
      variants: [variant('gemm', gemm), ...direct.variants.map((v) => variant(v.name, v.strategy))],
      defaults: { software: direct.preferred, hardware: 'gemm' },
    });
  };

  // Launches that also compute a neighbour (see fusedWith): those neighbours get no launch of their own.
  const consumers = new Map<number, Node[]>();
  for (const node of nodes)
    for (const input of node.inputs) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  const fused = fusedWith(nodes, consumers);
  const computedElsewhere = new Set([...fused.values()].map((n) => n.id));

  for (const node of nodes) {
    if (computedElsewhere.has(node.id)) continue;
    const a = node.attrs as unknown as TrainAttrs;
    const [i0, i1, i2] = node.inputs;
    const partner = fused.get(node.id);
    switch (node.op) {
      case 'input':
      case 'parameter':
      case 'output':
        break;
      case 'conv2d': {
        const s = convShape(shapeOf(i0!), shapeOf(node.id), a);
        pushConvolution(
          node,
          [bind(node.id), bind(i0!), bind(i1!), ...(i2 === undefined ? [] : [bind(i2)])],
          node.inputs.slice(),
          node.id,
          directTrainConv(s, i2 !== undefined, 'official'),
          () => gemm(convForwardSpec(s, i2 !== undefined), s.outHeight * s.outWidth, 0),
        );
        break;
      }
      case 'conv2d_grad_input': {
        const s = convShape(shapeOf(node.id), shapeOf(i0!), a);
        pushConvolution(
          node,
          [bind(node.id), bind(i0!), bind(i1!)],
          [i0!, i1!],
          node.id,
          directTrainConv(inputGradientConv(s), false, 'flipped-transposed'),
          () => {
            // The GEMM runs once per stride class (one class at stride 1).
            const [first, ...rest] = strideClasses(s).map((strideClass) =>
              gemm(convGradInputSpec(s, strideClass), strideClass.rows * strideClass.cols, 0),
            );
            return { ...first!, followedBy: rest };
          },
        );
        break;
      }
      case 'conv2d_grad_weight': {
        const s = convShape(shapeOf(i0!), shapeOf(i1!), a);
        const direct = directAllowed ? directWeightGradient(s) : undefined;
        // Both strategies split the reduction alike, so they share the partial sums and their sum.
        const splits = direct?.splits ?? weightGradientSplits(s);
        const elements = s.outChannels * s.inChannels * s.kernel * s.kernel;
        const convolution = (bindings: Binding[], writes: number) =>
          pushConvolution(
            node,
            bindings,
            [i0!, i1!],
            writes,
            direct && { preferred: 'direct', variants: [{ name: 'direct', strategy: direct }] },
            () => gemmWeightGradient(s, splits),
          );
        if (splits === 1) {
          convolution([bind(node.id), bind(i0!), bind(i1!)], node.id);
        } else {
          const temporary = nextTemporary--;
          temporaries.push({
            id: temporary,
            bytes: splits * elements * 4,
            label: `partial sums of ${node.module} weight gradient`,
            shape: [splits, elements],
          });
          convolution([{ kind: 'fixed', tensor: temporary }, bind(i0!), bind(i1!)], temporary);
          const reduce = addKernel(
            partialSumKernel(elements, splits),
            `sum of ${splits} partial weight gradients`,
            'partial_sum',
          );
          push(
            node,
            reduce,
            [bind(node.id), { kind: 'fixed', tensor: temporary }],
            partialSumWorkgroups(elements),
            [temporary],
            node.id,
          );
        }
        break;
      }
      case 'bn_stats': {
        const [, c, h, w] = shapeOf(i0!) as [number, number, number, number];
        // With its bn_running: the running statistics are updated by the same launch.
        const running = partner ? [partner.inputs[0]!, partner.inputs[1]!] : [];
        const momentum = partner ? (partner.attrs as unknown as TrainAttrs).momentum : undefined;
        push(
          node,
          addKernel(batchStatsKernel(c, h * w, momentum), 'batch statistics', 'bn_stats'),
          [bind(node.id), bind(i0!), ...running.map(bind)],
          channelReductionWorkgroups(c, h * w),
          [i0!],
          partner ? [node.id, partner.id] : node.id,
        );
        break;
      }
      case 'bn_train': {
        const [, c, h, w] = shapeOf(node.id) as [number, number, number, number];
        // With the add that is its only reader (and that add's ReLU), or with the ReLU that is its
        // only reader, it stores the last of them instead of its own value.
        const add = partner?.op === 'add' ? partner : undefined;
        const relu = add ? fused.get(add.id) : partner;
        const other = add?.inputs.find((id) => id !== node.id);
        const out = relu?.id ?? add?.id ?? node.id;
        const reads = [...node.inputs, ...(other === undefined ? [] : [other])];
        push(
          node,
          addKernel(
            batchNormTrainKernel(c, h * w, a.eps, relu !== undefined, other !== undefined),
            `training batch norm${add ? ', add' : ''}${relu ? ' and ReLU' : ''}`,
            'bn_train',
          ),
          [bind(out), ...reads.map(bind)],
          channelReductionWorkgroups(c, h * w),
          reads,
          out,
        );
        break;
      }
      case 'bn_running': {
        const c = shapeOf(i0!)[0]!;
        const plane = a.plane;
        push(
          node,
          addKernel(batchNormRunningKernel(c, plane, a.momentum), 'running statistics', 'bn_running'),
          [bind(i0!), bind(i1!), bind(i2!)],
          { kind: 'fixed', x: Math.ceil(c / 64) },
          [i2!],
          node.id,
        );
        break;
      }
      case 'mse_loss': {
        const [, j, h, w] = shapeOf(i0!) as [number, number, number, number];
        push(
          node,
          addKernel(mseLossKernel(j, h * w, a.use_target_weight), 'JointsMSELoss', 'mse_loss'),
          [bind(node.id), bind(i0!), bind(i1!), bind(i2!)],
          { kind: 'fixed', x: 1 },
          [i0!, i1!, i2!],
          node.id,
        );
        break;
      }
      case 'mse_loss_grad': {
        const [, j, h, w] = shapeOf(i0!) as [number, number, number, number];
        push(
          node,
          addKernel(
            mseLossGradKernel(j, h * w, a.use_target_weight),
            'JointsMSELoss gradient',
            'mse_loss_grad',
          ),
          [bind(node.id), bind(i0!), bind(i1!), bind(i2!)],
          grid(j * h * w),
          [i0!, i1!, i2!],
          node.id,
        );
        break;
      }
      case 'relu_grad':
        push(
          node,
          addKernel(reluGradKernel(elementsPerItem(node.type)), 'ReLU gradient', 'relu_grad'),
          [bind(node.id), bind(i0!), bind(i1!)],
          grid(reluGradIterations(elementsPerItem(node.type))),
          [i0!, i1!],
          node.id,
        );
        break;
      case 'channel_sum':
      case 'bn_grad_gamma': {
        const [, c, h, w] = shapeOf(i0!) as [number, number, number, number];
        // A fused ReLU mask is the last input (passes/fuse-relu-mask.ts).
        const masked = node.inputs.length === (node.op === 'channel_sum' ? 2 : 4);
        // bn_grad_gamma with the channel_sum of the same gradient (the β gradient) in one launch.
        const wgsl =
          node.op === 'channel_sum'
            ? channelSumKernel(c, h * w, masked)
            : batchNormGammaGradKernel(c, h * w, a.eps, masked, partner !== undefined);
        push(
          node,
          addKernel(wgsl, partner ? 'bn_grad_gamma and channel_sum' : node.op, node.op),
          [bind(node.id), ...(partner ? [bind(partner.id)] : []), ...node.inputs.map(bind)],
          channelReductionWorkgroups(c, h * w),
          node.inputs.slice(),
          partner ? [node.id, partner.id] : node.id,
        );
        break;
      }
      case 'bn_grad_input': {
        const [, c, h, w] = shapeOf(node.id) as [number, number, number, number];
        const reads = node.inputs.slice();
        const masked = reads.length === 7;
        push(
          node,
          addKernel(
            batchNormInputGradKernel(c, h * w, a.eps, masked),
            `BN input gradient${masked ? ' with the ReLU mask' : ''}`,
            'bn_grad_input',
          ),
          [bind(node.id), ...reads.map(bind)],
          channelReductionWorkgroups(c, h * w),
          reads,
          node.id,
        );
        break;
      }
      case 'upsample_nearest_grad': {
        const [, c, h, w] = shapeOf(node.id) as [number, number, number, number];
        push(
          node,
          addKernel(upsampleGradKernel(c, h, w, a.scale), 'upsample gradient', 'upsample_grad'),
          [bind(node.id), bind(i0!)],
          grid(c * h * w),
          [i0!],
          node.id,
        );
        break;
      }
      case 'relu':
      case 'add':
      case 'upsample_nearest': {
        if (partner?.op === 'relu_grad') {
          // The sum of two gradients whose only reader is a ReLU's gradient: both in one launch.
          const y = partner.inputs[1]!;
          const perImage = elementsPerItem(node.type);
          push(
            node,
            addKernel(reluGradKernel(perImage, true), 'add and ReLU gradient', 'relu_grad'),
            [bind(partner.id), bind(i0!), bind(i1!), bind(y)],
            grid(reluGradIterations(perImage)),
            [i0!, i1!, y],
            partner.id,
          );
          break;
        }
        if (!isBatched(node.id))
          throw new Error(
            `a training graph's ${node.op} of batch-independent values is not supported (${node.module})`,
          );
        const [, c, h, w] = shapeOf(node.id) as [number, number, number, number];
        const spec: ElementwiseKernelSpec =
          node.op === 'upsample_nearest'
            ? {
                kind: 'upsample_nearest',
                channels: c,
                height: h / a.scale,
                width: w / a.scale,
                scale: a.scale,
              }
            : node.op === 'add' && partner
              ? { kind: 'add', elements: c * h * w, relu: true }
              : { kind: node.op, elements: c * h * w };
        const wgsl = generateElementwiseKernel(spec);
        // An add with the ReLU that is its only reader stores the ReLU's value instead of its own.
        const out = partner?.id ?? node.id;
        push(
          node,
          addKernel(wgsl, partner ? 'add and ReLU' : node.op, node.op),
          [bind(out), ...node.inputs.map(bind)],
          { kind: 'grid-stride', ...elementwiseWorkgroups(spec) },
          node.inputs.slice(),
          out,
        );
        break;
      }
      default:
        throw new Error(`no training kernel for ${node.op} (${node.module})`);
    }
  }

  const neededForTraining = ancestors(
    nodes,
    outputs.filter((o) => o.module !== trainingOutput.gradient('input')).map((o) => o.id),
  );
  launches.forEach((launch, i) => {
    if (!neededForTraining.has(launch.node)) launches[i] = { ...launch, onlyForGradInput: true };
  });

  // Liveness over the launch list, planned separately for the batched arena and the fixed arena.
  const live = liveRanges(
    steps,
    [inputs.input, inputs.target, inputs.targetWeight],
    [loss, heatmaps, ...(gradInput === undefined ? [] : [gradInput])],
  );
  const names = valueNames(graph);
  const planned = (ids: number[], bytesOf: (id: number) => number): PlannedTensor[] =>
    ids.map((id) => ({ id, bytes: bytesOf(id), ...live.get(id)! }));
  const placed = (id: number) =>
    live.has(id) &&
    bind(id).kind !== 'gradient' &&
    bind(id).kind !== 'parameter' &&
    bind(id).kind !== 'running';
  const arenaIds = nodes.filter((n) => isBatched(n.id) && placed(n.id)).map((n) => n.id);
  const fixedIds = [
    ...nodes.filter((n) => !isBatched(n.id) && placed(n.id) && n.op !== 'bn_running').map((n) => n.id),
    ...temporaries.map((t) => t.id),
  ];
  const temporaryById = new Map(temporaries.map((t) => [t.id, t]));
  const fixedBytesOf = (id: number) => temporaryById.get(id)?.bytes ?? elementsPerItem(nodes[id]!.type) * 4;
  const arenaPlan = planMemory(planned(arenaIds, (id) => elementsPerItem(nodes[id]!.type) * 4));
  const fixedPlan = planMemory(planned(fixedIds, fixedBytesOf));
  const label = (id: number) => temporaryById.get(id)?.label ?? `${names[id]} ${nodes[id]!.module}`;

  const adamName = addKernel(adamKernel(parameters.bytes / 4), 'Adam', 'adam');
  const sgdName = addKernel(sgdKernel(parameters.bytes / 4), 'SGD', 'sgd');
  const optimizerGroups = optimizerWorkgroups(parameters.bytes / 4);
  const whole = (slot: 'expAvg' | 'expAvgSq' | 'momentumBuffer' | 'hyper'): Binding => ({
    kind: 'optimizer',
    slot,
  });
  return {
    kernels: kernels.list(),
    launches,
    optimizer: {
      adam: {
        kernel: adamName,
        module: 'optimizer',
        node: -1,
        bindings: [
          { kind: 'parameter', entry: -1 },
          { kind: 'gradient', entry: -1 },
          whole('expAvg'),
          whole('expAvgSq'),
          whole('hyper'),
        ],
        workgroups: optimizerGroups,
      },
      sgd: {
        kernel: sgdName,
        module: 'optimizer',
        node: -1,
        bindings: [
          { kind: 'parameter', entry: -1 },
          { kind: 'gradient', entry: -1 },
          whole('momentumBuffer'),
          whole('hyper'),
        ],
        workgroups: optimizerGroups,
      },
    },
    inputs,
    inputShapes: {
      input: shapeOf(inputs.input).slice(1),
      target: shapeOf(inputs.target).slice(1),
      targetWeight: shapeOf(inputs.targetWeight).slice(1),
    },
    outputs: { loss, heatmaps, ...(gradInput === undefined ? {} : { gradInput }) },
    tensors: arenaIds.map((id) => ({
      id,
      label: label(id),
      shape: shapeOf(id).slice(1),
      offset: arenaPlan.offsets.get(id)!,
      bytes: alignUp(elementsPerItem(nodes[id]!.type) * 4),
    })),
    fixedTensors: fixedIds.map((id) => ({
      id,
      label: label(id),
      shape: temporaryById.get(id)?.shape ?? shapeOf(id),
      offset: fixedPlan.offsets.get(id)!,
      bytes: alignUp(fixedBytesOf(id)),
    })),
    arenaBytesPerImage: arenaPlan.arenaBytes,
    fixedBytes: Math.max(256, fixedPlan.arenaBytes),
    parameters: parameters.entries,
    parameterBytes: parameters.bytes,
    running: running.entries,
    runningBytes: running.bytes,
  };
}

export const optimizerHyperValues = hyperCount;

/** The direct kernel's variants of one convolution launch, and the one software adapters take. */
interface DirectStrategies {
  readonly preferred: string;
  readonly variants: readonly { readonly name: string; readonly strategy: ConvStrategy }[];
}

/** One strategy's launch of a convolution (see pushConvolution); `followedBy` follow it. */
interface ConvStrategy {
  readonly kernel: string;
  readonly workgroups: WorkgroupCounts;
  readonly withoutSubgroups?: string | undefined;
  readonly followedBy?: readonly { readonly kernel: string; readonly workgroups: WorkgroupCounts }[];
}

/** The attributes the planner reads; the verifier guarantees each op has its own. */
interface TrainAttrs {
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
  readonly eps: number;
  readonly momentum: number;
  readonly plane: number;
  readonly scale: number;
  readonly use_target_weight: boolean;
}

function convShape(input: number[], output: number[], a: TrainAttrs): ConvShape {
  const [, inChannels, height, width] = input as [unknown, number, number, number];
  const [, outChannels, outHeight, outWidth] = output as [unknown, number, number, number];
  return {
    inChannels,
    height,
    width,
    outChannels,
    outHeight,
    outWidth,
    kernel: a.kernel,
    stride: a.stride,
    pad: a.pad,
  };
}

/**
 * Nodes whose launch also computes a neighbour, and that neighbour: bn_stats and the bn_running that
 * reads its statistics (the running update is a few values per channel); bn_train or add and the
 * ReLU that is its only reader (the value before the ReLU is then never stored, one pass over the
 * activation less); bn_train and the add (a residual or fuse-layer sum) that is its only reader,
 * when the add's other term comes earlier in the schedule (that add's own ReLU then rides along
 * too); an add of two gradients and the ReLU gradient that is its only reader; bn_grad_gamma and
 * the channel_sum (β gradient) of the same output gradient and mask, later in the schedule (one
 * read of the gradient for both sums). Each fusion computes the same values in the same order as
 * the separate launches (a sum of two terms is the same in either order).
 */
function fusedWith(
  nodes: readonly Node[],
  consumers: ReadonlyMap<number, readonly Node[]>,
): Map<number, Node> {
  const fused = new Map<number, Node>();
  const readers = (id: number) => consumers.get(id) ?? [];
  const taken = new Set<number>();
  for (const node of nodes) {
    let partner: Node | undefined;
    if (node.op === 'bn_stats') {
      const [, , h, w] = nodes[node.inputs[0]!]!.type.shape as [unknown, number, number, number];
      partner = readers(node.id).find(
        (n) => n.op === 'bn_running' && n.inputs[2] === node.id && n.attrs.plane === h * w,
      );
    } else if (node.op === 'bn_train' || node.op === 'add') {
      const only = readers(node.id);
      const reader = only.length === 1 ? only[0]! : undefined;
      if (reader?.op === 'relu') partner = reader;
      else if (node.op === 'bn_train' && reader?.op === 'add') {
        const [first, second] = reader.inputs;
        const other = first === node.id ? second! : first!;
        if (first !== second && other < node.id) partner = reader;
      } else if (node.op === 'add' && reader?.op === 'relu_grad' && reader.inputs[0] === node.id) {
        if (reader.inputs[1]! < node.id) partner = reader;
      }
    } else if (node.op === 'bn_grad_gamma') {
      const mask = node.inputs[3];
      partner = readers(node.inputs[0]!).find(
        (n) => n.op === 'channel_sum' && n.id > node.id && n.inputs[1] === mask && !taken.has(n.id),
      );
    }
    if (partner && !taken.has(partner.id)) {
      fused.set(node.id, partner);
      taken.add(partner.id);
    }
  }
  return fused;
}

/** The nodes the given nodes depend on, themselves included. */
function ancestors(nodes: readonly Node[], roots: readonly number[]): Set<number> {
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...nodes[id]!.inputs);
  }
  return seen;
}
