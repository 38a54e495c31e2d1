import { basename, extname } from 'node:path';
import { type Diagnostic, hasErrors } from '../diagnostics/diagnostic.ts';
import type { SourceText } from '../diagnostics/source-text.ts';
import { officialDefaults } from './defaults.ts';
import { type ExperimentConfig, toExperimentConfig } from './experiment-config.ts';
import { knownModelNames, missingExtraKeys, modelExtraDefaults } from './model-extras.ts';
import { applyDirectories, type DirectoryOptions } from './official-paths.ts';
import { applyOverrides, type Override, parseOverrideList } from './overrides.ts';
import { type CfgNode, lookup } from './python-value.ts';
import { readTextSource } from './read-source.ts';
import { checkSchema, exactSpanAt, spanAt } from './schema-check.ts';
import { type ConfigPath, checkSemantics } from './semantic-checks.ts';
import { decodeValue, mergeInto } from './yacs-merge.ts';
import { parseYamlTree } from './yaml-tree.ts';

export interface LoadOptions extends DirectoryOptions {
  /** The trailing `KEY VALUE …` list of the command line. */
  readonly overrides?: readonly string[];
  /**
   * The file is a resolved dump (OUT/<exp>/config.yaml) whose paths already have DATA_DIR joined on:
   * do not join it again.
   */
  readonly resolved?: boolean;
}

export interface LoadedExperiment {
  /** The file name without extension, as the official tools name output folders. */
  readonly name: string;
  readonly path: string;
  readonly config: ExperimentConfig;
  /** The merged tree with Python types and spans, for dumping and for locating later errors. */
  readonly tree: CfgNode;
  readonly warnings: readonly Diagnostic[];
}

export type LoadResult =
  | { readonly ok: true; readonly experiment: LoadedExperiment }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** The whole front end: file → yacs merge → overrides → directories → schema → semantic checks. */
export function loadExperiment(path: string, options: LoadOptions = {}): LoadResult {
  const read = readTextSource(path);
  if (!read.ok) return { ok: false, diagnostics: read.diagnostics };
  return loadExperimentSource(read.source, path, options);
}

export function loadExperimentSource(
  source: SourceText,
  path: string,
  options: LoadOptions = {},
): LoadResult {
  const parsed = parseYamlTree(source);
  if (!parsed.ok) return { ok: false, diagnostics: parsed.diagnostics };
  const diagnostics: Diagnostic[] = [];
  const { overrides, diagnostics: overrideProblems } = parseOverrideList(options.overrides ?? []);
  diagnostics.push(...overrideProblems);

  const defaults = withModelExtras(officialDefaults(), chooseModelName(parsed.root, overrides));
  let tree = mergeInto(defaults, parsed.root, [], diagnostics);
  tree = applyOverrides(tree, overrides, diagnostics, parsed.root);
  if (!options.resolved) tree = applyDirectories(tree, options);

  // As in the official update_config, MODEL.EXTRA is the file's: a key the model reads must be there.
  const finalName = lookup(tree, ['MODEL', 'NAME']);
  const missing = finalName?.type === 'str' ? missingExtraKeys(parsed.root, finalName.value, source) : [];
  diagnostics.push(...missing);
  // Values rejected by the merge kept their defaults, so the later checks still see a typed tree and
  // one run reports every problem; a missing EXTRA key holds a default, which the semantic checks
  // must not judge.
  const schemaProblems = checkSchema(tree);
  diagnostics.push(...schemaProblems);
  if (hasErrors(schemaProblems) || hasErrors(missing)) return { ok: false, diagnostics };
  const config = toExperimentConfig(tree);
  const locate = (...paths: ConfigPath[]) => {
    const asStrings = paths.map((p) => p.map(String));
    for (const path of asStrings) {
      const span = exactSpanAt(tree, path);
      if (span) return span;
    }
    // Only defaults are involved (e.g. the official default NUM_JOINTS 17 with DATASET mpii): point at
    // the file itself, since that is what has to change.
    return (asStrings[0] && spanAt(tree, asStrings[0])) || { source, start: 0, end: 1 };
  };
  diagnostics.push(...checkSemantics(config, locate));
  if (hasErrors(diagnostics)) return { ok: false, diagnostics };
  return {
    ok: true,
    experiment: { name: basename(path, extname(path)), path, config, tree, warnings: diagnostics },
  };
}

/** MODEL.NAME decides the EXTRA defaults, so it is read before the merge: override, file, default. */
function chooseModelName(fileRoot: CfgNode, overrides: readonly Override[]): string {
  const fromOverride = overrides.findLast((o) => o.key === 'MODEL.NAME');
  const raw = fromOverride ? fromOverride.value : lookup(fileRoot, ['MODEL', 'NAME']);
  if (raw) {
    const decoded = decodeValue(raw).value;
    if (decoded.type === 'str') return decoded.value;
  }
  return 'pose_hrnet';
}

function withModelExtras(defaults: CfgNode, modelName: string): CfgNode {
  if (!knownModelNames.includes(modelName)) return defaults;
  const model = defaults.entries.get('MODEL')!.value as CfgNode;
  const modelEntries = new Map(model.entries);
  modelEntries.set('EXTRA', { value: modelExtraDefaults[modelName]!() });
  const entries = new Map(defaults.entries);
  entries.set('MODEL', { value: { ...model, entries: modelEntries } });
  return { ...defaults, entries };
}
