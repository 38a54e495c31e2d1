import type { CodeBlockWriter } from 'ts-morph';
import type { Dispatch, VariantLaunch } from '../../../runtime/program.ts';

export const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A flat object of strings and numbers as one line: `{ kind: 'tiles', rows: 4 }`. */
export function flatObjectText(value: object): string {
  const fields = Object.entries(value).map(
    ([key, field]) => `${key}: ${typeof field === 'string' ? quote(field) : String(field)}`,
  );
  return `{ ${fields.join(', ')} }`;
}

/** A launch's kernel, bindings and workgroup counts, as fields of one line. */
function launchFields(launch: VariantLaunch): string {
  return `kernel: ${quote(launch.kernel)}, bindings: [${launch.bindings.map(flatObjectText).join(', ')}], workgroups: ${flatObjectText(launch.workgroups)}`;
}

/**
 * One dispatch of forward.ts or backward.ts as an object literal: its kernel, bindings, workgroup
 * counts (data, evaluated by runtime/workgroups.ts), and its twin and candidates where it has them.
 */
export function writeDispatch(writer: CodeBlockWriter, dispatch: Dispatch): void {
  writer.write('').inlineBlock(() => {
    writer.writeLine(`kernel: ${quote(dispatch.kernel)},`);
    writer.writeLine(`module: ${quote(dispatch.module)},`);
    writer.writeLine(`bindings: [${dispatch.bindings.map(flatObjectText).join(', ')}],`);
    writer.writeLine(`workgroups: ${flatObjectText(dispatch.workgroups)},`);
    if (dispatch.onlyForGradInput) writer.writeLine('onlyForGradInput: true,');
    if (dispatch.withoutSubgroups !== undefined)
      writer.writeLine(`withoutSubgroups: ${quote(dispatch.withoutSubgroups)},`);
    const choice = dispatch.choice;
    if (!choice) return;
    writer.write('choice: ').inlineBlock(() => {
      writer.writeLine(`key: ${quote(choice.key)},`);
      writer.writeLine(`defaults: ${flatObjectText(choice.defaults)},`);
      writer.write('variants: [').newLine();
      writer.indent(() => {
        for (const v of choice.variants) {
          const twin =
            v.withoutSubgroups === undefined ? '' : `, withoutSubgroups: ${quote(v.withoutSubgroups)}`;
          const followedBy =
            v.followedBy === undefined
              ? ''
              : `, followedBy: [${v.followedBy.map((l) => `{ ${launchFields(l)} }`).join(', ')}]`;
          writer.writeLine(`{ name: ${quote(v.name)}, ${launchFields(v)}${twin}${followedBy} },`);
        }
      });
      writer.writeLine('],');
    });
    writer.write(',').newLine();
  });
}
