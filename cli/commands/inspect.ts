import type { Command } from 'commander';
import { UserError } from '../../common/user-error.ts';
import { loadManifest } from '../../runtime/program-loader.ts';
import { checkWeights } from '../../runtime/weights/pack-weights.ts';
import { readWeightFile, type WeightFile } from '../../runtime/weights/read-weights.ts';

const formatNames = {
  safetensors: 'safetensors',
  zip: 'PyTorch zip checkpoint (torch.save, PyTorch ≥ 1.6)',
  legacy: 'PyTorch legacy checkpoint (torch.save, PyTorch < 1.6)',
} as const;

/** The report `hrnet inspect` prints: format, layout, then one line per tensor. */
export function describeWeightFile(path: string, file: WeightFile): string {
  const lines = [`${path}: ${formatNames[file.format]}`];
  if (file.pth) {
    lines.push(`layout: ${file.pth.layout}`);
    if (file.pth.otherKeys.length) lines.push(`other checkpoint keys: ${file.pth.otherKeys.join(', ')}`);
    if (file.pth.strippedModulePrefix)
      lines.push("every name started with 'module.' (DataParallel): the prefix is removed");
  }
  let values = 0;
  for (const t of file.tensors.values()) values += t.data.length;
  lines.push(`${file.tensors.size} tensors, ${values} values`);
  const width = Math.max(4, ...[...file.tensors.keys()].map((k) => k.length));
  for (const [name, tensor] of file.tensors) {
    const shape = tensor.shape.length ? tensor.shape.join('x') : 'scalar';
    lines.push(`  ${name.padEnd(width)}  ${(file.dtypes.get(name) ?? '?').padEnd(8)}  ${shape}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description(
      'list the tensors of a weight file (safetensors or PyTorch .pth/.pt): names, dtypes, shapes, format and layout',
    )
    .argument('<file>', 'safetensors or torch.save checkpoint')
    .option(
      '--program <compiled>',
      "check the weights against a compiled experiment's parameters (OUT/<experiment>)",
    )
    .action((path: string, flags: { program?: string }) => {
      const file = readWeightFile(path);
      process.stdout.write(describeWeightFile(path, file));
      if (flags.program === undefined) return;
      const manifest = loadManifest(flags.program);
      try {
        checkWeights(manifest.parameters, file.tensors, true, path);
      } catch (e) {
        if (e instanceof UserError)
          throw new UserError(
            `${e.message}\n(does not match experiment ${manifest.experiment} in ${flags.program})`,
          );
        throw e;
      }
      process.stdout.write(
        `matches experiment ${manifest.experiment} (${flags.program}): all ${manifest.parameters.length} parameters\n`,
      );
    });
}
