"""One official training step, for hrnetc's parity tests: the official PoseHighResolutionNet in train
mode on test weights, the official JointsMSELoss, backward (with the input's gradient), and the official
optimizer (Adam at TRAIN.LR) stepping once. Written: the loss, the training-mode output, the running
statistics after the step, the float64 gradients of the same step (the reference for float32
implementations, rounded to float32 for storage), the float32 step's error against them, and for
final_layer the float32 gradient and parameter after the Adam step.

usage: HRNET_OFFICIAL=... /usr/bin/python3 train_step_reference.py EXPERIMENT BATCH WEIGHT_SEED INPUT_SEED OUT
"""
import os
import sys

import numpy as np
import torch

from forward_reference import write_safetensors
from official_model import build
from prng import Prng, test_input, test_weights

sys.path.insert(0, os.path.join(os.environ['HRNET_OFFICIAL'], 'lib'))
from core.loss import JointsMSELoss  # noqa: E402


def batch_tensors(cfg, batch, seed):
    width, height = cfg.MODEL.IMAGE_SIZE
    hw, hh = cfg.MODEL.HEATMAP_SIZE
    joints = cfg.MODEL.NUM_JOINTS
    x = torch.tensor(test_input(batch * 3 * height * width, seed), dtype=torch.float64).reshape(batch, 3, height, width)
    prng = Prng(seed + 1)
    target = torch.tensor([prng.next() for _ in range(batch * joints * hh * hw)], dtype=torch.float64).reshape(batch, joints, hh, hw)
    weight = torch.tensor([1.0 if prng.next() < 0.8 else 0.0 for _ in range(batch * joints)], dtype=torch.float64).reshape(batch, joints, 1)
    return x, target, weight


def step(model, cfg, x, target, weight, dtype):
    model = model.to(dtype)
    model.train()
    x = x.to(dtype).clone().requires_grad_(True)
    criterion = JointsMSELoss(use_target_weight=cfg.LOSS.USE_TARGET_WEIGHT)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.TRAIN.LR)
    output = model(x)
    loss = criterion(output, target.to(dtype), weight.to(dtype))
    optimizer.zero_grad()
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters()}
    optimizer.step()
    return loss.detach(), output.detach(), x.grad.detach(), grads, model


def main():
    experiment, batch, weight_seed, input_seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    torch.set_num_threads(2)
    cfg, model32 = build(experiment, is_train=True)
    weights = test_weights(model32, weight_seed)
    model32.load_state_dict(weights, strict=False)
    _, model64 = build(experiment, is_train=True)
    model64.load_state_dict(weights, strict=False)
    x, target, weight = batch_tensors(cfg, batch, input_seed)

    loss32, output32, grad_input32, grads32, after32 = step(model32, cfg, x, target, weight, torch.float32)
    loss64, output64, grad_input64, grads64, _ = step(model64, cfg, x, target, weight, torch.float64)

    def relative(a, b):
        return float((a.double() - b).abs().max() / b.abs().max().clamp_min(1e-30))

    tensors = {'loss': loss32.reshape(1), 'output': output32, 'grad64.input': grad_input64.float()}
    errors = {'input': relative(grad_input32, grad_input64)}
    for name, g in grads64.items():
        tensors[f'grad64.{name}'] = g.float()
        errors[name] = relative(grads32[name], g)
    state = after32.state_dict()
    for name, value in state.items():
        if name.endswith('running_mean') or name.endswith('running_var'):
            tensors[f'after.{name}'] = value.float()
    tensors['grad32.final_layer.weight'] = grads32['final_layer.weight']
    tensors['after.final_layer.weight'] = state['final_layer.weight']
    tensors['loss64'] = loss64.reshape(1).float()
    tensors['output64'] = output64.float()
    worst = max(errors.values())
    write_safetensors(out, tensors, {
        'experiment': experiment, 'batch': str(batch), 'weight_seed': str(weight_seed), 'input_seed': str(input_seed),
        'torch': torch.__version__, 'torch32_grad_relative_error_max': repr(worst),
        'torch32_grad_relative_error': ' '.join(f'{k}={v:.3e}' for k, v in errors.items()),
    })
    print(f'{out}: loss {loss32.item():.6g}, torch float32 gradients vs float64: worst relative error {worst:.3e}')


if __name__ == '__main__':
    main()
