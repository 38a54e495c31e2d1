"""Runs the official PoseHighResolutionNet in eval mode on test weights and a test input, and writes
the output as safetensors (key `output`), for hrnetc's parity tests.

usage: HRNET_OFFICIAL=/path/to/official /usr/bin/python3 forward_reference.py EXPERIMENT BATCH WEIGHT_SEED INPUT_SEED OUT
"""
import json
import struct
import sys

import torch

from official_model import build
from prng import test_input, test_weights


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    offset = 0
    blobs = []
    for name, tensor in tensors.items():
        data = tensor.contiguous().float().numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b' ' * ((8 - (len(text) + 8) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    experiment, batch, weight_seed, input_seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    torch.set_num_threads(2)
    cfg, model = build(experiment)
    model.load_state_dict(test_weights(model, weight_seed), strict=False)
    model.eval()
    width, height = cfg.MODEL.IMAGE_SIZE
    count = batch * 3 * height * width
    x = torch.tensor(test_input(count, input_seed), dtype=torch.float64).reshape(batch, 3, height, width).float()
    with torch.no_grad():
        y = model(x)
    write_safetensors(out, {'output': y}, {
        'experiment': experiment, 'batch': str(batch), 'weight_seed': str(weight_seed), 'input_seed': str(input_seed),
        'torch': torch.__version__,
    })
    print(f'{out}: output {tuple(y.shape)}, max |y| {y.abs().max().item():.4g}')


if __name__ == "__main__":
    main()
