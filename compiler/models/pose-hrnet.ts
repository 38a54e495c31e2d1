import type { ExperimentConfig, HrnetStageConfig, PoseHrnetExtra } from '../config/experiment-config.ts';
import type { Graph } from '../ir/graph.ts';
import { tensorType } from '../ir/tensor-type.ts';
import { LayerBuilder } from './layers.ts';

/** Block expansions of the official BasicBlock and Bottleneck. */
const expansion = { BASIC: 1, BOTTLENECK: 4 } as const;

/**
 * Lowers the official PoseHighResolutionNet (lib/models/pose_hrnet.py) to the IR: the same layers in
 * the same order, the same fuse-layer summation order, and the official parameter names.
 */
export function lowerPoseHrnet(config: ExperimentConfig): Graph {
  if (config.MODEL.NAME !== 'pose_hrnet') throw new Error('lowerPoseHrnet needs MODEL.NAME pose_hrnet');
  const extra: PoseHrnetExtra = config.MODEL.EXTRA;
  const [width, height] = config.MODEL.IMAGE_SIZE;
  const b = new LayerBuilder('pose_hrnet');
  let x = b.input(tensorType(['N', 3, height, width]));

  // Stem: two 3x3 stride-2 convs, each with BN and ReLU (the one `relu` module is shared).
  x = b.relu(b.batchNorm(b.conv(x, 'conv1', 64, 3, 2, 1), 'bn1'), 'relu');
  x = b.relu(b.batchNorm(b.conv(x, 'conv2', 64, 3, 2, 1), 'bn2'), 'relu');

  // layer1: four Bottlenecks of 64 planes; the first gets the 1x1 downsample (64 -> 256).
  for (let i = 0; i < 4; i++) x = bottleneck(b, x, `layer1.${i}`, 64, 1);

  let branches = [x];
  const stages: [string, string, HrnetStageConfig][] = [
    ['transition1', 'stage2', extra.STAGE2],
    ['transition2', 'stage3', extra.STAGE3],
    ['transition3', 'stage4', extra.STAGE4],
  ];
  stages.forEach(([transitionName, stageName, stage], stageIndex) => {
    const channels = stage.NUM_CHANNELS.map((c) => c * expansion[stage.BLOCK]);
    branches = transition(b, branches, channels, transitionName);
    const isLastStage = stageIndex === stages.length - 1;
    for (let m = 0; m < stage.NUM_MODULES; m++) {
      const multiScaleOutput = !(isLastStage && m === stage.NUM_MODULES - 1);
      branches = highResolutionModule(b, branches, stage, `${stageName}.${m}`, multiScaleOutput);
    }
  });

  const kernel = extra.FINAL_CONV_KERNEL;
  const heatmaps = b.conv(
    branches[0]!,
    'final_layer',
    config.MODEL.NUM_JOINTS,
    kernel,
    1,
    kernel === 3 ? 1 : 0,
    true,
  );
  b.output(heatmaps);
  return b.graph.build();
}

/** The official _make_transition_layer and the forward's use of it. */
function transition(b: LayerBuilder, previous: number[], channels: number[], name: string): number[] {
  const previousChannels = previous.map((x) => b.channels(x));
  return channels.map((out, i) => {
    if (i < previous.length) {
      if (out === previousChannels[i]) return previous[i]!;
      // The official forward feeds the last branch here (see the front end's check E404).
      const source = previous.at(-1)!;
      return b.relu(
        b.batchNorm(b.conv(source, `${name}.${i}.0`, out, 3, 1, 1), `${name}.${i}.1`),
        `${name}.${i}.2`,
      );
    }
    let x = previous.at(-1)!;
    const steps = i + 1 - previous.length;
    for (let j = 0; j < steps; j++) {
      const stepOut = j === steps - 1 ? out : b.channels(x);
      const prefix = `${name}.${i}.${j}`;
      x = b.relu(b.batchNorm(b.conv(x, `${prefix}.0`, stepOut, 3, 2, 1), `${prefix}.1`), `${prefix}.2`);
    }
    return x;
  });
}

/** The official HighResolutionModule: branches of blocks, then the fuse layers. */
function highResolutionModule(
  b: LayerBuilder,
  inputs: number[],
  stage: HrnetStageConfig,
  name: string,
  multiScaleOutput: boolean,
): number[] {
  const branches = inputs.map((input, i) => {
    let x = input;
    for (let k = 0; k < stage.NUM_BLOCKS[i]!; k++) {
      const module = `${name}.branches.${i}.${k}`;
      x =
        stage.BLOCK === 'BASIC'
          ? basicBlock(b, x, module, stage.NUM_CHANNELS[i]!)
          : bottleneck(b, x, module, stage.NUM_CHANNELS[i]!, 1);
    }
    return x;
  });
  if (branches.length === 1) return branches;

  const outputCount = multiScaleOutput ? branches.length : 1;
  const fused: number[] = [];
  for (let i = 0; i < outputCount; i++) {
    const fuse = `${name}.fuse_layers.${i}`;
    // y = x[0] (or its fuse term), then + each j = 1..n-1 in order, then ReLU.
    let y = i === 0 ? branches[0]! : fuseTerm(b, branches, i, 0, fuse);
    for (let j = 1; j < branches.length; j++) {
      y = b.add(y, i === j ? branches[j]! : fuseTerm(b, branches, i, j, fuse), fuse);
    }
    fused.push(b.relu(y, fuse));
  }
  return fused;
}

/** fuse_layers[i][j] applied to branch j, bringing it to branch i's resolution and channels. */
function fuseTerm(b: LayerBuilder, branches: number[], i: number, j: number, fuse: string): number {
  const target = b.channels(branches[i]!);
  const source = branches[j]!;
  const name = `${fuse}.${j}`;
  if (j > i) {
    const reduced = b.batchNorm(b.conv(source, `${name}.0`, target, 1, 1, 0), `${name}.1`);
    return b.upsampleNearest(reduced, 2 ** (j - i), `${name}.2`);
  }
  let x = source;
  const sourceChannels = b.channels(source);
  for (let k = 0; k < i - j; k++) {
    const last = k === i - j - 1;
    const conv = b.conv(x, `${name}.${k}.0`, last ? target : sourceChannels, 3, 2, 1);
    x = b.batchNorm(conv, `${name}.${k}.1`);
    if (!last) x = b.relu(x, `${name}.${k}.2`);
  }
  return x;
}

/** The official BasicBlock; a 1x1 downsample only when the channel count changes. */
function basicBlock(b: LayerBuilder, x: number, name: string, planes: number): number {
  let out = b.relu(b.batchNorm(b.conv(x, `${name}.conv1`, planes, 3, 1, 1), `${name}.bn1`), `${name}.relu`);
  out = b.batchNorm(b.conv(out, `${name}.conv2`, planes, 3, 1, 1), `${name}.bn2`);
  const residual = b.channels(x) !== planes ? downsample(b, x, name, planes, 1) : x;
  return b.relu(b.add(out, residual, name), `${name}.relu`);
}

/** The official Bottleneck (expansion 4). */
function bottleneck(b: LayerBuilder, x: number, name: string, planes: number, stride: number): number {
  let out = b.relu(b.batchNorm(b.conv(x, `${name}.conv1`, planes, 1, 1, 0), `${name}.bn1`), `${name}.relu`);
  out = b.relu(
    b.batchNorm(b.conv(out, `${name}.conv2`, planes, 3, stride, 1), `${name}.bn2`),
    `${name}.relu`,
  );
  out = b.batchNorm(b.conv(out, `${name}.conv3`, planes * 4, 1, 1, 0), `${name}.bn3`);
  const residual =
    stride !== 1 || b.channels(x) !== planes * 4 ? downsample(b, x, name, planes * 4, stride) : x;
  return b.relu(b.add(out, residual, name), `${name}.relu`);
}

function downsample(b: LayerBuilder, x: number, name: string, out: number, stride: number): number {
  return b.batchNorm(b.conv(x, `${name}.downsample.0`, out, 1, stride, 0), `${name}.downsample.1`);
}
