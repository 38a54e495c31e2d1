import { isDeepStrictEqual } from 'node:util';
import { type Diagnostic, error } from '../diagnostics/diagnostic.ts';
import { toPlain } from './experiment-config.ts';
import { parseOverrideList } from './overrides.ts';
import { type CfgNode, lookup } from './python-value.ts';
import { spanAt } from './schema-check.ts';

/** A config key (standing for itself and every key under it) whose value the compiler bakes in. */
export interface CompileTimeKey {
  readonly key: string;
  /** What in OUT/<exp> holds the value, for the diagnostic's note. */
  readonly compiledInto: string;
}

/**
 * The config keys that only a recompile can change: what compiler/ reads from the config. `hrnet`
 * commands refuse `KEY VALUE` overrides of them (see `compileTimeOverrideErrors`).
 *
 * - MODEL: compiler/models lowers the network from MODEL.NAME, MODEL.EXTRA, MODEL.IMAGE_SIZE and
 *   MODEL.NUM_JOINTS (HEATMAP_SIZE must equal IMAGE_SIZE / 4, E403); the whole group is compile-time,
 *   so a compiled folder always describes one model.
 * - LOSS.USE_TARGET_WEIGHT: compiler/pipeline.ts builds the training step's loss with or without the
 *   target weights (compiler/passes/training-graph.ts, the loss op's use_target_weight in train-step.ir
 *   and its kernels).
 *
 * Not compile-time, though the training step runs them: TRAIN.OPTIMIZER, LR, MOMENTUM, WD, NESTEROV
 * (both the Adam and the SGD kernel are compiled; their hyperparameters are a buffer the runtime writes
 * every step), the batch size (every program takes any N), and BatchNorm's momentum and eps (constants
 * of the official model code, not config keys).
 */
export const compileTimeKeys: readonly CompileTimeKey[] = [
  { key: 'MODEL', compiledInto: 'the network: model.ir, its kernels and weight layout' },
  {
    key: 'LOSS.USE_TARGET_WEIGHT',
    compiledInto: "the training step's loss (train-step.ir and its kernels)",
  },
];

/** The compile-time entry that `key` falls under, if any. */
export function compileTimeKeyOf(key: string): CompileTimeKey | undefined {
  return compileTimeKeys.find((k) => key === k.key || key.startsWith(`${k.key}.`));
}

/**
 * Errors for a compiled program's config: each `KEY VALUE` override that changes a compile-time key
 * (located at the argument, `<arg N>:1:1`), or else each compile-time key in which `tree` (the
 * program's config.yaml with the overrides applied) differs from `compiled` (the plain config in its
 * manifest.json, undefined when it has none). An override that leaves the value as compiled is accepted.
 */
export function compileTimeOverrideErrors(
  overrideArgs: readonly string[],
  tree: CfgNode,
  compiled: unknown,
): Diagnostic[] {
  const { overrides } = parseOverrideList(overrideArgs);
  const out: Diagnostic[] = [];
  overrides.forEach((override, i) => {
    const entry = compileTimeKeyOf(override.key);
    // The last override of a key decides its value; an earlier one is not an error of its own.
    if (!entry || overrides.slice(i + 1).some((later) => later.key === override.key)) return;
    const path = override.key.split('.');
    if (compiled !== undefined && sameValue(tree, compiled, path)) return;
    out.push(
      error(
        'E205',
        `${override.key} is compiled into the program; recompile to change it: npx hrnetc EXP.yaml ${shellWord(override.key)} ${shellWord(override.value.value)}`,
        override.keySpan,
        [`${entry.key} is compiled into ${entry.compiledInto}`],
      ),
    );
  });
  if (out.length > 0 || compiled === undefined) return out;
  for (const { key } of compileTimeKeys) {
    const path = key.split('.');
    const value = lookup(tree, path);
    const differs = differingPath(value && toPlain(value), plainAt(compiled, path), path);
    if (differs) {
      out.push(
        error(
          'E205',
          `${differs.join('.')} in this config.yaml differs from what the program was compiled with (manifest.json); recompile the experiment`,
          spanAt(tree, differs),
        ),
      );
    }
  }
  return out;
}

/** The deepest key under `path` where the two plain configs differ, or undefined when they agree. */
function differingPath(actual: unknown, expected: unknown, path: string[]): string[] | undefined {
  if (isDeepStrictEqual(actual, expected)) return undefined;
  if (isMapping(actual) && isMapping(expected)) {
    for (const key of new Set([...Object.keys(actual), ...Object.keys(expected)])) {
      const inner = differingPath(actual[key], expected[key], [...path, key]);
      if (inner) return inner;
    }
  }
  return path;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function plainAt(plain: unknown, path: readonly string[]): unknown {
  let current = plain;
  for (const part of path) current = isMapping(current) ? current[part] : undefined;
  return current;
}

function sameValue(tree: CfgNode, compiled: unknown, path: readonly string[]): boolean {
  const value = lookup(tree, path);
  return value !== undefined && isDeepStrictEqual(toPlain(value), plainAt(compiled, path));
}

/** The argument as a POSIX shell needs it written. */
function shellWord(text: string): string {
  return /^[\w.,:/+=@%-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`;
}
