import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { type Command, Option } from 'commander';
import { checkOutputFile, writeFileAtomic } from '../../common/atomic-write.ts';
import { UserError } from '../../common/user-error.ts';
import { readTextSource } from '../../compiler/config/read-source.ts';
import { renderDiagnostics } from '../../compiler/diagnostics/render.ts';
import { encodeOnnx, onnxModel, onnxOpset } from '../../compiler/export/onnx-model.ts';
import { parseGraph } from '../../compiler/ir/parse.ts';
import { loadManifest } from '../../runtime/program-loader.ts';
import { exportStateDict } from '../../runtime/weights/export-state-dict.ts';
import { serializePth } from '../../runtime/weights/pth-writer.ts';
import { readWeightFile } from '../../runtime/weights/read-weights.ts';
import { serializeSafetensors } from '../../runtime/weights/safetensors.ts';

const exportFormats = ['pth', 'onnx', 'safetensors'] as const;
type ExportFormat = (typeof exportFormats)[number];

const formatsByExtension: Record<string, ExportFormat> = {
  '.pth': 'pth',
  '.pt': 'pth',
  '.onnx': 'onnx',
  '.safetensors': 'safetensors',
};

function packageVersion(): string {
  const path = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

/** The compiled experiment's source graph (model.ir), which the ONNX model mirrors node for node. */
function readModelGraph(compiled: string) {
  const path = join(compiled, 'model.ir');
  const read = readTextSource(path);
  const parsed = read.ok ? parseGraph(read.source) : read;
  if (!parsed.ok)
    throw new UserError(
      `${renderDiagnostics(parsed.diagnostics)}\n(${path} is damaged; recompile the experiment)`,
    );
  return parsed.graph;
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      "write a model's weights for PyTorch (.pth state_dict), as an ONNX model, or as safetensors, under the official names",
    )
    .argument('<compiled>', 'the folder hrnetc wrote, OUT/<experiment>')
    .requiredOption(
      '--weights <file>',
      'weights by official names: safetensors, PyTorch .pth, or a checkpoint hrnet train wrote',
    )
    .addOption(
      new Option('--format <format>', 'what to write (default: from the extension of -o)').choices(
        exportFormats,
      ),
    )
    .requiredOption('-o, --output <file>', 'the file to write (.pth, .onnx or .safetensors)')
    .action((compiled: string, flags: { weights: string; format?: ExportFormat; output: string }) => {
      checkOutputFile(flags.output);
      const format = flags.format ?? formatsByExtension[extname(flags.output).toLowerCase()];
      if (format === undefined)
        throw new UserError(
          `-o ${flags.output}: say which format to write with --format ${exportFormats.join('|')} (or name the file .pth, .onnx or .safetensors)`,
        );
      const manifest = loadManifest(compiled);
      const file = readWeightFile(flags.weights);
      const state = exportStateDict(manifest.parameters, file, flags.weights);
      const notes = state.leftOut.length
        ? [`left out ${state.leftOut.length} optimizer tensors of the checkpoint`]
        : [];

      if (format === 'pth') {
        writeFileAtomic(flags.output, serializePth(state.tensors));
        notes.unshift(`torch.save zip state_dict, ${state.tensors.length} tensors`, state.batchesTracked);
      } else if (format === 'safetensors') {
        const floats = state.tensors.flatMap(([name, t]) =>
          t.dtype === 'float32' ? [[name, { shape: t.shape, data: t.data }] as const] : [],
        );
        writeFileAtomic(
          flags.output,
          serializeSafetensors(floats, { format: 'pt', experiment: manifest.experiment }),
        );
        notes.unshift(`safetensors, ${floats.length} float32 tensors`);
      } else {
        const graph = readModelGraph(compiled);
        const weights = new Map(state.tensors);
        const model = onnxModel(
          graph,
          (name) => {
            const t = weights.get(name);
            if (t?.dtype !== 'float32') throw new UserError(`${flags.weights}: no float tensor ${name}`);
            return t;
          },
          { experiment: manifest.experiment, producerVersion: packageVersion() },
        );
        writeFileAtomic(flags.output, encodeOnnx(model));
        notes.unshift(
          `ONNX opset ${onnxOpset}, ${model.graph.node.length} nodes, BatchNormalization not folded, batch size free`,
        );
      }
      process.stderr.write(`hrnet: wrote ${flags.output} (${manifest.experiment}: ${notes.join('; ')})\n`);
    });
}
