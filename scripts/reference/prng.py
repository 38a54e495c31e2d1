"""mulberry32, bit for bit as common/prng.ts, and the test weights of test/helpers/test-weights.ts."""
import math


def _imul(a, b):
    return (a * b) & 0xFFFFFFFF


class Prng:
    def __init__(self, seed):
        self.state = seed & 0xFFFFFFFF

    def next(self):
        self.state = (self.state + 0x6D2B79F5) & 0xFFFFFFFF
        t = self.state
        t = _imul(t ^ (t >> 15), t | 1)
        t ^= (t + _imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    def uniform(self, low, high):
        return low + (high - low) * self.next()


def test_weights(model, seed):
    """Values for every state_dict entry except num_batches_tracked, in state_dict order."""
    import torch

    conv_biases = {f'{name}.bias' for name, m in model.named_modules() if isinstance(m, torch.nn.Conv2d) and m.bias is not None}
    prng = Prng(seed)
    values = {}
    for name, tensor in model.state_dict().items():
        if name.endswith('num_batches_tracked'):
            continue
        shape = list(tensor.shape)
        count = math.prod(shape)
        if len(shape) == 4:
            bound = math.sqrt(3 / (count / shape[0]))
            low, high = -bound, bound
        elif name in conv_biases:
            low, high = -0.1, 0.1
        elif name.endswith('.weight') or name.endswith('running_var'):
            low, high = 0.5, 1.5
        else:
            low, high = -0.2, 0.2
        data = [prng.uniform(low, high) for _ in range(count)]
        values[name] = torch.tensor(data, dtype=torch.float64).reshape(shape).float()
    return values


def test_input(count, seed):
    prng = Prng(seed)
    return [prng.uniform(-1, 1) for _ in range(count)]
