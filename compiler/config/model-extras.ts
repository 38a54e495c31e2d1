import { type Diagnostic, error, type Span } from '../diagnostics/diagnostic.ts';
import type { SourceText } from '../diagnostics/source-text.ts';
import { type CfgNode, cfgNode, int, list, str } from './python-value.ts';

function hrnetStage(numModules: number, channels: number[]): CfgNode {
  return cfgNode(
    {
      NUM_MODULES: int(numModules),
      NUM_BRANCHES: int(channels.length),
      NUM_BLOCKS: list(...channels.map(() => int(4))),
      NUM_CHANNELS: list(...channels.map((c) => int(c))),
      BLOCK: str('BASIC'),
      FUSE_METHOD: str('SUM'),
    },
    true,
  );
}

/**
 * MODEL.EXTRA defaults per MODEL.NAME, from the official lib/config/models.py (there keyed
 * pose_high_resolution_net; the model registry's name is pose_hrnet). The nodes stay open to new keys,
 * as MODEL.EXTRA is in the official config. The official update_config never merges these (MODEL.EXTRA
 * is the file's alone), so they only give the merge its types and fill keys no model reads
 * (STEM_INPLANES); every key a model reads must be in the file (`modelExtraReads`).
 */
export const modelExtraDefaults: Readonly<Record<string, () => CfgNode>> = {
  pose_hrnet: () =>
    cfgNode(
      {
        PRETRAINED_LAYERS: list(str('*')),
        STEM_INPLANES: int(64),
        FINAL_CONV_KERNEL: int(1),
        STAGE2: hrnetStage(1, [32, 64]),
        STAGE3: hrnetStage(1, [32, 64, 128]),
        STAGE4: hrnetStage(1, [32, 64, 128, 256]),
      },
      true,
    ),
  pose_resnet: () =>
    cfgNode(
      {
        NUM_LAYERS: int(50),
        DECONV_WITH_BIAS: { type: 'bool', value: false },
        NUM_DECONV_LAYERS: int(3),
        NUM_DECONV_FILTERS: list(int(256), int(256), int(256)),
        NUM_DECONV_KERNELS: list(int(4), int(4), int(4)),
        FINAL_CONV_KERNEL: int(1),
        PRETRAINED_LAYERS: list(str('*')),
      },
      true,
    ),
};

export const knownModelNames = Object.keys(modelExtraDefaults);

const hrnetStageReads = ['NUM_MODULES', 'NUM_BRANCHES', 'BLOCK', 'NUM_BLOCKS', 'NUM_CHANNELS', 'FUSE_METHOD'];

/**
 * The MODEL.EXTRA keys each official model reads when it is built (lib/models/<name>.py): a key with
 * null is a value; a key with a list is a group whose listed keys are read too. pose_hrnet reads
 * STAGE2–4 (each through _make_stage) and FINAL_CONV_KERNEL and PRETRAINED_LAYERS in __init__;
 * pose_resnet reads NUM_LAYERS in get_pose_net and the deconv keys and FINAL_CONV_KERNEL in __init__.
 */
export const modelExtraReads: Readonly<Record<string, Readonly<Record<string, readonly string[] | null>>>> = {
  pose_hrnet: {
    STAGE2: hrnetStageReads,
    STAGE3: hrnetStageReads,
    STAGE4: hrnetStageReads,
    FINAL_CONV_KERNEL: null,
    PRETRAINED_LAYERS: null,
  },
  pose_resnet: {
    NUM_LAYERS: null,
    DECONV_WITH_BIAS: null,
    NUM_DECONV_LAYERS: null,
    NUM_DECONV_FILTERS: null,
    NUM_DECONV_KERNELS: null,
    FINAL_CONV_KERNEL: null,
  },
};

const noDefaultsNote =
  'MODEL.EXTRA has no defaults: the official update_config takes it from the experiment file alone (lib/config/models.py is never merged), so the official model code fails where it reads this key';

/**
 * E304 for every key `modelName` reads that the experiment file (`written`, the parsed file before any
 * merge) leaves out of MODEL.EXTRA, located at the key of the mapping that lacks it. A MODEL, EXTRA or
 * stage that is not a mapping in the file is skipped: the merge has reported its type already.
 */
export function missingExtraKeys(written: CfgNode, modelName: string, source: SourceText): Diagnostic[] {
  const reads = modelExtraReads[modelName];
  if (!reads) return [];
  const model = written.entries.get('MODEL');
  if (model && model.value.type !== 'node') return [];
  const extra = model?.value.type === 'node' ? model.value.entries.get('EXTRA') : undefined;
  if (!extra) {
    const keys = Object.keys(reads);
    const span: Span = model?.keySpan ?? { source, start: 0, end: 1 };
    return [
      error(
        'E304',
        `missing key MODEL.EXTRA: ${modelName} reads MODEL.EXTRA.${keys.slice(0, -1).join(', ')} and ${keys.at(-1)}`,
        span,
        [noDefaultsNote],
      ),
    ];
  }
  if (extra.value.type !== 'node') return [];
  const out: Diagnostic[] = [];
  const missing = (key: string, span: Span | undefined) =>
    out.push(error('E304', `missing key ${key}: ${modelName} reads it`, span, [noDefaultsNote]));
  for (const [key, groupKeys] of Object.entries(reads)) {
    const entry = extra.value.entries.get(key);
    if (!entry) {
      missing(`MODEL.EXTRA.${key}`, extra.keySpan);
      continue;
    }
    if (!groupKeys || entry.value.type !== 'node') continue;
    for (const inner of groupKeys) {
      if (!entry.value.entries.has(inner)) missing(`MODEL.EXTRA.${key}.${inner}`, entry.keySpan);
    }
  }
  return out;
}
