"""Trains the official PyTorch model on an hrnetc synthetic MPII dataset, to see what a config can learn
from that data independently of hrnetc (CPU PyTorch is much faster than a software WebGPU adapter).

It uses the official transforms (get_affine_transform, affine_transform, fliplr_joints), cv2.warpAffine,
the official Gaussian targets, JointsMSELoss with target weights and torch.optim.Adam, and reports after
every epoch the MPII PCKh@0.5 Mean (the official evaluate's joints; no flip test) on the validation split,
and PCKh@1.0 to tell coarse from precise localisation.

usage (from scripts/reference, after `npx hrnet synth --format mpii -n N -o DATA`):
  HRNET_OFFICIAL=/path/to/official /usr/bin/python3 learning_reference.py EXPERIMENT.yaml DATA \
      [epochs=6] [lr=0.002] [batch=16] [rot=30] [sf=0.25] [sigma=SIGMA]
"""
import json
import os
import sys
import time

import cv2
import numpy as np
import torch

from official_model import build, official_module

official_module('pose_hrnet')  # puts the official lib/ on sys.path
np.float = float  # the official code uses the removed alias np.float
from utils.transforms import affine_transform, fliplr_joints, get_affine_transform  # noqa: E402

FLIP_PAIRS = [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]]
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def main():
    experiment, data = sys.argv[1:3]
    opts = dict(a.split('=') for a in sys.argv[3:])
    cfg, model = build(experiment)
    model.init_weights('')
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(os.cpu_count())
    size = np.array(cfg.MODEL.IMAGE_SIZE)
    heatmap = np.array(cfg.MODEL.HEATMAP_SIZE)
    stride = size / heatmap
    joints_count = cfg.MODEL.NUM_JOINTS
    epochs = int(opts.get('epochs', 6))
    batch = int(opts.get('batch', 16))
    rot = float(opts.get('rot', cfg.DATASET.ROT_FACTOR))
    sf = float(opts.get('sf', cfg.DATASET.SCALE_FACTOR))
    sigma = float(opts.get('sigma', cfg.MODEL.SIGMA))

    def load(split):
        samples = []
        for a in json.load(open(f'{data}/annot/{split}.json')):
            image = cv2.cvtColor(cv2.imread(f'{data}/images/{a["image"]}'), cv2.COLOR_BGR2RGB)
            # The official MPIIDataset: center lowered by 15·scale, scale × 1.25, 1-based → 0-based.
            c = np.array(a['center'], float)
            s = a['scale']
            c[1] += 15 * s
            s *= 1.25
            c -= 1
            joints = np.zeros((joints_count, 3))
            joints[:, :2] = np.array(a['joints']) - 1
            vis = np.zeros((joints_count, 3))
            vis[:, 0] = vis[:, 1] = np.array(a['joints_vis'])
            samples.append((image, c, np.array([s, s]), joints, vis))
        return samples

    def target(joints, vis):
        weight = vis[:, :1].astype(np.float32)
        heatmaps = np.zeros((joints_count, heatmap[1], heatmap[0]), np.float32)
        xs = np.arange(heatmap[0])[None, :]
        ys = np.arange(heatmap[1])[:, None]
        for k in range(joints_count):
            mx = int(joints[k, 0] / stride[0] + 0.5)
            my = int(joints[k, 1] / stride[1] + 0.5)
            ul = [int(mx - 3 * sigma), int(my - 3 * sigma)]
            br = [int(mx + 3 * sigma + 1), int(my + 3 * sigma + 1)]
            if ul[0] >= heatmap[0] or ul[1] >= heatmap[1] or br[0] < 0 or br[1] < 0:
                weight[k] = 0
                continue
            if weight[k] > 0.5:
                window = (np.abs(xs - mx) <= 3 * sigma) & (np.abs(ys - my) <= 3 * sigma)
                heatmaps[k] = np.exp(-((xs - mx) ** 2 + (ys - my) ** 2) / (2 * sigma ** 2)) * window
        return heatmaps, weight

    def sample(item, augment):
        image, c, s, joints, vis = item
        c, s, joints, vis, r = c.copy(), s.copy(), joints.copy(), vis.copy(), 0
        if augment:
            s = s * np.clip(np.random.randn() * sf + 1, 1 - sf, 1 + sf)
            r = np.clip(np.random.randn() * rot, -rot * 2, rot * 2) if np.random.rand() <= 0.6 else 0
            if cfg.DATASET.FLIP and np.random.rand() <= 0.5:
                image = image[:, ::-1]
                joints, vis = fliplr_joints(joints, vis, image.shape[1], FLIP_PAIRS)
                c[0] = image.shape[1] - c[0] - 1
        transform = get_affine_transform(c, s, r, size)
        crop = cv2.warpAffine(np.ascontiguousarray(image), transform, (int(size[0]), int(size[1])), flags=cv2.INTER_LINEAR)
        x = ((crop / 255.0 - MEAN) / STD).transpose(2, 0, 1)
        for k in range(joints_count):
            if vis[k, 0] > 0:
                joints[k, :2] = affine_transform(joints[k, :2], transform)
        return (x, *target(joints, vis))

    train, valid = load('train'), load('valid')
    gt = json.load(open(f'{data}/annot/gt_valid.json'))

    def evaluate():
        model.eval()
        preds = []
        with torch.no_grad():
            for i in range(0, len(valid), 64):
                items = valid[i:i + 64]
                output = model(torch.tensor(np.stack([sample(it, False)[0] for it in items])).float()).numpy()
                for (_, c, s, _, _), maps in zip(items, output):
                    points = np.zeros((joints_count, 2))
                    for k in range(joints_count):
                        py, px = divmod(int(maps[k].argmax()), heatmap[0])
                        x, y = float(px), float(py)
                        # get_final_preds' quarter-pixel step toward the higher neighbour.
                        if 0 < px < heatmap[0] - 1:
                            x += 0.25 * np.sign(maps[k, py, px + 1] - maps[k, py, px - 1])
                        if 0 < py < heatmap[1] - 1:
                            y += 0.25 * np.sign(maps[k, py + 1, px] - maps[k, py - 1, px])
                        points[k] = [x, y]
                    back = get_affine_transform(c, s, 0, heatmap, inv=1)
                    preds.append(np.array([affine_transform(p, back) for p in points]))
        model.train()
        truth = np.array(gt['joints'])
        missing = np.array(gt['joints_missing'])
        boxes = np.array(gt['headboxes'])
        head = 0.6 * np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=1)
        distance = np.linalg.norm(np.array(preds) - truth, axis=2) / head[:, None]
        counted = (missing == 0)
        counted[:, [6, 7]] = False  # the official Mean leaves out pelvis and thorax
        return [100 * ((distance <= t) & counted).sum() / counted.sum() for t in (0.5, 1.0)]

    optimizer = torch.optim.Adam(model.parameters(), lr=float(opts.get('lr', cfg.TRAIN.LR)))
    started = time.time()
    seen = 0
    for epoch in range(epochs):
        order = np.random.permutation(len(train))
        total = 0.0
        steps = 0
        for i in range(0, len(order) - batch + 1, batch):
            xs, ts, ws = zip(*[sample(train[k], True) for k in order[i:i + batch]])
            x = torch.tensor(np.stack(xs)).float()
            t = torch.tensor(np.stack(ts))
            w = torch.tensor(np.stack(ws))
            out = model(x)
            loss = 0.5 * (((out - t) ** 2).mean(dim=(2, 3)) * w[:, :, 0] ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            steps += 1
            seen += batch
        pckh, pckh1 = evaluate()
        print(f'epoch {epoch}: {seen} images, loss {total / steps:.5f}, PCKh@0.5 Mean {pckh:.1f}, '
              f'PCKh@1.0 {pckh1:.1f}, {time.time() - started:.0f} s', flush=True)


if __name__ == '__main__':
    main()
