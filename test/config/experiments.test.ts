import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dumpConfig } from '../../compiler/config/dump-config.ts';
import { loadExperiment, loadExperimentSource } from '../../compiler/config/load-experiment.ts';
import { makeSourceText } from '../../compiler/diagnostics/source-text.ts';

const experimentsDir = new URL('../../experiments/', import.meta.url);
const experimentFiles = readdirSync(experimentsDir, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function load(relative: string, overrides: string[] = [], dirs = {}) {
  const result = loadExperiment(new URL(relative, experimentsDir).pathname, { overrides, ...dirs });
  if (!result.ok) throw new Error(result.diagnostics.map((d) => d.message).join('\n'));
  return result.experiment;
}

describe('every experiment file validates', () => {
  it('ships the six official HRNet files, the nine ResNet files and the tiny ones', () => {
    expect(experimentFiles).toEqual(
      expect.arrayContaining([
        'mpii/w32_256x256.yaml',
        'mpii/w48_256x256.yaml',
        'coco/w32_256x192.yaml',
        'coco/w32_384x288.yaml',
        'coco/w48_256x192.yaml',
        'coco/w48_384x288.yaml',
        'coco/res50_256x192.yaml',
        'coco/res101_384x288.yaml',
        'mpii/res152_256x256.yaml',
        'tiny/w8_64x64.yaml',
        'tiny/w8_96x64.yaml',
      ]),
    );
    expect(experimentFiles.filter((f) => /\/res\d+_/.test(f))).toHaveLength(9);
  });

  for (const file of experimentFiles) {
    it(file, () => {
      const experiment = load(file);
      expect(experiment.warnings.filter((w) => w.severity === 'error')).toEqual([]);
      // The dump reads back to the same config (yacs's dump/merge round trip).
      const dumped = dumpConfig(experiment.tree);
      const again = loadExperimentSource(makeSourceText('dump.yaml', dumped), 'dump.yaml');
      expect(again.ok).toBe(true);
      if (again.ok) expect(again.experiment.config).toEqual(experiment.config);
    });
  }
});

describe('resolved values follow the official semantics', () => {
  it('coco w32 256x192: file values, literal strings and untouched defaults', () => {
    const { config, name } = load('coco/w32_256x192.yaml');
    expect(name).toBe('w32_256x192');
    expect(config.GPUS).toEqual([0, 1, 2, 3]);
    expect(config.MODEL.IMAGE_SIZE).toEqual([192, 256]);
    expect(config.MODEL.HEATMAP_SIZE).toEqual([48, 64]);
    expect(config.DATASET.ROOT).toBe('data/coco/');
    expect(config.MODEL.PRETRAINED).toBe('models/pytorch/imagenet/hrnet_w32-36af842e.pth');
    expect(config.TEST.MODEL_FILE).toBe('');
    expect(config.TEST.OKS_THRE).toBe(0.9);
    expect(config.TEST.IN_VIS_THRE).toBe(0.2);
    // Keys the file does not set keep the official defaults.
    expect(config.RANK).toBe(0);
    expect(config.PIN_MEMORY).toBe(true);
    expect(config.LOSS.USE_OHKM).toBe(false);
    expect(config.LOSS.TOPK).toBe(8);
    expect(config.TEST.SOFT_NMS).toBe(false);
    expect(config.DATASET.HYBRID_JOINTS_TYPE).toBe('');
    expect(config.TRAIN.RESUME).toBe(false);
    expect(config.MODEL.TAG_PER_JOINT).toBe(true);
    if (config.MODEL.NAME !== 'pose_hrnet') throw new Error('expected pose_hrnet');
    // The file sets every EXTRA key pose_hrnet reads; only STEM_INPLANES, which it ignores, is models.py's.
    expect(config.MODEL.EXTRA.STEM_INPLANES).toBe(64);
    expect(config.MODEL.EXTRA.STAGE4).toEqual({
      NUM_MODULES: 3,
      NUM_BRANCHES: 4,
      BLOCK: 'BASIC',
      NUM_BLOCKS: [4, 4, 4, 4],
      NUM_CHANNELS: [32, 64, 128, 256],
      FUSE_METHOD: 'SUM',
    });
    expect(config.MODEL.EXTRA.PRETRAINED_LAYERS).toContain('transition3');
    expect(Object.isFrozen(config.MODEL.EXTRA.STAGE4.NUM_CHANNELS)).toBe(true);
  });

  it('mpii w32: PROB_HALF_BODY -1.0, COLOR_RGB (false in the ResNet file), 16 joints', () => {
    const { config } = load('mpii/w32_256x256.yaml');
    expect(config.DATASET.DATASET).toBe('mpii');
    expect(config.DATASET.PROB_HALF_BODY).toBe(-1);
    expect(config.DATASET.COLOR_RGB).toBe(true);
    expect(load('mpii/res50_256x256.yaml').config.DATASET.COLOR_RGB).toBe(false);
    expect(config.MODEL.NUM_JOINTS).toBe(16);
    expect(config.MODEL.IMAGE_SIZE).toEqual([256, 256]);
  });

  it('pose_resnet files get the pose_resnet EXTRA defaults', () => {
    const { config } = load('coco/res101_256x192.yaml');
    if (config.MODEL.NAME !== 'pose_resnet') throw new Error('expected pose_resnet');
    expect(config.MODEL.EXTRA.NUM_LAYERS).toBe(101);
    expect(config.MODEL.EXTRA.PRETRAINED_LAYERS).toEqual(['*']);
    expect(config.MODEL.EXTRA.NUM_DECONV_KERNELS).toEqual([4, 4, 4]);
  });

  it('the non-square tiny experiment keeps [width, height]', () => {
    const { config } = load('tiny/w8_96x64.yaml');
    expect(config.MODEL.IMAGE_SIZE).toEqual([64, 96]);
    expect(config.MODEL.HEATMAP_SIZE).toEqual([16, 24]);
  });

  it('--dataDir is joined onto DATASET.ROOT and MODEL.PRETRAINED, and TEST.MODEL_FILE only when set', () => {
    const plain = load('coco/w32_256x192.yaml', [], { dataDir: '/data' });
    expect(plain.config.DATA_DIR).toBe('/data');
    expect(plain.config.DATASET.ROOT).toBe('/data/data/coco/');
    expect(plain.config.MODEL.PRETRAINED).toBe('/data/models/pytorch/imagenet/hrnet_w32-36af842e.pth');
    expect(plain.config.TEST.MODEL_FILE).toBe('');
    const withModel = load('coco/w32_256x192.yaml', ['TEST.MODEL_FILE', 'w.pth'], { dataDir: 'd/' });
    expect(withModel.config.TEST.MODEL_FILE).toBe('d/w.pth');
    const absolute = load('coco/w32_256x192.yaml', ['DATASET.ROOT', '/abs/coco'], { dataDir: '/data' });
    expect(absolute.config.DATASET.ROOT).toBe('/abs/coco');
  });

  it('--modelDir and --logDir set OUTPUT_DIR and LOG_DIR', () => {
    const { config } = load('coco/w32_256x192.yaml', [], { modelDir: 'runs', logDir: 'logs' });
    expect(config.OUTPUT_DIR).toBe('runs');
    expect(config.LOG_DIR).toBe('logs');
  });
});
