import { realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';

/**
 * The file a URL path names inside `root`, or undefined when it names nothing there. The path is split
 * on '/' before any percent-decoding, and a segment that decodes to '', '.', '..', or to anything with
 * a slash, a backslash or a NUL is refused, so no spelling (`..%2f`, `%2e%2e`, `..\\`) can climb out;
 * the real path (symbolic links followed) must still lie inside the root's real path.
 */
export function confinedFile(root: string, urlPath: string): string | undefined {
  const segments: string[] = [];
  for (const raw of urlPath.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '' || segment === '.' || segment === '..' || /[/\\\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  if (segments.length === 0) return undefined;
  try {
    const realRoot = realpathSync(root);
    const real = realpathSync(join(realRoot, ...segments));
    if (!real.startsWith(realRoot + sep) || !statSync(real).isFile()) return undefined;
    return real;
  } catch {
    return undefined;
  }
}
