import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * chevrotain, from the single-file ESM build its package ships (lib/chevrotain.mjs) rather than its
 * entry point: the entry point imports lodash-es, over two thousand module loads that cost every
 * `hrnet` and `hrnetc` start about 0.8 s under tsx's loader. Same version, same API. Found through
 * the package's own entry (its exports map names no other file), so it works wherever npm put it.
 */
const entry = createRequire(import.meta.url).resolve('chevrotain');
const chevrotain: typeof import('chevrotain') = await import(
  pathToFileURL(join(dirname(entry), '..', 'chevrotain.mjs')).href
);

export const { createToken, EmbeddedActionsParser, Lexer } = chevrotain;
export type { IToken, TokenType } from 'chevrotain';
