"""PyTorch's side of hrnetc's .pth interop tests, with the official PoseHighResolutionNet.

make  EXPERIMENT WEIGHT_SEED INPUT_SEED OUT_PTH OUT_SAFETENSORS [--half] [--legacy-checkpoint]
      Loads the test weights, runs two training-mode forwards (so the running statistics and
      num_batches_tracked are what official training leaves), saves `model.state_dict()` with
      torch.save (zip format; float16 with --half), and writes the eval-mode output for the test
      input (batch 2) as safetensors key `output`. This is test/fixtures/pth/official_*.
      --legacy-checkpoint saves instead what official train.py saves for a DataParallel model
      (`epoch`, `model`, `state_dict` with `module.` names, `best_state_dict`, `perf`, `optimizer`),
      in the legacy format (_use_new_zipfile_serialization=False) as PyTorch < 1.6 wrote it.

check EXPERIMENT PTH INPUT_SEED OUT_SAFETENSORS
      Loads a .pth that hrnetc exported with torch.load(weights_only=True) into the official model
      with load_state_dict(strict=True) and writes the eval-mode output for the test input (batch 2).

usage: HRNET_OFFICIAL=/path/to/official /usr/bin/python3 pth_interop_reference.py make|check ...
"""
import sys

import torch

from forward_reference import write_safetensors
from official_model import build
from prng import test_input, test_weights


def eval_output(cfg, model, input_seed):
    width, height = cfg.MODEL.IMAGE_SIZE
    count = 2 * 3 * height * width
    x = torch.tensor(test_input(count, input_seed), dtype=torch.float64).reshape(2, 3, height, width).float()
    model.eval()
    with torch.no_grad():
        return model(x)


def make(experiment, weight_seed, input_seed, out_pth, out_output, half, legacy_checkpoint):
    cfg, model = build(experiment)
    model.load_state_dict(test_weights(model, weight_seed), strict=False)
    width, height = cfg.MODEL.IMAGE_SIZE
    model.train()
    with torch.no_grad():
        for seed in (101, 102):
            count = 2 * 3 * height * width
            model(torch.tensor(test_input(count, seed), dtype=torch.float64).reshape(2, 3, height, width).float())
    if half:
        model.half()
        model.float()  # the output below is what the float16 weights give in float32
    y = eval_output(cfg, model, input_seed)
    state = model.state_dict()
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
        state = type(model.state_dict())(state)
    if legacy_checkpoint:
        parallel = torch.nn.DataParallel(model)
        optimizer = torch.optim.Adam(parallel.parameters(), lr=1e-3)
        state = parallel.state_dict()
        checkpoint = {
            'epoch': 3, 'model': cfg.MODEL.NAME, 'state_dict': state,
            'best_state_dict': model.state_dict(), 'perf': 0.5, 'optimizer': optimizer.state_dict(),
        }
        torch.save(checkpoint, out_pth, _use_new_zipfile_serialization=False)
    else:
        torch.save(state, out_pth)
    write_safetensors(out_output, {'output': y}, {'experiment': experiment, 'torch': torch.__version__})
    print(f'{out_pth}: {len(state)} tensors; {out_output}: output {tuple(y.shape)}')


def check(experiment, pth, input_seed, out_output):
    cfg, model = build(experiment)
    state = torch.load(pth, weights_only=True)
    model.load_state_dict(state, strict=True)
    y = eval_output(cfg, model, input_seed)
    write_safetensors(out_output, {'output': y}, {'experiment': experiment, 'torch': torch.__version__})
    tracked = {int(v) for k, v in state.items() if k.endswith('num_batches_tracked')}
    print(f'{pth}: loaded strictly, {len(state)} tensors, num_batches_tracked {sorted(tracked)}; wrote {out_output}')


def main():
    torch.set_num_threads(2)
    command, args = sys.argv[1], sys.argv[2:]
    if command == 'make':
        make(args[0], int(args[1]), int(args[2]), args[3], args[4], '--half' in args, '--legacy-checkpoint' in args)
    elif command == 'check':
        check(args[0], args[1], int(args[2]), args[3])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
