"""Writes the official state_dict keys and shapes of an experiment's model as JSON lines."""
import json
import sys

from official_model import build

experiment, out = sys.argv[1], sys.argv[2]
_, model = build(experiment)
with open(out, 'w') as f:
    for key, tensor in model.state_dict().items():
        f.write(json.dumps({'name': key, 'shape': list(tensor.shape)}) + '\n')
