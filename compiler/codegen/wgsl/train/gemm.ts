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
  /** M, and N at a nominal batch of 16, for choosing tiles. */
  readonly mValue: number;
  readonly nValue: number;
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
  /** Each thread accumulates a blockM × blockN block of C. */
  readonly blockM: number;
  readonly blockN: number;
}

const powerOfTwoAtLeast = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

/** Workgroup memory for the A and B tiles stays within WebGPU's default 16 KiB. */
const workgroupFloats = 4096;

/**
 * 64 threads with 8 × 16 blocks where the matrix is large enough: on a CPU adapter every workgroup
 * memory read is a gather, so a large block (8 + 16 reads for 128 FMAs) is what makes it fast
 * (measured on lavapipe: 2× the 4 × 4 blocks of 256 threads). Small M or N shrink the tile rather
 * than compute padding.
 */
export function gemmTiling(spec: GemmSpec, override: Partial<GemmTiling> = {}): GemmTiling {
  const tileM = Math.min(64, powerOfTwoAtLeast(spec.mValue));
  const blockM = Math.min(8, tileM);
  const threadsM = tileM / blockM;
  let threadsN = 64 / threadsM;
  let blockN = 16;
  while (threadsN * blockN >= 2 * spec.nValue && blockN > 4) blockN /= 2;
  while (threadsN * blockN >= 2 * spec.nValue && threadsN > 8) threadsN /= 2;
  const tileN = threadsN * blockN;
  const tileK = [16, 8, 4, 2, 1].find((k) => (tileM + tileN) * k <= workgroupFloats)!;
  return { tileM, tileN, tileK, blockM, blockN, ...override };
}

/**
 * (tileM / blockM) × (tileN / blockN) threads per workgroup, each accumulating a blockM × blockN
 * block of C from tiles of A and B staged in workgroup memory. A thread's rows are strided by the
 * thread rows and its columns by the thread columns, so neighbouring threads read neighbouring
 * words. With splits, slice z reduces k in [z·⌈K/S⌉, (z+1)·⌈K/S⌉).
 */
export function generateGemmKernel(
  spec: GemmSpec,
  generator: string,
  override: Partial<GemmTiling> = {},
): string {
  const { tileM, tileN, tileK, blockM, blockN } = gemmTiling(spec, override);
  const threadsM = tileM / blockM;
  const threadsN = tileN / blockN;
  const threads = threadsM * threadsN;
  const rowsI = Array.from({ length: blockM }, (_, i) => i);
  const colsJ = Array.from({ length: blockN }, (_, j) => j);
  const accumulate = rowsI.flatMap((i) =>
    colsJ.map((j) => `      acc[${i * blockN + j}] = fma(a${i}, b${j}, acc[${i * blockN + j}]);`),
  );
  const loadsA = rowsI.map((i) => `      let a${i} = tileA[kk * TILE_M + tm + ${i}u * THREADS_M];`);
  const loadsB = colsJ.map((j) => `      let b${j} = tileB[kk * TILE_N + tn + ${j}u * THREADS_N];`);
  // Unrolled with constant indices: dynamically indexed arrays compile slowly on lavapipe.
  const stores = rowsI.flatMap((i) =>
    colsJ.map(
      (j) =>
        `  if (m0 + tm + ${i}u * THREADS_M < sizeM && n0 + tn + ${j}u * THREADS_N < sizeN) { store(m0 + tm + ${i}u * THREADS_M, n0 + tn + ${j}u * THREADS_N, acc[${i * blockN + j}], group.z); }`,
    ),
  );
  return `${generatorHeader(generator, spec.description)}

${declareBindings(spec.bindings)}

${spec.constants.map(([name, value]) => `const ${name}: u32 = ${u32(value)};`).join('\n')}
const TILE_M: u32 = ${u32(tileM)};
const TILE_N: u32 = ${u32(tileN)};
const TILE_K: u32 = ${u32(tileK)};
const THREADS_M: u32 = ${u32(threadsM)};
const THREADS_N: u32 = ${u32(threadsN)};
const THREADS: u32 = ${u32(threads)};
const SPLITS: u32 = ${u32(spec.splits)};

${spec.functions}

var<workgroup> tileA: array<f32, ${tileK * tileM}>;
var<workgroup> tileB: array<f32, ${tileK * tileN}>;

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let sizeM = ${spec.m};
  let sizeN = ${spec.n};
  let sizeK = ${spec.k};
  let m0 = group.y * TILE_M;
  let n0 = group.x * TILE_N;
  let slice = (sizeK + SPLITS - 1u) / SPLITS;
  let kBegin = group.z * slice;
  let kEnd = min(sizeK, kBegin + slice);
  let tn = lid % THREADS_N;
  let tm = lid / THREADS_N;
  var acc: array<f32, ${blockM * blockN}>;
  for (var k0 = kBegin; k0 < kEnd; k0 = k0 + TILE_K) {
    for (var i = lid; i < TILE_K * TILE_M; i = i + THREADS) {
      let kk = i / TILE_M;
      let mm = i % TILE_M;
      var v = 0.0;
      if (k0 + kk < kEnd && m0 + mm < sizeM) {
        v = loadA(m0 + mm, k0 + kk);
      }
      tileA[i] = v;
    }
    for (var i = lid; i < TILE_K * TILE_N; i = i + THREADS) {
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
${loadsA.join('\n')}
${loadsB.join('\n')}
${accumulate.join('\n')}
    }
    workgroupBarrier();
  }
${stores.join('\n')}
}
`;
}
