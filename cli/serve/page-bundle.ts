import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** web/page.ts, the page's one script. */
export const pageEntry = `${root}web/page.ts`;
export const pageHtml = `${root}web/index.html`;

/**
 * Node built-ins the page's runtime modules import for their file and process helpers (safetensors.ts
 * reads files, pipelines.ts counts cores) are replaced by stubs that throw when called: the page only
 * uses those modules' pure functions, and a stub that is called names itself instead of failing as a
 * missing import. Each stub exports the real module's names, so a bundle never breaks on a name.
 */
function nodeBuiltinStubs(): Plugin {
  const builtin = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);
  return {
    name: 'node-builtin-stubs',
    setup(bundler) {
      bundler.onResolve({ filter: builtin }, (args) => ({ path: args.path, namespace: 'node-builtin' }));
      bundler.onLoad({ filter: /.*/, namespace: 'node-builtin' }, async (args) => {
        const names = Object.keys(await import(args.path)).filter(
          (name) => name !== 'default' && /^[A-Za-z_$][\w$]*$/.test(name),
        );
        const stub = (name: string) =>
          `() => { throw new Error('${args.path} ${name}() is not available in a browser page'); }`;
        return {
          contents: [
            ...names.map((name) => `export const ${name} = ${stub(name)};`),
            `export default {};`,
          ].join('\n'),
          loader: 'js',
        };
      });
    },
  };
}

/**
 * Bundles a page module for the browser. `process.env` reads (e.g. HRNETC_GPU_TIMEOUT) see an empty
 * environment, so they take their defaults; 'hrnetc/runtime' (imported by generated programs) is this
 * repository's runtime, wherever the compiled folder lives.
 */
async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    // The first Chrome with WebGPU.
    target: 'chrome113',
    sourcemap: 'inline',
    alias: { 'hrnetc/runtime': `${root}runtime/index.ts` },
    define: { 'process.env': '{}' },
    plugins: [nodeBuiltinStubs()],
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** web/page.ts and everything it imports from runtime/, as one script. */
export function bundlePage(): Promise<string> {
  return bundle(pageEntry);
}

/** A compiled program's forward.ts as a browser module exporting `program`. */
export function bundleForwardProgram(forwardTs: string): Promise<string> {
  return bundle(forwardTs);
}

/** A compiled program's backward.ts as a browser module exporting `trainStep`. */
export function bundleTrainStep(backwardTs: string): Promise<string> {
  return bundle(backwardTs);
}
