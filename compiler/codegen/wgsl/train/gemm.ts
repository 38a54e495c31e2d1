import { declareBindings, generatorHeader, type KernelBinding, u32 } from '../bindings.ts';

/**
 * A GEMM-shaped kernel over arbitrary operands: C[m, n] = Σ_k A(m, k) · B(k, n), with the loads and the
 * store given as WGSL functions. Convolutions (forward, input gradient, weight gradient) are all such
 * implicit GEMMs over official-layout weights and NCHW activations.
 */
export interface GemmSpec {
  readonly description: string;
  readonly bindings: readonly KernelBinding[];
  /** WGSL expressions for the sizes; they may use `params.batch`. */
  readonly m: string;
  readonly n: string;
  readonly k: string;
  /** The larger of M's constant value, for choosing tiles. */
  readonly mValue: number;
  /** WGSL source defining `fn loadA(m: u32, k: u32) -> f32`, `fn loadB(k: u32, n: u32) -> f32` and
   * `fn store(m: u32, n: u32, value: f32, split: u32)` (bounds are checked by the kernel). */
  readonly functions: string;
  /**
   * Split the reduction into this many slices (workgroup z), each storing a partial sum for a
   * deterministic reduction afterwards; 1 for no split.
   */
  readonly splits: number;
  /** Constants the functions use. */
  readonly constants: readonly (readonly [string, number])[];
}

export interface GemmTiling {
  readonly tileM: number;
  readonly tileN: number;
  readonly tileK: number;
}

export function gemmTiling(spec: GemmSpec): GemmTiling {
  const tileM = spec.mValue >= 64 ? 64 : spec.mValue >= 32 ? 32 : 16;
  return { tileM, tileN: 4096 / tileM, tileK: 16 };
}

/**
 * 256 threads per workgroup, each accumulating a 4 × 4 block of C from tiles of A and B staged in
 * workgroup memory. With splits, slice z reduces k in [z·⌈K/S⌉, (z+1)·⌈K/S⌉).
 */
export function generateGemmKernel(spec: GemmSpec, generator: string): string {
  const { tileM, tileN, tileK } = gemmTiling(spec);
  const threadsM = tileM / 4;
  const rows = Array.from({ length: 4 }, (_, i) => i);
  const accumulate = rows.flatMap((i) =>
    rows.map((j) => `      acc[${i * 4 + j}] = fma(a[${i}], b[${j}], acc[${i * 4 + j}]);`),
  );
  // Unrolled with constant indices: dynamically indexed arrays compile slowly on lavapipe.
  const stores = rows.flatMap((i) =>
    rows.map(
      (j) =>
        `  if (m0 + tm * 4u + ${i}u < sizeM && n0 + tn * 4u + ${j}u < sizeN) { store(m0 + tm * 4u + ${i}u, n0 + tn * 4u + ${j}u, acc[${i * 4 + j}], group.z); }`,
    ),
  );
  return `${generatorHeader(generator, spec.description)}

${declareBindings(spec.bindings)}

${spec.constants.map(([name, value]) => `const ${name}: u32 = ${u32(value)};`).join('\n')}
const TILE_M: u32 = ${u32(tileM)};
const TILE_N: u32 = ${u32(tileN)};
const TILE_K: u32 = ${u32(tileK)};
const THREADS_M: u32 = ${u32(threadsM)};
const SPLITS: u32 = ${u32(spec.splits)};

${spec.functions}

var<workgroup> tileA: array<f32, ${tileK * tileM}>;
var<workgroup> tileB: array<f32, ${tileK * tileN}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let sizeM = ${spec.m};
  let sizeN = ${spec.n};
  let sizeK = ${spec.k};
  let m0 = group.y * TILE_M;
  let n0 = group.x * TILE_N;
  let slice = (sizeK + SPLITS - 1u) / SPLITS;
  let kBegin = group.z * slice;
  let kEnd = min(sizeK, kBegin + slice);
  let tm = lid % THREADS_M;
  let tn = lid / THREADS_M;
  var acc: array<f32, 16>;
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + TILE_K) {
    for (var i = lid; i < TILE_K * TILE_M; i = i + 256u) {
      let kk = i / TILE_M;
      let mm = i % TILE_M;
      var v = 0.0;
      if (k0 + kk < kEnd && m0 + mm < sizeM) {
        v = loadA(m0 + mm, k0 + kk);
      }
      tileA[i] = v;
    }
    for (var i = lid; i < TILE_K * TILE_N; i = i + 256u) {
      let kk = i / TILE_N;
      let nn = i % TILE_N;
      var v = 0.0;
      if (k0 + kk < kEnd && n0 + nn < sizeN) {
        v = loadB(k0 + kk, n0 + nn);
      }
      tileB[i] = v;
    }
    workgroupBarrier();
    let kCount = min(TILE_K, kEnd - k0);
    for (var kk = 0u; kk < kCount; kk = kk + 1u) {
      let a = vec4<f32>(tileA[kk * TILE_M + tm * 4u], tileA[kk * TILE_M + tm * 4u + 1u], tileA[kk * TILE_M + tm * 4u + 2u], tileA[kk * TILE_M + tm * 4u + 3u]);
      let b = vec4<f32>(tileB[kk * TILE_N + tn * 4u], tileB[kk * TILE_N + tn * 4u + 1u], tileB[kk * TILE_N + tn * 4u + 2u], tileB[kk * TILE_N + tn * 4u + 3u]);
${accumulate.join('\n')}
    }
    workgroupBarrier();
  }
${stores.join('\n')}
}
`;
}
