/**
 * The contract between the compiler and the runtime: what a generated forward.ts and manifest.json
 * contain. The runtime depends on these types only, never on the compiler.
 */

/** An activation tensor's place in the arena, per image: the arena holds `batch` copies of each. */
export interface ArenaTensor {
  readonly id: number;
  /** The IR value and module it holds, for humans (`%12 stage2.0.branches.0.0.conv1`). */
  readonly label: string;
  /** Per image, e.g. [C, H, W]. */
  readonly shape: readonly number[];
  /** Byte offset per image: the tensor starts at offset × batch. A multiple of 256. */
  readonly offset: number;
  /** Bytes per image, a multiple of 256 (the tensor uses the first 4·C·H·W of them). */
  readonly bytes: number;
}

export type Binding =
  | { readonly kind: 'activation'; readonly tensor: number }
  | { readonly kind: 'weight'; readonly entry: number }
  /** Training: a value whose size does not depend on the batch (statistics, partial sums, the loss). */
  | { readonly kind: 'fixed'; readonly tensor: number }
  /** Training: a trainable parameter, its gradient, or a BN running statistic (flat buffers). */
  | { readonly kind: 'parameter'; readonly entry: number }
  | { readonly kind: 'gradient'; readonly entry: number }
  | { readonly kind: 'running'; readonly entry: number }
  /** Training: the optimizer's buffers. */
  | { readonly kind: 'optimizer'; readonly slot: 'expAvg' | 'expAvgSq' | 'momentumBuffer' | 'hyper' };

/**
 * A dispatch's workgroup counts as data, for any batch size: runtime/workgroups.ts is the one
 * evaluator, used alike by the runners, the tuner, the limit checks and the tests.
 */
export type WorkgroupCounts =
  /** x: the batch's columns (columnsPerImage per image) in groups of columnsPerGroup; y: rows. */
  | {
      readonly kind: 'tiles';
      readonly columnsPerImage: number;
      readonly columnsPerGroup: number;
      readonly rows: number;
    }
  /** As tiles, plus columns that do not grow with the batch, and z: slices of a split reduction. */
  | {
      readonly kind: 'split-tiles';
      readonly columnsPerImage: number;
      readonly fixedColumns: number;
      readonly columnsPerGroup: number;
      readonly rows: number;
      readonly splits: number;
    }
  /** One invocation per element (threads per workgroup), capped at maxGroups: kernels loop the rest. */
  | {
      readonly kind: 'grid-stride';
      readonly elementsPerImage: number;
      readonly threads: number;
      readonly maxGroups: number;
    }
  /** A count that does not depend on the batch (per channel, per parameter block). */
  | { readonly kind: 'fixed'; readonly x: number };

/** Another kernel that computes the same values as a dispatch (see Dispatch.choice). */
export interface DispatchVariant {
  /** e.g. `gemm` (the reference, workgroup-memory tiles) or `direct-p16k8`. */
  readonly name: string;
  readonly kernel: string;
  readonly bindings: readonly Binding[];
  readonly workgroups: WorkgroupCounts;
  /** The kernel to run instead on a device without the `subgroups` feature. */
  readonly withoutSubgroups?: string;
  /**
   * Launches this variant makes after its own to finish the same values: the training GEMM computes
   * a strided convolution's input gradient one stride class at a time, where the direct kernel
   * takes one launch.
   */
  readonly followedBy?: readonly VariantLaunch[];
}

export interface VariantLaunch {
  readonly kernel: string;
  readonly bindings: readonly Binding[];
  readonly workgroups: WorkgroupCounts;
}

/**
 * The candidates of a dispatch compiled for more than one strategy. The dispatch's own kernel,
 * bindings and workgroups are the `software` default; the runtime swaps in the variant that a tuning
 * file measured fastest on the adapter (by `key`), else the default for the adapter's class.
 */
export interface DispatchChoice {
  readonly key: string;
  readonly variants: readonly DispatchVariant[];
  readonly defaults: { readonly software: string; readonly hardware: string };
}

export interface Dispatch {
  readonly kernel: string;
  /** The official module this launch computes. */
  readonly module: string;
  /** Bound in order at @binding(1), @binding(2), …; @binding(0) is the uniform with the batch size. */
  readonly bindings: readonly Binding[];
  readonly workgroups: WorkgroupCounts;
  /** Training: only the input's gradient needs this dispatch (skipped unless it is read). */
  readonly onlyForGradInput?: true;
  /**
   * The kernel to run instead on a device without the `subgroups` feature (same bindings and
   * workgroups); `kernel` then needs it.
   */
  readonly withoutSubgroups?: string;
  readonly choice?: DispatchChoice;
}

export interface ForwardProgram {
  readonly experiment: string;
  readonly input: { readonly tensor: number; readonly shape: readonly number[] };
  readonly output: { readonly tensor: number; readonly shape: readonly number[] };
  /** Arena bytes per image; the arena for a batch is this × batch. */
  readonly arenaBytesPerImage: number;
  readonly tensors: readonly ArenaTensor[];
  readonly dispatches: readonly Dispatch[];
}

/** A region of a flat training buffer (parameters and gradients share one layout). */
export interface FlatEntry {
  readonly name: string;
  readonly shape: readonly number[];
  /** Byte offset, a multiple of 256. */
  readonly offset: number;
  readonly bytes: number;
}

/** A batch-independent tensor's place in the fixed arena. */
export interface FixedTensor {
  readonly id: number;
  readonly label: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly bytes: number;
}

/**
 * One training step as dispatches: the forward in training mode, the loss, the backward, and (as
 * separate dispatches) the optimizer. Activations and gradients of activations live in the arena;
 * statistics and other batch-independent values in the fixed arena.
 */
export interface TrainStepProgram {
  readonly experiment: string;
  readonly inputs: { readonly input: number; readonly target: number; readonly targetWeight: number };
  readonly inputShapes: {
    readonly input: readonly number[];
    readonly target: readonly number[];
    readonly targetWeight: readonly number[];
  };
  readonly outputs: { readonly loss: number; readonly heatmaps: number; readonly gradInput?: number };
  readonly arenaBytesPerImage: number;
  readonly fixedBytes: number;
  readonly tensors: readonly ArenaTensor[];
  readonly fixedTensors: readonly FixedTensor[];
  readonly parameters: readonly FlatEntry[];
  readonly parameterBytes: number;
  readonly running: readonly FlatEntry[];
  readonly runningBytes: number;
  readonly dispatches: readonly Dispatch[];
  readonly optimizer: { readonly adam: Dispatch; readonly sgd: Dispatch; readonly hyperValues: number };
}

/** How a packed weight is computed from official parameters (in float64, once, at load time). */
export type WeightSource =
  | { readonly kind: 'parameter'; readonly name: string }
  | {
      readonly kind: 'fold_bn_weight';
      readonly weight: string;
      readonly gamma: string;
      readonly variance: string;
      readonly eps: number;
    }
  | {
      readonly kind: 'fold_bn_bias';
      readonly gamma: string;
      readonly beta: string;
      readonly mean: string;
      readonly variance: string;
      readonly bias?: string;
      readonly eps: number;
    };

/**
 * How the values are laid out in the weight buffer: `conv-gemm` stores a conv weight [O, I, k, k]
 * as [I·k·k][O padded to 4] so kernels read four output channels as one vec4; `conv-direct-kK`
 * stores it as [O/K rounded up][I][k·k][K] (zero-padded channels), the K output channels one
 * direct-conv invocation computes next to each other per input channel and tap; `vector` pads a
 * length-O vector to a multiple of 4; `plain` keeps the official layout.
 */
export type WeightLayout = 'conv-gemm' | 'conv-direct-k8' | 'conv-direct-k16' | 'vector' | 'plain';

export interface WeightEntry {
  readonly source: WeightSource;
  /** Shape of the source value in official layout. */
  readonly shape: readonly number[];
  readonly layout: WeightLayout;
  /** Byte offset in the weight buffer, a multiple of 256. */
  readonly offset: number;
  readonly bytes: number;
  /** A conv-direct layout read from uniform bindings, a window of whole channel blocks at a time. */
  readonly windows?: WeightWindows;
}

/**
 * A packed direct-conv weight split into windows that each fit one uniform binding (64 KiB): window w
 * is the `bytes` at byte w·bytes of the entry, a vec4 whose x is the window's first block (w·blocks,
 * as a float), then `blocks` channel blocks (zeros past the last real one). A dispatch binding such
 * an entry runs once per window, binding each in turn; its workgroups cover one window's blocks.
 */
export interface WeightWindows {
  readonly count: number;
  readonly blocks: number;
  /** A multiple of 256 (any adapter's uniform offset alignment), at most 65536. */
  readonly bytes: number;
}

export interface ParameterInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: 'weight' | 'bias' | 'running_mean' | 'running_var';
}

export interface KernelInfo {
  readonly name: string;
  readonly file: string;
  readonly description: string;
}

/**
 * The manifest's format version, which also versions forward.ts and backward.ts: 2 spells workgroup
 * counts as data (WorkgroupCounts) where version 1 wrote functions.
 */
export const manifestVersion = 2;

export interface Manifest {
  readonly format: 'hrnetc-manifest';
  readonly version: typeof manifestVersion;
  readonly experiment: string;
  readonly model: string;
  /** The resolved experiment config (absent for an .ir input). */
  readonly config?: unknown;
  /** Every official parameter the program needs, in state_dict order. */
  readonly parameters: readonly ParameterInfo[];
  readonly weights: { readonly bytes: number; readonly entries: readonly WeightEntry[] };
  readonly kernels: readonly KernelInfo[];
  readonly arena: {
    readonly bytesPerImage: number;
    readonly peakLiveBytesPerImage: number;
    readonly tensors: number;
  };
  readonly dispatches: number;
  /** The training step's buffers (backward.ts), when it was compiled. */
  readonly training?: {
    readonly arenaBytesPerImage: number;
    readonly fixedBytes: number;
    readonly parameterBytes: number;
    readonly runningBytes: number;
    readonly dispatches: number;
  };
}
