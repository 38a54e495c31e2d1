import { UserError } from '../../common/user-error.ts';
import { PyDict, PyGlobal, PyTuple, unpickle } from './pickle.ts';
import { halfToFloat, type NamedTensor } from './safetensors.ts';
import { readZip } from './zip.ts';

/**
 * Reads the files torch.save writes, without Python: the zip format (PyTorch ≥ 1.6:
 * `<archive>/data.pkl` plus one `<archive>/data/<key>` entry per storage) and the legacy format
 * (< 1.6: five pickles — magic number, protocol version, system info, the object, the storage keys —
 * then each storage as an 8-byte little-endian element count and its raw bytes). The pickles may
 * name only the globals a tensor checkpoint needs, as torch.load(weights_only=True) requires.
 */

export type PthFormat = 'zip' | 'legacy';

/** What readPth found, for `hrnet inspect`. */
export interface PthInfo {
  readonly format: PthFormat;
  /** 'a plain state_dict', or "a checkpoint dict; weights from its 'state_dict'". */
  readonly layout: string;
  /** The checkpoint key the weights came from; undefined for a plain state_dict. */
  readonly checkpointKey: string | undefined;
  /** The other keys of a checkpoint dict (optimizer, epoch, ...). */
  readonly otherKeys: readonly string[];
  /** Whether every name started with DataParallel's `module.`, which was removed. */
  readonly strippedModulePrefix: boolean;
  /** Each tensor's dtype as stored (float32, float16, int64, ...), by final name. */
  readonly dtypes: ReadonlyMap<string, string>;
}

export interface PthContents {
  readonly tensors: Map<string, NamedTensor>;
  readonly info: PthInfo;
}

/** The first object of a legacy torch.save file. */
export const legacyMagic = 0x1950a86a20f9469cfc6cn;

interface ElementType {
  readonly dtype: string;
  readonly bytes: number;
  readonly read: (view: DataView, at: number) => number;
}

const bf16 = new DataView(new ArrayBuffer(4));
const storageTypes: Record<string, ElementType> = {
  FloatStorage: { dtype: 'float32', bytes: 4, read: (v, at) => v.getFloat32(at, true) },
  DoubleStorage: { dtype: 'float64', bytes: 8, read: (v, at) => v.getFloat64(at, true) },
  HalfStorage: { dtype: 'float16', bytes: 2, read: (v, at) => halfToFloat(v.getUint16(at, true)) },
  BFloat16Storage: {
    dtype: 'bfloat16',
    bytes: 2,
    read: (v, at) => {
      bf16.setUint32(0, v.getUint16(at, true) << 16);
      return bf16.getFloat32(0);
    },
  },
  LongStorage: { dtype: 'int64', bytes: 8, read: (v, at) => Number(v.getBigInt64(at, true)) },
  IntStorage: { dtype: 'int32', bytes: 4, read: (v, at) => v.getInt32(at, true) },
  ShortStorage: { dtype: 'int16', bytes: 2, read: (v, at) => v.getInt16(at, true) },
  CharStorage: { dtype: 'int8', bytes: 1, read: (v, at) => v.getInt8(at) },
  ByteStorage: { dtype: 'uint8', bytes: 1, read: (v, at) => v.getUint8(at) },
  BoolStorage: { dtype: 'bool', bytes: 1, read: (v, at) => (v.getUint8(at) ? 1 : 0) },
};

const rebuildGlobals = new Set([
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'collections.OrderedDict',
]);

/** Most elements one tensor may have (its float32 copy must fit one buffer). */
const maxElements = 2 ** 29;

class Storage {
  /** Filled once the storage's bytes are found (zip entry or legacy record). */
  bytes: Uint8Array | undefined;
  constructor(
    readonly key: string,
    readonly type: ElementType,
  ) {}
  get numel(): number {
    return Math.floor((this.bytes?.length ?? 0) / this.type.bytes);
  }
}

/** A storage as a tensor refers to it: legacy files could refer to a view (offset) of one. */
class StorageRef {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
  ) {}
}

class PthTensor {
  constructor(
    readonly ref: StorageRef,
    readonly offset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

function refusal(what: string, qualified: string): UserError {
  return new UserError(
    `${what}: refuses to load: the pickle names ${qualified}, which a tensor checkpoint does not need (like torch.load(weights_only=True))`,
  );
}

/** The pickle hooks for torch's main object; `storageBytes` finds a zip storage's entry. */
function torchHooks(
  what: string,
  storages: Map<string, Storage>,
  storageBytes?: (key: string) => Uint8Array,
) {
  const fail = (message: string) => new UserError(`${what}: ${message}`);
  return {
    findGlobal(module: string, name: string): unknown {
      const qualified = `${module}.${name}`;
      if (rebuildGlobals.has(qualified)) return new PyGlobal(module, name);
      if (module === 'torch' && Object.hasOwn(storageTypes, name)) return new PyGlobal(module, name);
      throw refusal(what, qualified);
    },
    call(callable: unknown, args: unknown[]): unknown {
      if (!(callable instanceof PyGlobal)) throw fail('the pickle calls something that is not a function');
      switch (callable.qualified) {
        case 'collections.OrderedDict': {
          const dict = new PyDict();
          const items = args[0];
          if (Array.isArray(items)) {
            for (const item of items) {
              if (!(item instanceof PyTuple) || item.items.length !== 2)
                throw fail('OrderedDict built from something other than (key, value) pairs');
              dict.map.set(item.items[0], item.items[1]);
            }
          }
          return dict;
        }
        case 'torch._utils._rebuild_tensor':
        case 'torch._utils._rebuild_tensor_v2':
          return rebuildTensor(args, fail);
        case 'torch._utils._rebuild_parameter':
          if (!(args[0] instanceof PthTensor))
            throw fail('_rebuild_parameter of something that is not a tensor');
          return args[0];
        default:
          throw fail(`the pickle calls ${callable.qualified}, which does not build a tensor or a dict`);
      }
    },
    persistentLoad(pid: unknown): unknown {
      const items = pid instanceof PyTuple ? pid.items : [];
      const [kind, type, key, , , view] = items;
      if (
        kind !== 'storage' ||
        !(type instanceof PyGlobal) ||
        !Object.hasOwn(storageTypes, type.name) ||
        typeof key !== 'string'
      )
        throw fail('a persistent id that is not a torch storage');
      let storage = storages.get(key);
      if (!storage) {
        storage = new Storage(key, storageTypes[type.name]!);
        if (storageBytes) storage.bytes = storageBytes(key);
        storages.set(key, storage);
      } else if (storage.type !== storageTypes[type.name]) {
        throw fail(`storage ${key} is used with two dtypes`);
      }
      if (view instanceof PyTuple) {
        // Legacy (< 1.0) storage views: (view_key, offset, size) into the root storage.
        const offset = view.items[1];
        if (!isIndex(offset)) throw fail(`storage view ${String(view.items[0])} has a bad offset`);
        return new StorageRef(storage, offset);
      }
      return new StorageRef(storage, 0);
    },
  };
}

function rebuildTensor(args: unknown[], fail: (m: string) => UserError): PthTensor {
  const [ref, offset, size, stride] = args;
  if (!(ref instanceof StorageRef)) throw fail('a tensor rebuilt from something that is not a storage');
  const ints = (v: unknown): number[] | undefined =>
    v instanceof PyTuple && v.items.every(isIndex) ? (v.items as number[]) : undefined;
  const sizes = ints(size);
  const strides = ints(stride);
  if (!isIndex(offset) || !sizes || !strides || sizes.length !== strides.length || sizes.length > 64)
    throw fail('a tensor with a malformed offset, size or stride');
  return new PthTensor(ref, offset, sizes, strides);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Copies a (possibly strided) tensor out of its storage as float32, checking every bound first. */
function materialise(tensor: PthTensor, name: string, what: string): NamedTensor {
  const { storage } = tensor.ref;
  const shape = [...tensor.size];
  let count = 1;
  let last = tensor.ref.offset + tensor.offset;
  for (let i = 0; i < shape.length; i++) {
    count *= shape[i]!;
    if (count > maxElements)
      throw new UserError(`${what}: tensor '${name}' has more than ${maxElements} elements`);
  }
  if (count > 0) for (let i = 0; i < shape.length; i++) last += (shape[i]! - 1) * tensor.stride[i]!;
  if (count > 0 && (!Number.isSafeInteger(last) || last >= storage.numel)) {
    throw new UserError(
      `${what}: tensor '${name}' reaches element ${last} of storage ${storage.key}, which holds ${storage.numel} (truncated or damaged file?)`,
    );
  }
  const out = new Float32Array(count);
  if (count === 0) return { shape, data: out };
  const bytes = storage.bytes!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { read, bytes: size } = storage.type;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let element = tensor.ref.offset + tensor.offset;
  for (let i = 0; i < count; i++) {
    out[i] = read(view, element * size);
    // Advance the multi-index, last axis fastest.
    for (let axis = rank - 1; axis >= 0; axis--) {
      index[axis]!++;
      element += tensor.stride[axis]!;
      if (index[axis]! < shape[axis]!) break;
      element -= index[axis]! * tensor.stride[axis]!;
      index[axis] = 0;
    }
  }
  return { shape, data: out };
}

function isTensorDict(value: unknown): value is PyDict {
  return (
    value instanceof PyDict &&
    [...value.map].every(([k, v]) => typeof k === 'string' && v instanceof PthTensor)
  );
}

/** Keys a training checkpoint may keep its model's weights under, in the order they are preferred. */
const checkpointKeys = ['state_dict', 'model', 'best_state_dict', 'model_state_dict'];

function describeValue(value: unknown): string {
  if (value instanceof PyDict) return 'a dict';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof PyTuple) return 'a tuple';
  if (value instanceof PthTensor) return 'a single tensor';
  return value === null ? 'None' : `a ${typeof value}`;
}

/** Chooses the state_dict in the unpickled object and converts its tensors to float32. */
function chooseWeights(root: unknown, format: PthFormat, what: string): PthContents {
  let dict: PyDict;
  let checkpointKey: string | undefined;
  let otherKeys: string[] = [];
  if (isTensorDict(root)) dict = root;
  else if (root instanceof PyDict) {
    checkpointKey = checkpointKeys.find((k) => isTensorDict(root.map.get(k)));
    const keys = [...root.map.keys()].map(String);
    if (checkpointKey === undefined) {
      throw new UserError(
        `${what}: holds a dict that is neither a state_dict (name → tensor) nor a checkpoint with one under ${checkpointKeys.map((k) => `'${k}'`).join(', ')} (its keys: ${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ', …' : ''})`,
      );
    }
    dict = root.map.get(checkpointKey) as PyDict;
    otherKeys = keys.filter((k) => k !== checkpointKey);
  } else {
    throw new UserError(`${what}: holds ${describeValue(root)}, not a state_dict (a dict of tensors)`);
  }
  const entries = [...dict.map] as [string, PthTensor][];
  if (entries.length === 0) {
    throw new UserError(
      `${what}: holds an empty ${checkpointKey === undefined ? 'dict' : `'${checkpointKey}'`}: no tensors`,
    );
  }
  const strip = entries.every(([k]) => k.startsWith('module.'));
  const tensors = new Map<string, NamedTensor>();
  const dtypes = new Map<string, string>();
  for (const [key, tensor] of entries) {
    const name = strip ? key.slice('module.'.length) : key;
    if (tensors.has(name)) throw new UserError(`${what}: holds tensor '${name}' twice`);
    tensors.set(name, materialise(tensor, key, what));
    dtypes.set(name, tensor.ref.storage.type.dtype);
  }
  return {
    tensors,
    info: {
      format,
      layout:
        checkpointKey === undefined
          ? 'a plain state_dict'
          : `a checkpoint dict; weights from its '${checkpointKey}'`,
      checkpointKey,
      otherKeys,
      strippedModulePrefix: strip,
      dtypes,
    },
  };
}

/** Whether `bytes` starts like a zip archive (the zip torch.save format). */
export function isZip(bytes: Uint8Array): boolean {
  return bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/** Parses a zip-format torch.save file. */
export function parseZipPth(bytes: Uint8Array, what: string): PthContents {
  const zip = readZip(bytes, what);
  const pickles = zip.names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    throw new UserError(
      pickles.length
        ? `${what}: holds ${pickles.length} archives (${pickles.join(', ')}), not one torch.save`
        : `${what}: is a zip archive without <archive>/data.pkl, not a PyTorch checkpoint`,
    );
  }
  const prefix = pickles[0]!.slice(0, -'data.pkl'.length);
  const order = zip.read(`${prefix}byteorder`);
  if (order && new TextDecoder().decode(order) !== 'little')
    throw new UserError(`${what}: was saved on a big-endian machine, which hrnet does not read`);
  const storages = new Map<string, Storage>();
  const hooks = torchHooks(what, storages, (key) => {
    const data = zip.read(`${prefix}data/${key}`);
    if (!data) throw new UserError(`${what}: storage ${key} has no entry ${prefix}data/${key} (truncated?)`);
    return data;
  });
  const { value } = unpickle(zip.read(pickles[0]!)!, 0, what, hooks, pickles[0]);
  return chooseWeights(value, 'zip', what);
}

/** Whether `bytes` starts with a pickle of torch's legacy magic number. */
export function isLegacyPth(bytes: Uint8Array): boolean {
  const magic = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
  return (
    bytes[0] === 0x80 && bytes[2] === 0x8a && bytes[3] === 0x0a && magic.every((b, i) => bytes[4 + i] === b)
  );
}

/** Parses a legacy (PyTorch < 1.6) torch.save file. */
export function parseLegacyPth(bytes: Uint8Array, what: string): PthContents {
  const plain = {
    findGlobal: (module: string, name: string): unknown => {
      throw refusal(what, `${module}.${name}`);
    },
    call: (): unknown => {
      throw new UserError(`${what}: a header pickle calls a function`);
    },
    persistentLoad: (): unknown => {
      throw new UserError(`${what}: a header pickle refers to a storage`);
    },
  };
  const magic = unpickle(bytes, 0, what, plain);
  if (magic.value !== legacyMagic)
    throw new UserError(`${what}: is a Python pickle, but not a PyTorch checkpoint (no torch magic number)`);
  const version = unpickle(bytes, magic.end, what, plain);
  if (version.value !== 1001)
    throw new UserError(`${what}: has legacy format version ${String(version.value)}, not 1001`);
  const sysInfo = unpickle(bytes, version.end, what, plain);
  if (sysInfo.value instanceof PyDict && sysInfo.value.map.get('little_endian') === false)
    throw new UserError(`${what}: was saved on a big-endian machine, which hrnet does not read`);
  const storages = new Map<string, Storage>();
  const main = unpickle(bytes, sysInfo.end, what, torchHooks(what, storages));
  const keys = unpickle(bytes, main.end, what, plain);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string'))
    throw new UserError(`${what}: the list of storage keys is not a list of strings`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = keys.end;
  for (const key of keys.value as string[]) {
    const storage = storages.get(key);
    if (!storage) throw new UserError(`${what}: storage ${key} is listed but no tensor uses it`);
    if (pos + 8 > bytes.length)
      throw new UserError(`${what}: the file ends before storage ${key} (truncated?)`);
    const numel = view.getBigInt64(pos, true);
    const length = numel * BigInt(storage.type.bytes);
    if (numel < 0n || length > BigInt(bytes.length - pos - 8)) {
      throw new UserError(
        `${what}: storage ${key} claims ${numel} elements, more than the ${bytes.length - pos - 8} bytes left hold (truncated?)`,
      );
    }
    storage.bytes = bytes.subarray(pos + 8, pos + 8 + Number(length));
    pos += 8 + Number(length);
  }
  for (const storage of storages.values())
    if (!storage.bytes) throw new UserError(`${what}: storage ${storage.key} has no data (truncated?)`);
  return chooseWeights(main.value, 'legacy', what);
}
