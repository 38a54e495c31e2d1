import { isLegacyPth, isZip, type PthInfo, parseLegacyPth, parseZipPth } from './pth.ts';
import {
  maxTensorFileBytes,
  type NamedTensor,
  parseSafetensors,
  readInputFile,
  setTensorSource,
} from './safetensors.ts';

export type WeightFormat = 'safetensors' | PthInfo['format'];

export interface WeightFile {
  readonly tensors: Map<string, NamedTensor>;
  readonly format: WeightFormat;
  /** What readPth found (layout, prefix); undefined for safetensors. */
  readonly pth: PthInfo | undefined;
  /** Each tensor's dtype as stored (float32, float16, int64, ...). */
  readonly dtypes: ReadonlyMap<string, string>;
  /** A safetensors file's `__metadata__` (hrnet checkpoints keep epoch and steps there); else empty. */
  readonly metadata: Readonly<Record<string, string>>;
}

const safetensorsDtypes: Record<string, string> = {
  F32: 'float32',
  F64: 'float64',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
};

/** The dtypes and metadata in the header of a safetensors file that parseSafetensors accepted. */
function safetensorsHeader(bytes: Uint8Array): Pick<WeightFile, 'dtypes' | 'metadata'> {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Record<
    string,
    { dtype: string }
  >;
  const dtypes = new Map<string, string>();
  for (const [name, info] of Object.entries(header))
    if (name !== '__metadata__') dtypes.set(name, safetensorsDtypes[info.dtype] ?? info.dtype);
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  return { dtypes, metadata };
}

/**
 * Reads a weight file by its content: a zip (PyTorch ≥ 1.6 torch.save), a pickle that starts with
 * torch's magic number (legacy torch.save; any other pickle is refused), or else safetensors. Every problem is a UserError whose
 * message starts with the path.
 */
export function readWeightFile(path: string): WeightFile {
  const file = parseWeightFile(
    readInputFile(path, maxTensorFileBytes, 'a safetensors file or PyTorch checkpoint'),
    path,
  );
  setTensorSource(file.tensors, path);
  return file;
}

/** Parses the bytes of a weight file (see readWeightFile); messages start with `path`. */
export function parseWeightFile(bytes: Uint8Array, path: string): WeightFile {
  let file: WeightFile;
  if (isZip(bytes)) {
    const { tensors, info } = parseZipPth(bytes, path);
    file = { tensors, format: 'zip', pth: info, dtypes: info.dtypes, metadata: {} };
  } else if (
    isLegacyPth(bytes) ||
    (bytes[0] === 0x80 && bytes.length > 1 && bytes[1]! >= 2 && bytes[1]! <= 5)
  ) {
    const { tensors, info } = parseLegacyPth(bytes, path);
    file = { tensors, format: 'legacy', pth: info, dtypes: info.dtypes, metadata: {} };
  } else {
    const tensors = parseSafetensors(bytes, path);
    file = { tensors, format: 'safetensors', pth: undefined, ...safetensorsHeader(bytes) };
  }
  return file;
}

/** Reads weights from safetensors or a PyTorch .pth/.pt checkpoint (see readWeightFile). */
export function readWeights(path: string): Map<string, NamedTensor> {
  return readWeightFile(path).tensors;
}
