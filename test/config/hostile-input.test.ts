import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../compiler/config/load-experiment.ts';
import { lineColumnAt } from '../../compiler/diagnostics/source-text.ts';

const dir = mkdtempSync(join(tmpdir(), 'hrnetc-hostile-'));

function loadBytes(name: string, content: string | Uint8Array) {
  const path = join(dir, name);
  writeFileSync(path, content);
  const result = loadExperiment(path);
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unexpectedly valid');
  const first = result.diagnostics[0]!;
  const at = first.span ? lineColumnAt(first.span.source, first.span.start) : undefined;
  return { code: first.code, at: at ? `${at.line}:${at.column}` : undefined, message: first.message };
}

describe('hostile and broken files give one located error, never a throw or a hang', () => {
  it('a missing file and a directory', () => {
    expect(loadExperiment(join(dir, 'nope.yaml'))).toMatchObject({
      ok: false,
      diagnostics: [{ code: 'E001' }],
    });
    expect(loadExperiment(dir)).toMatchObject({ ok: false, diagnostics: [{ code: 'E001' }] });
  });

  it('binary junk: a NUL byte and invalid UTF-8, located', () => {
    expect(loadBytes('nul.yaml', Buffer.from('TRAIN:\n  LR: 0.1\x00\n'))).toMatchObject({
      code: 'E003',
      at: '2:10',
    });
    const invalid = Buffer.concat([Buffer.from('GPUS: (0,)\nX: '), Buffer.from([0xff, 0xfe, 0x41])]);
    expect(loadBytes('utf8.yaml', invalid)).toMatchObject({ code: 'E003', at: '2:4' });
    const random = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256);
    expect(loadBytes('random.bin', random).code).toBe('E003');
  });

  it('a very large file is refused before parsing', () => {
    expect(loadBytes('big.yaml', `A: '${'x'.repeat(2 * 1024 * 1024)}'\n`).code).toBe('E002');
  });

  it('an alias bomb (billion laughs)', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = 'bcdefghi';
    for (let i = 0; i < names.length; i++) {
      const previous = i === 0 ? 'a' : names[i - 1];
      lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const result = loadBytes('bomb.yaml', `${lines.join('\n')}\n`);
    expect(result.code).toBe('E104');
  });

  it('deep nesting', () => {
    expect(loadBytes('deep.yaml', `A: ${'['.repeat(5000)}${']'.repeat(5000)}\n`).code).toMatch(/E10[18]/);
    let nested = '';
    for (let i = 0; i < 200; i++) nested += `${'  '.repeat(i)}K${i}:\n`;
    expect(loadBytes('deep-map.yaml', nested).code).toBe('E108');
  });

  it('a huge Python literal string in a value', () => {
    const result = loadBytes('literal.yaml', `GPUS: '${'('.repeat(100_000)}'\n`);
    expect(result.code).toBe('E202');
  });
});
