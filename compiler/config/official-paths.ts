import { type CfgNode, lookup, type PyValue } from './python-value.ts';

/** Python's os.path.join for two POSIX parts: an absolute second part replaces the first. */
export function pythonPathJoin(first: string, second: string): string {
  if (second.startsWith('/')) return second;
  if (first === '' || first.endsWith('/')) return first + second;
  return `${first}/${second}`;
}

export interface DirectoryOptions {
  readonly dataDir?: string;
  readonly modelDir?: string;
  readonly logDir?: string;
}

/**
 * The tail of the official update_config: --modelDir/--logDir/--dataDir replace OUTPUT_DIR, LOG_DIR and
 * DATA_DIR, then DATA_DIR is joined in front of DATASET.ROOT and MODEL.PRETRAINED (always) and
 * TEST.MODEL_FILE (when set).
 */
export function applyDirectories(root: CfgNode, options: DirectoryOptions): CfgNode {
  let result = root;
  if (options.modelDir) result = setString(result, ['OUTPUT_DIR'], options.modelDir);
  if (options.logDir) result = setString(result, ['LOG_DIR'], options.logDir);
  if (options.dataDir) result = setString(result, ['DATA_DIR'], options.dataDir);
  const dataDir = stringAt(result, ['DATA_DIR']);
  if (dataDir === undefined) return result;
  for (const path of [
    ['DATASET', 'ROOT'],
    ['MODEL', 'PRETRAINED'],
    ['TEST', 'MODEL_FILE'],
  ]) {
    const current = stringAt(result, path);
    if (current === undefined) continue;
    if (path[1] === 'MODEL_FILE' && current === '') continue;
    result = setString(result, path, pythonPathJoin(dataDir, current));
  }
  return result;
}

function stringAt(root: CfgNode, path: readonly string[]): string | undefined {
  const value = lookup(root, path);
  return value?.type === 'str' ? value.value : undefined;
}

function setString(node: CfgNode, path: readonly string[], value: string): CfgNode {
  const [key, ...rest] = path;
  const entry = node.entries.get(key!);
  if (!entry) return node;
  let updated: PyValue;
  if (rest.length === 0) {
    updated = { ...entry.value, type: 'str', value } as PyValue;
  } else if (entry.value.type === 'node') {
    updated = setString(entry.value, rest, value);
  } else {
    return node;
  }
  const entries = new Map(node.entries);
  entries.set(key!, { ...entry, value: updated });
  return { ...node, entries };
}
