import type { Graph } from '../ir/graph.ts';
import { GraphBuilder } from '../ir/graph.ts';
import { tensorType } from '../ir/tensor-type.ts';
import { differentiate } from './autodiff.ts';

export interface TrainingOptions {
  /** LOSS.USE_TARGET_WEIGHT. */
  readonly useTargetWeight: boolean;
}

/** The roles of a training graph's outputs, carried in their module names. */
export const trainingOutput = {
  loss: 'loss',
  heatmaps: 'output',
  gradient: (name: string) => `grad:${name}`,
  running: (batchNormModule: string) => `running:${batchNormModule}`,
} as const;

/**
 * The training step as one graph: batch_norm in training mode (batch statistics to normalise, and the
 * running statistics updated with momentum and the unbiased variance, as PyTorch does), the official
 * JointsMSELoss on `target` and `target_weight`, and the backward graph from passes/autodiff.ts. Its
 * outputs are the loss, the heatmaps, each BN's new running statistics, and the gradient of the input
 * and of every trainable parameter.
 */
export function buildTrainingGraph(forward: Graph, options: TrainingOptions): Graph {
  const b = new GraphBuilder(forward.name);
  const newId = new Map<number, number>();
  const map = (id: number) => newId.get(id)!;
  let heatmaps: number | undefined;
  const running: { id: number; module: string }[] = [];
  for (const node of forward.nodes) {
    if (node.op === 'output') {
      heatmaps = map(node.inputs[0]!);
      continue;
    }
    if (node.op === 'batch_norm') {
      const [x, gamma, beta, mean, variance] = node.inputs.map(map) as [
        number,
        number,
        number,
        number,
        number,
      ];
      const shape = node.type.shape as [unknown, number, number, number];
      const stats = b.add({
        op: 'bn_stats',
        inputs: [x],
        type: tensorType([2, shape[1]]),
        attrs: {},
        module: node.module,
      });
      const y = b.add({
        op: 'bn_train',
        inputs: [x, stats, gamma, beta],
        type: node.type,
        attrs: { eps: node.attrs.eps as number },
        module: node.module,
      });
      const updated = b.add({
        op: 'bn_running',
        inputs: [mean, variance, stats],
        type: tensorType([2, shape[1]]),
        attrs: { momentum: node.attrs.momentum as number, plane: shape[2] * shape[3] },
        module: node.module,
      });
      running.push({ id: updated, module: node.module });
      newId.set(node.id, y);
      continue;
    }
    newId.set(
      node.id,
      b.add({
        op: node.op,
        inputs: node.inputs.map(map),
        type: node.type,
        attrs: node.attrs,
        module: node.module,
      }),
    );
  }
  if (heatmaps === undefined) throw new Error('the forward graph has no output');
  const heatmapType = b.typeOf(heatmaps);
  const joints = heatmapType.shape[1] as number;
  const target = b.add({ op: 'input', inputs: [], type: heatmapType, attrs: {}, module: 'target' });
  const targetWeight = b.add({
    op: 'input',
    inputs: [],
    type: tensorType(['N', joints, 1]),
    attrs: {},
    module: 'target_weight',
  });
  const useTargetWeight = options.useTargetWeight;
  const loss = b.add({
    op: 'mse_loss',
    inputs: [heatmaps, target, targetWeight],
    type: tensorType([1]),
    attrs: { use_target_weight: useTargetWeight },
    module: 'loss',
  });
  const withLoss = b.build();

  const { graph, gradients } = differentiate(
    withLoss,
    new Map([
      [
        heatmaps,
        (emit) =>
          emit({
            op: 'mse_loss_grad',
            inputs: [heatmaps, target, targetWeight],
            type: heatmapType,
            attrs: { use_target_weight: useTargetWeight },
            module: 'loss',
          }),
      ],
    ]),
  );
  const out = new GraphBuilder(forward.name);
  for (const node of graph.nodes) out.add(node);
  const output = (value: number, module: string) =>
    out.add({ op: 'output', inputs: [value], type: graph.nodes[value]!.type, attrs: {}, module });
  output(loss, trainingOutput.loss);
  output(heatmaps, trainingOutput.heatmaps);
  for (const r of running) output(r.id, trainingOutput.running(r.module));
  for (const node of graph.nodes) {
    const gradient = gradients.get(node.id);
    if (gradient === undefined) continue;
    if (node.op === 'parameter' && (node.attrs.role === 'weight' || node.attrs.role === 'bias'))
      output(gradient, trainingOutput.gradient(node.module));
    if (node.op === 'input' && node.module === 'input') output(gradient, trainingOutput.gradient('input'));
  }
  return out.build();
}
