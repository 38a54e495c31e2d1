import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../../common/user-error.ts';
import { runtimeConfig } from '../../runtime/experiment-settings.ts';
import { loadManifest } from '../../runtime/program-loader.ts';
import { checkWeights } from '../../runtime/weights/pack-weights.ts';
import { readWeights } from '../../runtime/weights/read-weights.ts';
import { serializeSafetensors } from '../../runtime/weights/safetensors.ts';
import { startPageServer } from '../serve/page-server.ts';

/** Seed of the official initialisation the page uses without --weights (init-weights' default). */
const initialisationSeed = 0;

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'serve a page that predicts with the compiled program in a browser (WebGPU); prints its URL first',
    )
    .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
    .option(
      '--weights <file>',
      'weights by official PyTorch names (safetensors or .pth); default: the official initialisation',
    )
    .addOption(
      new Option('--port <n>', 'port to listen on (0: any free port)').default(8080).argParser(parsePort),
    )
    .option('--host <address>', 'address to listen on (another than 127.0.0.1 exposes the page)', '127.0.0.1')
    .action(async (compiled: string, flags: { weights?: string; port: number; host: string }) => {
      const directory = resolve(compiled);
      const manifest = loadManifest(compiled);
      // The page predicts, which needs the experiment's config; fail here rather than in the browser.
      runtimeConfig(manifest);
      if (!existsSync(join(directory, 'forward.ts')))
        throw new UserError(`${compiled} has no forward.ts; recompile with --emit including forward`);
      for (const kernel of manifest.kernels) {
        if (!existsSync(join(directory, kernel.file)))
          throw new UserError(`kernel ${kernel.file} is missing from ${compiled}; recompile`);
      }
      let weights: Uint8Array | undefined;
      if (flags.weights) {
        const tensors = readWeights(flags.weights);
        checkWeights(manifest.parameters, tensors, true, flags.weights);
        // Only the program's parameters, in its order: .pth extras (num_batches_tracked) stay behind.
        weights = serializeSafetensors(
          manifest.parameters.map((p) => [p.name, tensors.get(p.name)!] as const),
        );
      }
      const server = await startPageServer({
        programDirectory: directory,
        session: {
          experiment: manifest.experiment,
          weights: flags.weights ? basename(flags.weights) : null,
          seed: initialisationSeed,
          tuning: existsSync(join(directory, 'tuning.json')),
        },
        ...(weights ? { weights } : {}),
        host: flags.host,
        port: flags.port,
      });
      // The URL is the first line on stdout, so scripts and tests can read it (--port 0).
      process.stdout.write(`${server.url}\n`);
      process.stderr.write(
        `hrnet: serving ${compiled} with ${flags.weights ?? `the official initialisation (seed ${initialisationSeed})`}; Ctrl-C stops\n`,
      );
      const signal = await new Promise<NodeJS.Signals>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await server.close();
      process.stderr.write(`hrnet: stopped (${signal})\n`);
    });
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port, 0 to 65535');
  return n;
}
