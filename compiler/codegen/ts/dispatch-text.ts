import type { CodeBlockWriter } from 'ts-morph';
import type { Dispatch } from '../../../runtime/program.ts';

export const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A flat object of strings and numbers as one line: `{ kind: 'tiles', rows: 4 }`. */
export function flatObjectText(value: object): string {
  const fields = Object.entries(value).map(
    ([key, field]) => `${key}: ${typeof field === 'string' ? quote(field) : String(field)}`,
  );
  return `{ ${fields.join(', ')} }`;
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
              : `, followedBy: [${v.followedBy.map((t) => `{ kernel: ${quote(t.kernel)}, bindings: [${t.bindings.map(flatObjectText).join(', ')}], workgroups: ${flatObjectText(t.workgroups)} }`).join(', ')}]`;
          writer.writeLine(
            `{ name: ${quote(v.name)}, kernel: ${quote(v.kernel)}, bindings: [${v.bindings.map(flatObjectText).join(', ')}], workgroups: ${flatObjectText(v.workgroups)}${twin}${followedBy} },`,
          );
        }
      });
      writer.writeLine('],');
    });
    writer.write(',').newLine();
  });
}
