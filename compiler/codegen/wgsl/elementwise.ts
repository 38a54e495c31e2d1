import { declareBindings, generatorHeader, type KernelBinding, u32 } from './bindings.ts';

/** Ops left unfused by the passes (e.g. in hand-written graphs), one element per loop iteration. */
export type ElementwiseKernelSpec =
  | { readonly kind: 'relu'; readonly elements: number }
  /** With `relu`, the ReLU that is the sum's only reader as well (training graphs). */
  | { readonly kind: 'add'; readonly elements: number; readonly relu?: boolean }
  | {
      readonly kind: 'upsample_nearest';
      readonly channels: number;
      readonly height: number;
      readonly width: number;
      readonly scale: number;
    }
  | { readonly kind: 'batch_norm'; readonly channels: number; readonly plane: number; readonly eps: number };

/** Workgroups cap: threads loop over the rest, so any batch fits the dispatch limits. */
export const maxElementwiseGroups = 4096;
const threads = 256;

/**
 * ReLU and add over vec4s when an image's values come in fours (every HRNet tensor): a quarter of the
 * iterations, and one 16-byte load per lane and operand.
 */
function vectorized(spec: ElementwiseKernelSpec): boolean {
  return (spec.kind === 'relu' || spec.kind === 'add') && spec.elements % 4 === 0;
}

export function elementwiseBindings(spec: ElementwiseKernelSpec): KernelBinding[] {
  const element = vectorized(spec) ? 'vec4<f32>' : 'f32';
  const arena = (name: string): KernelBinding => ({ name, access: 'read_write', element });
  const weight = (name: string): KernelBinding => ({ name, access: 'read', element: 'f32' });
  switch (spec.kind) {
    case 'relu':
    case 'upsample_nearest':
      return [arena('out'), arena('x')];
    case 'add':
      return [arena('out'), arena('a'), arena('b')];
    case 'batch_norm':
      return [arena('out'), arena('x'), weight('gamma'), weight('beta'), weight('mean'), weight('variance')];
  }
}

/** Loop iterations per image: values, or vec4s of them. */
export function elementsPerImage(spec: ElementwiseKernelSpec): number {
  switch (spec.kind) {
    case 'relu':
    case 'add':
      return vectorized(spec) ? spec.elements / 4 : spec.elements;
    case 'upsample_nearest':
      return spec.channels * spec.height * spec.scale * spec.width * spec.scale;
    case 'batch_norm':
      return spec.channels * spec.plane;
  }
}

export function describeElementwise(spec: ElementwiseKernelSpec): string {
  switch (spec.kind) {
    case 'relu':
      return `relu of ${spec.elements} values per image`;
    case 'add':
      return `add${spec.relu ? ' and ReLU' : ''} of ${spec.elements} values per image`;
    case 'upsample_nearest':
      return `nearest upsample x${spec.scale} of ${spec.channels}x${spec.height}x${spec.width}`;
    case 'batch_norm':
      return `inference batch norm of ${spec.channels} channels x ${spec.plane}`;
  }
}

export function generateElementwiseKernel(spec: ElementwiseKernelSpec): string {
  let body: string;
  switch (spec.kind) {
    case 'relu':
      body = vectorized(spec) ? 'out[i] = max(x[i], vec4<f32>(0.0));' : 'out[i] = max(x[i], 0.0);';
      break;
    case 'add':
      if (!spec.relu) body = 'out[i] = a[i] + b[i];';
      else
        body = vectorized(spec)
          ? 'out[i] = max(a[i] + b[i], vec4<f32>(0.0));'
          : 'out[i] = max(a[i] + b[i], 0.0);';
      break;
    case 'upsample_nearest': {
      const w = spec.width * spec.scale;
      const h = spec.height * spec.scale;
      body = [
        `let ox = i % ${u32(w)};`,
        `    let oy = (i / ${u32(w)}) % ${u32(h)};`,
        `    let plane = i / ${u32(w * h)};`,
        `    out[i] = x[(plane * ${u32(spec.height)} + oy / ${u32(spec.scale)}) * ${u32(spec.width)} + ox / ${u32(spec.scale)}];`,
      ].join('\n');
      break;
    }
    case 'batch_norm':
      body = [
        `let c = (i / ${u32(spec.plane)}) % ${u32(spec.channels)};`,
        `    out[i] = (x[i] - mean[c]) / sqrt(variance[c] + ${spec.eps.toExponential()}) * gamma[c] + beta[c];`,
      ].join('\n');
      break;
  }
  return `${generatorHeader('compiler/codegen/wgsl/elementwise.ts', describeElementwise(spec))}

${declareBindings(elementwiseBindings(spec))}

const ELEMENTS_PER_IMAGE: u32 = ${u32(elementsPerImage(spec))};

@compute @workgroup_size(${threads})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let total = params.batch * ELEMENTS_PER_IMAGE;
  let stride = groups.x * ${u32(threads)};
  for (var i = gid.x; i < total; i = i + stride) {
    ${body}
  }
}
`;
}

export function elementwiseWorkgroups(spec: ElementwiseKernelSpec): {
  elementsPerImage: number;
  threads: number;
  maxGroups: number;
} {
  return { elementsPerImage: elementsPerImage(spec), threads, maxGroups: maxElementwiseGroups };
}
