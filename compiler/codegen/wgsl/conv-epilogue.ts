import { u32 } from './bindings.ts';
import type { ConvKernelSpec } from './conv-gemm.ts';

/**
 * The WGSL lines that sum a fused convolution's terms in their original order into `sum` (the conv's
 * own value, `own`, at `selfIndex`; other terms read at 1/scale resolution, nearest-upsampled), then
 * apply ReLU. They read `outIndex`, `image`, `co`, `oy` and `ox` and the `termN` bindings; both
 * convolution kernels share them so the summation order cannot drift between them.
 */
export function convEpilogueSum(spec: ConvKernelSpec, indent: string): string[] {
  const termValue = (index: number): string => {
    if (index === spec.selfIndex) return 'own';
    const term = index < spec.selfIndex ? index : index - 1;
    const scale = spec.termScales[term]!;
    if (scale === 1) return `term${term}[outIndex]`;
    const h = spec.outHeight / scale;
    const w = spec.outWidth / scale;
    return `term${term}[((image * COUT + co) * ${u32(h)} + oy / ${u32(scale)}) * ${u32(w)} + ox / ${u32(scale)}]`;
  };
  const lines = [`${indent}var sum = ${termValue(0)};`];
  for (let index = 1; index <= spec.termScales.length; index++)
    lines.push(`${indent}sum = sum + ${termValue(index)};`);
  if (spec.relu) lines.push(`${indent}sum = max(sum, 0.0);`);
  return lines;
}
