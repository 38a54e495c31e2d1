import { type Diagnostic, error, type Span, warning } from '../diagnostics/diagnostic.ts';
import type {
  ExperimentConfig,
  HrnetStageConfig,
  PoseHrnetExtra,
  PoseResnetExtra,
} from './experiment-config.ts';

export type ConfigPath = readonly (string | number)[];

/**
 * The span of the first path the user wrote; when none was written (all defaults), the nearest
 * enclosing key of the first path.
 */
export type Locator = (...paths: ConfigPath[]) => Span | undefined;

/**
 * Checks that a schema cannot express: relations between keys, and configs that the official code
 * would accept and then crash on (or silently misread) later.
 */
export function checkSemantics(config: ExperimentConfig, locate: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { MODEL, TRAIN, DATASET } = config;

  const expectedJoints = { mpii: 16, coco: 17 }[DATASET.DATASET];
  if (MODEL.NUM_JOINTS !== expectedJoints) {
    out.push(
      error(
        'E407',
        `MODEL.NUM_JOINTS is ${MODEL.NUM_JOINTS} but the ${DATASET.DATASET} dataset has ${expectedJoints} joints`,
        locate(['MODEL', 'NUM_JOINTS'], ['DATASET', 'DATASET']),
        ['the loss compares one heatmap per dataset joint, so the counts must agree'],
      ),
    );
  }
  for (let i = 1; i < TRAIN.LR_STEP.length; i++) {
    if (TRAIN.LR_STEP[i]! <= TRAIN.LR_STEP[i - 1]!) {
      out.push(
        error(
          'E405',
          `TRAIN.LR_STEP must increase: ${TRAIN.LR_STEP[i]} comes after ${TRAIN.LR_STEP[i - 1]}`,
          locate(['TRAIN', 'LR_STEP', i]),
        ),
      );
    }
  }
  if (TRAIN.BEGIN_EPOCH >= TRAIN.END_EPOCH) {
    out.push(
      error(
        'E406',
        `TRAIN.BEGIN_EPOCH (${TRAIN.BEGIN_EPOCH}) must be less than TRAIN.END_EPOCH (${TRAIN.END_EPOCH})`,
        locate(['TRAIN', 'END_EPOCH'], ['TRAIN', 'BEGIN_EPOCH']),
      ),
    );
  }
  if (MODEL.NAME === 'pose_hrnet') out.push(...checkHrnet(config, MODEL.EXTRA, locate));
  else out.push(...checkResnet(config, MODEL.EXTRA, locate));
  return out;
}

const hrnetModules = [
  'conv1',
  'bn1',
  'conv2',
  'bn2',
  'layer1',
  'transition1',
  'stage2',
  'transition2',
  'stage3',
  'transition3',
  'stage4',
  'final_layer',
];
const resnetModules = [
  'conv1',
  'bn1',
  'layer1',
  'layer2',
  'layer3',
  'layer4',
  'deconv_layers',
  'final_layer',
];

function checkHrnet(config: ExperimentConfig, extra: PoseHrnetExtra, locate: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  const stageNames = ['STAGE2', 'STAGE3', 'STAGE4'] as const;
  const extraPath = (...rest: (string | number)[]) => ['MODEL', 'EXTRA', ...rest];

  let countsAgree = true;
  for (const name of stageNames) {
    const stage: HrnetStageConfig = extra[name];
    for (const list of ['NUM_BLOCKS', 'NUM_CHANNELS'] as const) {
      if (stage[list].length !== stage.NUM_BRANCHES) {
        countsAgree = false;
        out.push(
          error(
            'E401',
            `${name}.NUM_BRANCHES is ${stage.NUM_BRANCHES} but ${name}.${list} has ${stage[list].length} entr${stage[list].length === 1 ? 'y' : 'ies'}`,
            locate(extraPath(name, list), extraPath(name, 'NUM_BRANCHES')),
            ['the official HighResolutionModule._check_branches requires one entry per branch'],
          ),
        );
      }
    }
  }

  if (countsAgree) {
    // The official forward feeds the previous stage's last branch to every transition that is not an
    // identity, so only the last existing branch may change its channel count.
    let previous = [256];
    let previousName = 'layer1';
    for (const name of stageNames) {
      const stage = extra[name];
      const expansion = stage.BLOCK === 'BOTTLENECK' ? 4 : 1;
      const current = stage.NUM_CHANNELS.map((c) => c * expansion);
      for (let i = 0; i < Math.min(previous.length, current.length); i++) {
        if (i < previous.length - 1 && current[i] !== previous[i]) {
          out.push(
            error(
              'E404',
              `${name} changes branch ${i} from ${previous[i]} to ${current[i]} channels, which the official forward cannot run`,
              locate(extraPath(name, 'NUM_CHANNELS', i)),
              [
                `the transition into ${name} builds a 3x3 conv from ${previous[i]} channels for branch ${i}, but the official forward feeds it the last branch of ${previousName} (${previous.at(-1)} channels at a lower resolution)`,
                `keep branch ${i} at ${previous[i]} channels (NUM_CHANNELS times the block expansion); only the last existing branch may change`,
              ],
            ),
          );
        }
      }
      previous = current;
      previousName = name;
    }
  }

  const branches = Math.max(...stageNames.map((n) => extra[n].NUM_BRANCHES));
  const divisor = 4 * 2 ** (branches - 1);
  checkImageAndHeatmap(
    config,
    divisor,
    4,
    `the lowest-resolution branch is 1/${divisor} of the input`,
    locate,
    out,
  );

  if (extra.STEM_INPLANES !== 64) {
    out.push(
      warning(
        'W003',
        `MODEL.EXTRA.STEM_INPLANES is ${extra.STEM_INPLANES}, but the official pose_hrnet always uses a 64-channel stem`,
        locate(extraPath('STEM_INPLANES')),
      ),
    );
  }
  out.push(...checkPretrainedLayers(extra.PRETRAINED_LAYERS, hrnetModules, locate));
  return out;
}

function checkResnet(config: ExperimentConfig, extra: PoseResnetExtra, locate: Locator): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const list of ['NUM_DECONV_FILTERS', 'NUM_DECONV_KERNELS'] as const) {
    if (extra[list].length !== extra.NUM_DECONV_LAYERS) {
      out.push(
        error(
          'E408',
          `MODEL.EXTRA.NUM_DECONV_LAYERS is ${extra.NUM_DECONV_LAYERS} but ${list} has ${extra[list].length} entries`,
          locate(['MODEL', 'EXTRA', list], ['MODEL', 'EXTRA', 'NUM_DECONV_LAYERS']),
        ),
      );
    }
  }
  const outputStride = 32 / 2 ** extra.NUM_DECONV_LAYERS;
  checkImageAndHeatmap(config, 32, outputStride, 'the ResNet backbone downsamples 32 times', locate, out);
  out.push(...checkPretrainedLayers(extra.PRETRAINED_LAYERS, resnetModules, locate));
  return out;
}

function checkImageAndHeatmap(
  config: ExperimentConfig,
  divisor: number,
  outputStride: number,
  why: string,
  locate: Locator,
  out: Diagnostic[],
): void {
  const { IMAGE_SIZE, HEATMAP_SIZE } = config.MODEL;
  const axes = ['width', 'height'] as const;
  let divisible = true;
  for (const i of [0, 1] as const) {
    if (IMAGE_SIZE[i] % divisor !== 0) {
      divisible = false;
      out.push(
        error(
          'E402',
          `MODEL.IMAGE_SIZE ${axes[i]} ${IMAGE_SIZE[i]} is not divisible by ${divisor}`,
          locate(['MODEL', 'IMAGE_SIZE', i]),
          [`${why}; the branches' sizes only line up in the fuse layers when it divides the input`],
        ),
      );
    }
  }
  if (!divisible) return;
  for (const i of [0, 1] as const) {
    const expected = IMAGE_SIZE[i] / outputStride;
    if (HEATMAP_SIZE[i] !== expected) {
      out.push(
        error(
          'E403',
          `MODEL.HEATMAP_SIZE ${axes[i]} is ${HEATMAP_SIZE[i]} but the model outputs ${expected} (IMAGE_SIZE ${IMAGE_SIZE[i]} / ${outputStride})`,
          locate(['MODEL', 'HEATMAP_SIZE', i], ['MODEL', 'IMAGE_SIZE', i]),
          ['IMAGE_SIZE and HEATMAP_SIZE are [width, height]'],
        ),
      );
    }
  }
}

function checkPretrainedLayers(
  layers: readonly string[],
  modules: readonly string[],
  locate: Locator,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  layers.forEach((layer, i) => {
    if (layer !== '*' && !modules.includes(layer)) {
      out.push(
        warning(
          'W002',
          `MODEL.EXTRA.PRETRAINED_LAYERS entry '${layer}' names no top-level module, so it loads nothing`,
          locate(['MODEL', 'EXTRA', 'PRETRAINED_LAYERS', i]),
          [`top-level modules: ${modules.join(', ')}, or '*' for all`],
        ),
      );
    }
  });
  return out;
}
