import { basename, extname, join } from 'node:path';
import { Command, Option } from 'commander';
import { writeFileAtomic } from '../common/atomic-write.ts';
import { type Target, targets } from '../compiler/codegen/kernel-plan.ts';
import { dumpConfig } from '../compiler/config/dump-config.ts';
import { loadExperiment } from '../compiler/config/load-experiment.ts';
import { readTextSource } from '../compiler/config/read-source.ts';
import { spanAt } from '../compiler/config/schema-check.ts';
import { error } from '../compiler/diagnostics/diagnostic.ts';
import { parseGraph } from '../compiler/ir/parse.ts';
import { summarize, summaryToText } from '../compiler/ir/summary.ts';
import {
  type CompileInput,
  type EmitKind,
  emitArtifacts,
  emitKinds,
  lowerExperiment,
} from '../compiler/pipeline.ts';
import { printDiagnostics } from './diagnostics-output.ts';
import { addDirectoryOptions, type DirectoryFlags } from './directory-options.ts';
import { exitCodes, runProgram } from './run-program.ts';

const program = new Command('hrnetc')
  .description('Compile HRNet experiment files (or .ir graphs) into inspectable IR and WebGPU programs')
  .showHelpAfterError('(run with --help for usage)');

interface CompileFlags extends DirectoryFlags {
  out: string;
  emit: string;
  summary?: boolean;
  dumpIrAfter?: string;
  target: Target;
}

addDirectoryOptions(
  program
    .command('compile', { isDefault: true })
    .description('compile an experiment into OUT/<experiment name>/ (the default command)')
    .argument('<input>', 'experiment YAML file, or an .ir file written by hrnetc or by hand')
    .argument('[overrides...]', 'KEY VALUE pairs, as in the official tools (values are Python literals)')
    .addOption(new Option('-o, --out <dir>', 'output folder').default('generated'))
    .addOption(
      new Option('--emit <kinds>', `comma-separated outputs: ${emitKinds.join(',')}`).default(
        emitKinds.join(','),
      ),
    )
    .option('--summary', 'print the per-layer summary table to stdout')
    .option('--dump-ir-after <regex>', 'also write the IR after each pass whose name matches, to ir-after/')
    .addOption(
      new Option(
        '--target <target>',
        'adapters to compile convolution kernels for: software (lavapipe, SwiftShader), gpu, or auto (both; the runtime picks)',
      )
        .choices(targets)
        .default('auto'),
    ),
).action(async (input: string, overrides: string[], flags: CompileFlags) => {
  const kinds = parseEmitKinds(flags.emit);
  if (!kinds) return;
  let dumpIrAfter: RegExp | undefined;
  try {
    dumpIrAfter = flags.dumpIrAfter === undefined ? undefined : new RegExp(flags.dumpIrAfter);
  } catch {
    process.stderr.write(
      `hrnetc: --dump-ir-after: '${flags.dumpIrAfter}' is not a valid regular expression\n`,
    );
    process.exitCode = exitCodes.usage;
    return;
  }
  const compileInput = readInput(input, overrides, flags);
  if (!compileInput) return;
  if (flags.summary) process.stdout.write(summaryToText(summarize(compileInput.graph)));
  const name = compileInput.experiment?.name ?? basename(input, extname(input));
  const outDir = join(flags.out, name);
  const artifacts = await emitArtifacts(compileInput, kinds, {
    outDir,
    target: flags.target,
    ...(dumpIrAfter ? { dumpIrAfter } : {}),
  });
  for (const artifact of artifacts) writeFileAtomic(join(outDir, artifact.path), artifact.content);
  const kernels = artifacts.filter((a) => a.path.startsWith('kernels/')).length;
  const listed = artifacts
    .filter((a) => !a.path.startsWith('kernels/') && !a.path.startsWith('ir-after/'))
    .map((a) => a.path);
  if (kernels > 0) listed.push(`kernels/ (${kernels} kernels)`);
  const dumps = artifacts.filter((a) => a.path.startsWith('ir-after/')).length;
  if (dumps > 0) listed.push(`ir-after/ (${dumps} dumps)`);
  process.stderr.write(`hrnetc: wrote ${listed.join(', ')} to ${outDir}/\n`);
});

addDirectoryOptions(
  program
    .command('check')
    .description('validate an experiment and print the resolved config (every key) as YAML')
    .argument('<experiment>', 'experiment YAML file')
    .argument('[overrides...]', 'KEY VALUE pairs, as in the official tools (values are Python literals)'),
).action((experiment: string, overrides: string[], flags: DirectoryFlags) => {
  const result = loadExperiment(experiment, { ...flags, overrides });
  if (!result.ok) {
    printDiagnostics(result.diagnostics);
    process.exitCode = exitCodes.diagnostics;
    return;
  }
  printDiagnostics(result.experiment.warnings);
  process.stdout.write(dumpConfig(result.experiment.tree));
});

function parseEmitKinds(list: string): Set<EmitKind> | undefined {
  const kinds = list
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const unknown = kinds.filter((k) => !(emitKinds as readonly string[]).includes(k));
  if (unknown.length > 0 || kinds.length === 0) {
    process.stderr.write(
      `hrnetc: --emit takes ${emitKinds.join(',')}; unknown: ${unknown.join(', ') || '(empty)'}\n`,
    );
    process.exitCode = exitCodes.usage;
    return undefined;
  }
  return new Set(kinds as EmitKind[]);
}

/** An experiment YAML goes through the front end and the model lowering; an .ir file is parsed. */
function readInput(input: string, overrides: string[], flags: DirectoryFlags): CompileInput | undefined {
  if (extname(input) === '.ir') {
    if (overrides.length > 0) {
      process.stderr.write('hrnetc: config overrides apply to experiment files, not to .ir graphs\n');
      process.exitCode = exitCodes.usage;
      return undefined;
    }
    const read = readTextSource(input);
    const parsed = read.ok ? parseGraph(read.source) : read;
    if (!parsed.ok) {
      printDiagnostics(parsed.diagnostics);
      process.exitCode = exitCodes.diagnostics;
      return undefined;
    }
    return { graph: parsed.graph, inputName: basename(input) };
  }
  const loaded = loadExperiment(input, { ...flags, overrides });
  if (!loaded.ok) {
    printDiagnostics(loaded.diagnostics);
    process.exitCode = exitCodes.diagnostics;
    return undefined;
  }
  printDiagnostics(loaded.experiment.warnings);
  const lowered = lowerExperiment(loaded.experiment);
  if (!lowered.ok) {
    printDiagnostics([error('E409', lowered.message, spanAt(loaded.experiment.tree, ['MODEL', 'NAME']))]);
    process.exitCode = exitCodes.diagnostics;
    return undefined;
  }
  return { experiment: loaded.experiment, graph: lowered.graph, inputName: basename(input) };
}

await runProgram(program, process.argv);
