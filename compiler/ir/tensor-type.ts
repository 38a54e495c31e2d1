/** A dimension: a fixed size, or the symbolic batch size N. */
export type Dim = number | 'N';

export type DType = 'f32';

/** Every value in the IR is a dense tensor; activations are NCHW with a symbolic batch. */
export interface TensorType {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export function tensorType(shape: readonly Dim[], dtype: DType = 'f32'): TensorType {
  return { dtype, shape: [...shape] };
}

/** `f32[N,64,128,96]`. */
export function formatType(type: TensorType): string {
  return `${type.dtype}[${type.shape.join(',')}]`;
}

export function sameType(a: TensorType, b: TensorType): boolean {
  return (
    a.dtype === b.dtype && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])
  );
}

/** Number of elements for one batch item (the N dimension counts as 1). */
export function elementsPerItem(type: TensorType): number {
  return type.shape.reduce<number>((n, d) => n * (d === 'N' ? 1 : d), 1);
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'f32' ? 4 : 4;
}

/** The shape with N replaced by a concrete batch size. */
export function concreteShape(type: TensorType, batch: number): number[] {
  return type.shape.map((d) => (d === 'N' ? batch : d));
}
