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
 * as MODEL.EXTRA is in the official config.
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
