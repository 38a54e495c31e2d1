import { describe, expect, it } from 'vitest';
import { parsePythonLiteral } from '../../compiler/config/python-literal.ts';
import { pythonRepr } from '../../compiler/config/python-value.ts';

function repr(text: string): string {
  const result = parsePythonLiteral(text);
  return result.ok ? pythonRepr(result.value) : `${result.kind} error`;
}

describe('Python literals as ast.literal_eval reads them', () => {
  it.each([
    ['(0,1,2,3)', '(0, 1, 2, 3)'],
    ['(0,)', '(0,)'],
    ['()', '()'],
    ['0,1', '(0, 1)'],
    ['(5)', '5'],
    ['[1, 2,]', '[1, 2]'],
    ['[]', '[]'],
    ["{'a': 1, 'b': (2, 3)}", "{'a': 1, 'b': (2, 3)}"],
    ['{1, 2}', '{1, 2}'],
    ['{}', '{}'],
    ['1e-3', '0.001'],
    ['.5', '0.5'],
    ['5.', '5.0'],
    ['1_000', '1000'],
    ['0x1f', '31'],
    ['0o17', '15'],
    ['0b101', '5'],
    ['-5', '-5'],
    ['+2.5', '2.5'],
    ['  3', '3'],
    ['True', 'True'],
    ['False', 'False'],
    ['None', 'None'],
    ['\'abc\' "d"', "'abcd'"],
    ["'a\\nb'", "'a\\nb'"],
    ["'\\x41\\u00e9'", "'Aé'"],
    ["r'\\n'", "'\\\\n'"],
    ['[[1], (2,)]', '[[1], (2,)]'],
  ])('%s → %s', (text, expected) => {
    expect(repr(text)).toBe(expected);
  });

  it.each([
    ['data/coco/', 'syntax'],
    ['(0,1', 'syntax'],
    ['[1,,2]', 'syntax'],
    ['0755', 'syntax'],
    ['', 'syntax'],
    ['1 2', 'syntax'],
    ['output', 'value'],
    ['inf', 'value'],
    ['pose_hrnet', 'value'],
    ['-"a"', 'value'],
    ['--1', 'syntax'],
    ['1j', 'value'],
    ["b'x'", 'value'],
    ["f'x'", 'value'],
    ['{[1]: 2}', 'value'],
  ])('%s is not a literal (%s error), so yacs keeps the string', (text, kind) => {
    const result = parsePythonLiteral(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.kind).toBe(kind);
  });

  it('keeps ints exact beyond 2^53 and distinguishes 1 from 1.0', () => {
    const big = parsePythonLiteral('123456789012345678901234567890');
    expect(big.ok && big.value.type === 'int' && big.value.value).toBe(123456789012345678901234567890n);
    const one = parsePythonLiteral('1.0');
    expect(one.ok && one.value.type).toBe('float');
  });

  it('refuses hostile nesting instead of overflowing the stack', () => {
    const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    const result = parsePythonLiteral(deep);
    expect(result.ok).toBe(false);
  });
});
