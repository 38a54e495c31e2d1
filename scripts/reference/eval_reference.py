"""Computes the expected evaluation numbers for hrnetc's tests on the fixtures in test/fixtures/eval:
pycocotools' COCOeval (keypoints), the official MPII evaluate (from a gt_valid.mat written here), and
the official oks_nms / soft_oks_nms. Needs local copies (never committed) of the official repository
(HRNET_OFFICIAL) and of cocoapi's PythonAPI (COCOAPI, e.g. /tmp/cocoapi/PythonAPI).

usage: HRNET_OFFICIAL=... COCOAPI=... /usr/bin/python3 eval_reference.py
"""
import json
import os
import sys
import types
from collections import defaultdict

import numpy as np
from scipy.io import savemat

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, '..', '..', 'test', 'fixtures', 'eval')
np.float = float

# pycocotools without its compiled mask module (keypoint evaluation never uses it).
stub = types.ModuleType('pycocotools.mask')
sys.path.insert(0, os.environ['COCOAPI'])
sys.modules['pycocotools.mask'] = stub
# coco.py imports matplotlib for showAnns only.
for name in ['matplotlib', 'matplotlib.pyplot', 'matplotlib.collections', 'matplotlib.patches']:
    sys.modules[name] = types.ModuleType(name)
sys.modules['matplotlib.collections'].PatchCollection = None
sys.modules['matplotlib.patches'].Polygon = None
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

official = os.environ['HRNET_OFFICIAL']
sys.path.insert(0, os.path.join(official, 'lib'))
nms_source = open(os.path.join(official, 'lib', 'nms', 'nms.py')).read()
nms_source = nms_source.replace('from .cpu_nms import cpu_nms', '').replace('from .gpu_nms import gpu_nms', '')
nms = {}
exec(compile(nms_source, 'nms.py', 'exec'), nms)
# The official dataset package imports json_tricks and the compiled NMS; neither matters here.
sys.modules['json_tricks'] = json
for name in ['nms', 'nms.nms']:
    sys.modules[name] = types.ModuleType(name)
sys.modules['nms.nms'].oks_nms = nms['oks_nms']
sys.modules['nms.nms'].soft_oks_nms = nms['soft_oks_nms']


def coco_expected():
    gt = COCO(os.path.join(fixtures, 'coco_gt.json'))
    dt = gt.loadRes(os.path.join(fixtures, 'coco_results.json'))
    evaluator = COCOeval(gt, dt, 'keypoints')
    evaluator.params.useSegm = None
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    names = ['AP', 'AP50', 'AP75', 'APm', 'APl', 'AR', 'AR50', 'AR75', 'ARm', 'ARl']
    return dict(zip(names, [float(s) for s in evaluator.stats]))


def nms_expected():
    results = json.load(open(os.path.join(fixtures, 'coco_results.json')))
    by_image = defaultdict(list)
    for r in results:
        k = np.array(r['keypoints']).reshape(17, 3)
        xs, ys = k[:, 0], k[:, 1]
        by_image[r['image_id']].append({'keypoints': k, 'score': r['score'], 'area': float((xs.max() - xs.min()) * (ys.max() - ys.min()))})
    out = {}
    for image, people in sorted(by_image.items()):
        out[str(image)] = {
            'oks_nms': [int(i) for i in nms['oks_nms'](people, 0.5)],
            'soft_oks_nms': [int(i) for i in nms['soft_oks_nms'](people, 0.5)],
        }
    return out


def mpii_expected():
    gt = json.load(open(os.path.join(fixtures, 'mpii_gt_valid.json')))
    joints = np.array(gt['joints'], dtype=np.float64)  # N x 16 x 2, 0-based
    missing = np.array(gt['joints_missing'], dtype=np.float64)  # N x 16
    boxes = np.array(gt['headboxes'], dtype=np.float64)  # N x 2 x 2
    names = np.empty((1, 16), dtype=object)
    for i, n in enumerate(['rank', 'rkne', 'rhip', 'lhip', 'lkne', 'lank', 'pelv', 'thor', 'neck', 'head', 'rwri', 'relb', 'rsho', 'lsho', 'lelb', 'lwri']):
        names[0, i] = n
    mat = {
        'dataset_joints': names,
        'jnt_missing': missing.T,
        'pos_gt_src': np.transpose(joints + 1, [1, 2, 0]),
        'headboxes_src': np.transpose(boxes + 1, [1, 2, 0]),
    }
    root = os.path.join(fixtures, 'mpii-root')
    os.makedirs(os.path.join(root, 'annot'), exist_ok=True)
    savemat(os.path.join(root, 'annot', 'gt_valid.mat'), mat, do_compression=True)
    savemat(os.path.join(fixtures, 'mpii_gt_valid_uncompressed.mat'), mat, do_compression=False)
    from dataset.mpii import MPIIDataset
    preds = np.array(json.load(open(os.path.join(fixtures, 'mpii_preds.json')))['preds'], dtype=np.float64)
    cfg = types.SimpleNamespace(DATASET=types.SimpleNamespace(TEST_SET='valid', ROOT=root))
    name_value, _ = MPIIDataset.evaluate(None, cfg, preds, None)
    return {k: float(v) for k, v in name_value.items()}


expected = {'coco': coco_expected(), 'oks_nms': nms_expected(), 'mpii': mpii_expected()}
out = os.path.join(here, '..', '..', 'test', 'reference', 'eval-expected.json')
with open(out, 'w') as f:
    json.dump(expected, f, indent=1)
    f.write('\n')
print(json.dumps(expected['coco']), json.dumps(expected['mpii']))
