"""Runs the official JointsDataset transform path on fixed draws, for hrnetc's tests: flip
(fliplr_joints, center), get_affine_transform, cv2.warpAffine (INTER_LINEAR), ToTensor + Normalize
(written out here: torchvision's two transforms are /255 then (x - mean) / std per channel),
affine_transform of the visible joints, and JointsDataset.generate_target.

usage: HRNET_OFFICIAL=/path/to/official /usr/bin/python3 joints_dataset_reference.py IMAGE CASES.json OUT.safetensors
"""
import json
import os
import sys
import types

import cv2
import numpy as np
import torch

from forward_reference import write_safetensors

sys.path.insert(0, os.path.join(os.environ['HRNET_OFFICIAL'], 'lib'))
np.float = float  # the official code uses the removed alias np.float
from utils.transforms import affine_transform, fliplr_joints, get_affine_transform  # noqa: E402
import importlib.util  # noqa: E402

# JointsDataset.py alone (the dataset package would import COCO tools and the compiled NMS).
_spec = importlib.util.spec_from_file_location('joints_dataset', os.path.join(os.environ['HRNET_OFFICIAL'], 'lib', 'dataset', 'JointsDataset.py'))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
JointsDataset = _module.JointsDataset

MPII_PAIRS = [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]]
COCO_PAIRS = [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10], [11, 12], [13, 14], [15, 16]]
MEAN = np.array([0.485, 0.456, 0.406])
STD = np.array([0.229, 0.224, 0.225])


def run_case(image_bgr, case):
    data = image_bgr.copy()
    if case['color_rgb']:
        data = cv2.cvtColor(data, cv2.COLOR_BGR2RGB)
    joints = np.zeros((len(case['joints']), 3))
    joints[:, :2] = np.array(case['joints'], dtype=np.float64)
    vis = np.zeros((len(case['joints']), 3))
    vis[:, 0] = case['visibility']
    vis[:, 1] = case['visibility']
    c = np.array(case['center'], dtype=np.float64)
    s = np.array(case['scale'], dtype=np.float64)
    r = case['rotation']
    if case['flip']:
        data = data[:, ::-1, :]
        joints, vis = fliplr_joints(joints, vis, data.shape[1], MPII_PAIRS if case['dataset'] == 'mpii' else COCO_PAIRS)
        c[0] = data.shape[1] - c[0] - 1
    image_size = np.array(case['image_size'])
    trans = get_affine_transform(c, s, r, image_size)
    crop = cv2.warpAffine(np.ascontiguousarray(data), trans, (int(image_size[0]), int(image_size[1])), flags=cv2.INTER_LINEAR)
    tensor = ((crop.astype(np.float64) / 255.0 - MEAN) / STD).transpose(2, 0, 1)
    for i in range(len(joints)):
        if vis[i, 0] > 0.0:
            joints[i, 0:2] = affine_transform(joints[i, 0:2], trans)
    fake = types.SimpleNamespace(num_joints=len(joints), target_type='gaussian', heatmap_size=np.array(case['heatmap_size']),
                                 image_size=image_size, sigma=case['sigma'], use_different_joints_weight=False, joints_weight=1)
    target, weight = JointsDataset.generate_target(fake, joints, vis)
    return {
        'input': torch.tensor(tensor).float(), 'crop': torch.tensor(crop.astype(np.float32)),
        'target': torch.tensor(target), 'target_weight': torch.tensor(weight),
        'joints': torch.tensor(joints[:, :2]).float(), 'transform': torch.tensor(trans).float(),
    }


def main():
    image_path, cases_path, out = sys.argv[1:4]
    image = cv2.imread(image_path, cv2.IMREAD_COLOR)
    cases = json.load(open(cases_path))
    tensors = {}
    for i, case in enumerate(cases):
        for name, value in run_case(image, case).items():
            tensors[f'{i}.{name}'] = value
    write_safetensors(out, tensors, {'cases': str(len(cases)), 'opencv': cv2.__version__})
    print(f'{out}: {len(cases)} cases')


main()
