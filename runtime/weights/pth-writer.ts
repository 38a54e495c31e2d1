import { zipSync } from 'fflate';

/**
 * Writes a state_dict in torch.save's zip format (PyTorch ≥ 1.6): `archive/data.pkl`, a protocol-2
 * pickle of an OrderedDict of tensors, one `archive/data/<key>` entry per storage, and
 * `archive/version`. The pickle uses only what `torch.load(weights_only=True)` accepts: the globals
 * collections.OrderedDict, torch._utils._rebuild_tensor_v2 and torch.FloatStorage/LongStorage, and
 * persistent ids for the storages.
 */
export type PthTensor =
  | { readonly dtype: 'float32'; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly dtype: 'int64'; readonly shape: readonly number[]; readonly data: BigInt64Array };

const storageClass = { float32: 'FloatStorage', int64: 'LongStorage' } as const;

/** A pickle written front to back with the few opcodes a state_dict needs. */
class PickleWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly encoder = new TextEncoder();

  byte(...values: number[]): void {
    this.chunks.push(Uint8Array.from(values));
  }

  /** GLOBAL: `c module\nname\n`. */
  global(module: string, name: string): void {
    this.byte(0x63);
    this.chunks.push(this.encoder.encode(`${module}\n${name}\n`));
  }

  /** BINUNICODE: a str. */
  text(value: string): void {
    const bytes = this.encoder.encode(value);
    this.byte(0x58, ...u32le(bytes.length));
    this.chunks.push(bytes);
  }

  /** BININT1, BININT2 or BININT: a non-negative int below 2³¹. */
  int(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** 31)
      throw new Error(`${value} does not fit a pickled int32`);
    if (value < 0x100) this.byte(0x4b, value);
    else if (value < 0x10000) this.byte(0x4d, value & 0xff, value >> 8);
    else this.byte(0x4a, ...u32le(value));
  }

  /** A tuple of ints: EMPTY_TUPLE, or MARK … TUPLE. */
  ints(values: readonly number[]): void {
    if (values.length === 0) {
      this.byte(0x29);
      return;
    }
    this.byte(0x28);
    for (const v of values) this.int(v);
    this.byte(0x74);
  }

  /** `OrderedDict()`: GLOBAL, EMPTY_TUPLE, REDUCE. */
  emptyOrderedDict(): void {
    this.global('collections', 'OrderedDict');
    this.byte(0x29, 0x52);
  }

  bytes(): Uint8Array {
    const length = this.chunks.reduce((n, c) => n + c.length, 0);
    const out = new Uint8Array(length);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
}

function u32le(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];
}

function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i]!;
  }
  return strides;
}

/** The pickle of OrderedDict(name → tensor), tensor i stored under key `i`. */
export function pickleStateDict(tensors: readonly (readonly [string, PthTensor])[]): Uint8Array {
  const p = new PickleWriter();
  p.byte(0x80, 2);
  p.emptyOrderedDict();
  p.byte(0x28); // MARK for SETITEMS
  tensors.forEach(([name, tensor], key) => {
    p.text(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.byte(0x28); // MARK for the arguments
    // persistent id: ('storage', torch.<Class>, key, location, numel)
    p.byte(0x28);
    p.text('storage');
    p.global('torch', storageClass[tensor.dtype]);
    p.text(String(key));
    p.text('cpu');
    p.int(tensor.data.length);
    p.byte(0x74, 0x51); // TUPLE, BINPERSID
    p.int(0); // storage offset
    p.ints(tensor.shape);
    p.ints(contiguousStrides(tensor.shape));
    p.byte(0x89); // requires_grad=False
    p.emptyOrderedDict(); // backward hooks
    p.byte(0x74, 0x52); // TUPLE, REDUCE
  });
  p.byte(0x75, 0x2e); // SETITEMS, STOP
  return p.bytes();
}

/** The bytes of a torch.save zip file holding `tensors` as an OrderedDict state_dict, in order. */
export function serializePth(tensors: readonly (readonly [string, PthTensor])[]): Uint8Array {
  for (const [name, tensor] of tensors) {
    const count = tensor.shape.reduce((n, d) => n * d, 1);
    if (count !== tensor.data.length)
      throw new Error(`tensor ${name} has ${tensor.data.length} values for shape ${tensor.shape.join('x')}`);
  }
  // torch's reader takes the archive's name from its first entry; it must be data.pkl's folder.
  const files: Record<string, [Uint8Array, { level: 0 }]> = {
    'archive/data.pkl': [pickleStateDict(tensors), { level: 0 }],
  };
  tensors.forEach(([, tensor], key) => {
    const data = tensor.data;
    files[`archive/data/${key}`] = [
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      { level: 0 },
    ];
  });
  files['archive/version'] = [new TextEncoder().encode('3\n'), { level: 0 }];
  return zipSync(files);
}
