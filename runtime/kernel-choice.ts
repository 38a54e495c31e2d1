import type { Dispatch, ForwardProgram, TrainStepProgram, WeightEntry } from './program.ts';

/**
 * OUT/<exp>/tuning.json, written by `hrnet tune`: for each convolution (by its choice key), the
 * variant measured fastest on one adapter and driver at one batch size, with every candidate's time.
 */
export interface TuningFile {
  readonly format: 'hrnetc-tuning';
  readonly version: 1;
  /** The adapter and driver it was measured on (describeAdapter: vendor, architecture, description). */
  readonly adapter: string;
  readonly experiment: string;
  readonly batch: number;
  readonly kernels: Readonly<Record<string, TunedKernel>>;
  /**
   * The training step's convolution launches (forward, input and weight gradients), when `hrnet tune
   * --training` measured them, at their own batch size (a step cannot split its batch).
   */
  readonly training?: {
    readonly batch: number;
    readonly kernels: Readonly<Record<string, TunedKernel>>;
  };
}

export interface TunedKernel {
  readonly variant: string;
  /** Median milliseconds per dispatch of each candidate that matched the reference. */
  readonly ms: Readonly<Record<string, number>>;
}

export interface KernelSelection {
  readonly adapter: string;
  readonly isSoftware: boolean;
  readonly tuning?: TuningFile;
}

/** What a choice over one program's dispatches decided (see chooseKernels). */
interface ChosenDispatches extends KernelChoiceSummary {
  /** Each dispatch runs one kernel, and `choice` is gone; a variant's `followedBy` launches follow it. */
  readonly dispatches: readonly Dispatch[];
}

/** What decided a program's kernels, for the user (see describeKernelChoice). */
export interface KernelChoiceSummary {
  /** What decided: a tuning file for this adapter, or the adapter class's defaults. */
  readonly source: 'tuning' | 'software defaults' | 'hardware defaults';
  /** Dispatches whose variant the tuning file chose. */
  readonly tuned: number;
  /** Why a tuning file present was not used, for the user. */
  readonly ignoredTuning?: string;
  /** Dispatches per variant name, e.g. { 'direct-p16k8': 40, gemm: 12 }. */
  readonly variantCounts: Readonly<Record<string, number>>;
}

export interface ChosenKernels extends ChosenDispatches {
  /** The program with every choice made. */
  readonly program: ForwardProgram;
  /** The weight entries the chosen kernels bind, packed together; the others have no bytes. */
  readonly weights: { readonly bytes: number; readonly entries: readonly WeightEntry[] };
}

export interface ChosenTrainingKernels extends ChosenDispatches {
  /** The training step with every choice made. */
  readonly program: TrainStepProgram;
}

/**
 * Makes every kernel choice of a forward program: the tuning file's variant when the file was
 * measured on this adapter and driver, else the default for the adapter's class. Deterministic given
 * the file. Only the chosen kernels' weights are packed, so unused layouts cost no memory.
 */
export function chooseKernels(
  program: ForwardProgram,
  weights: { readonly bytes: number; readonly entries: readonly WeightEntry[] },
  selection: KernelSelection,
): ChosenKernels {
  const chosen = chooseDispatches(program.dispatches, selection);
  return {
    ...chosen,
    program: { ...program, dispatches: chosen.dispatches },
    weights: packUsedEntries(weights.entries, chosen.dispatches),
  };
}

/**
 * Makes every kernel choice of a training step as chooseKernels does: on a software adapter the
 * direct kernels, on a GPU the tiled GEMM, unless the tuning file's training part (`hrnet tune
 * --training`) names another variant. A file without that part leaves the defaults.
 */
export function chooseTrainingKernels(
  program: TrainStepProgram,
  selection: KernelSelection,
): ChosenTrainingKernels {
  const { tuning, ...rest } = selection;
  const training = tuning?.training ? { ...tuning, kernels: tuning.training.kernels } : undefined;
  const chosen = chooseDispatches(program.dispatches, { ...rest, ...(training ? { tuning: training } : {}) });
  return { ...chosen, program: { ...program, dispatches: chosen.dispatches } };
}

function chooseDispatches(dispatches: readonly Dispatch[], selection: KernelSelection): ChosenDispatches {
  const tuning = selection.tuning;
  const tuningApplies = tuning !== undefined && tuning.adapter === selection.adapter;
  const defaultsName = selection.isSoftware ? 'software' : 'hardware';
  const variantCounts: Record<string, number> = {};
  let tunedCount = 0;
  const chosen = dispatches.flatMap((dispatch): Dispatch[] => {
    const choice = dispatch.choice;
    if (!choice) return [dispatch];
    const byName = (name: string | undefined) => choice.variants.find((v) => v.name === name);
    // A variant this compilation does not have (another --target) leaves the default in place.
    const tuned = tuningApplies ? byName(tuning.kernels[choice.key]?.variant) : undefined;
    if (tuned) tunedCount++;
    const wanted = choice.defaults[defaultsName];
    const variant = tuned ?? byName(wanted);
    if (!variant) {
      throw new Error(
        `${dispatch.module}: no kernel variant ${wanted} (has ${choice.variants.map((v) => v.name).join(', ')})`,
      );
    }
    variantCounts[variant.name] = (variantCounts[variant.name] ?? 0) + 1;
    const { choice: _made, withoutSubgroups: _default, ...rest } = dispatch;
    const own: Dispatch = {
      ...rest,
      kernel: variant.kernel,
      bindings: variant.bindings,
      workgroups: variant.workgroups,
      ...(variant.withoutSubgroups === undefined ? {} : { withoutSubgroups: variant.withoutSubgroups }),
    };
    return [own, ...(variant.followedBy ?? []).map((launch) => ({ ...rest, ...launch }))];
  });
  const ignoredTuning =
    tuning !== undefined && !tuningApplies
      ? `the tuning file was measured on ${tuning.adapter}, not on this adapter (${selection.adapter}); using the defaults`
      : undefined;
  return {
    dispatches: chosen,
    source: tunedCount > 0 ? 'tuning' : `${defaultsName} defaults`,
    tuned: tunedCount,
    ...(ignoredTuning ? { ignoredTuning } : {}),
    variantCounts,
  };
}

/** New offsets for the entries the dispatches bind, in entry order; unbound entries get no bytes. */
function packUsedEntries(
  entries: readonly WeightEntry[],
  dispatches: readonly Dispatch[],
): { bytes: number; entries: WeightEntry[] } {
  const used = new Set<number>();
  for (const dispatch of dispatches)
    for (const binding of dispatch.bindings) if (binding.kind === 'weight') used.add(binding.entry);
  let bytes = 0;
  const packed = entries.map((entry, i) => {
    if (!used.has(i)) return { ...entry, offset: 0, bytes: 0 };
    const placed = { ...entry, offset: bytes };
    bytes += entry.bytes;
    return placed;
  });
  return { bytes, entries: packed };
}

/** Checks the shape of a parsed tuning.json; returns a message for the first problem, if any. */
export function tuningFileProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'is not a JSON object';
  const file = value as Partial<TuningFile>;
  if (file.format !== 'hrnetc-tuning' || file.version !== 1) return 'is not an hrnetc v1 tuning file';
  if (typeof file.adapter !== 'string') return 'has no adapter';
  if (typeof file.kernels !== 'object' || file.kernels === null) return 'has no kernels';
  for (const [key, kernel] of Object.entries(file.kernels)) {
    if (typeof kernel?.variant !== 'string') return `names no variant for ${key}`;
  }
  if (file.training !== undefined) {
    const training = file.training as Partial<NonNullable<TuningFile['training']>> | null;
    if (typeof training?.kernels !== 'object' || training.kernels === null) return 'has no training kernels';
    for (const [key, kernel] of Object.entries(training.kernels)) {
      if (typeof kernel?.variant !== 'string') return `names no training variant for ${key}`;
    }
  }
  return undefined;
}

/** One line for the user: which kernels run, and why (e.g. `tuning.json: direct-p16k8 40, gemm 12`). */
export function describeKernelChoice(chosen: KernelChoiceSummary): string {
  const counts = Object.entries(chosen.variantCounts)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  if (counts === '') return 'one kernel per convolution';
  const why = chosen.source === 'tuning' ? `tuning.json (${chosen.tuned} tuned)` : chosen.source;
  return `${why}: ${counts}`;
}
