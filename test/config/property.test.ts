import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LoadResult, loadExperimentSource } from '../../compiler/config/load-experiment.ts';
import { decodeTextSource } from '../../compiler/config/read-source.ts';
import { renderDiagnostic } from '../../compiler/diagnostics/render.ts';

const valid = readFileSync(new URL('../../experiments/coco/w32_256x192.yaml', import.meta.url), 'utf8');
const validLines = valid.split('\n');

/** Everything the front end returns must be a config or well-formed, renderable diagnostics. */
function assertWellFormed(result: LoadResult, textLength: number): void {
  if (result.ok) {
    expect(result.experiment.config.MODEL).toBeDefined();
    return;
  }
  expect(result.diagnostics.length).toBeGreaterThan(0);
  for (const d of result.diagnostics) {
    expect(d.code).toMatch(/^[EW]\d{3}$/);
    expect(d.message.length).toBeGreaterThan(0);
    if (d.span && d.span.source.name === 'mutated.yaml') {
      expect(d.span.start).toBeGreaterThanOrEqual(0);
      expect(d.span.start).toBeLessThanOrEqual(textLength + 1);
    }
    expect(typeof renderDiagnostic(d)).toBe('string');
  }
}

function loadText(text: string, overrides: string[] = []): LoadResult {
  const read = decodeTextSource(Buffer.from(text, 'utf8'), 'mutated.yaml');
  if (!read.ok) return { ok: false, diagnostics: read.diagnostics };
  return loadExperimentSource(read.source, 'mutated.yaml', { overrides });
}

const scalarJunk = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '',
    '~',
    'null',
    'yes',
    'no',
    '[',
    ']',
    '{',
    '}',
    '&a',
    '*a',
    '!!str',
    '|',
    '>',
    '- x',
    ': :',
    '#',
    "'",
    '"',
    '(0,',
    '1e999',
    '-0',
    '0x',
    '1_',
    'True',
    '[1, 2]',
    '{a: 1}',
    '\t',
    '%YAML 1.1',
  ),
  fc.integer().map(String),
  fc.double({ noNaN: false }).map(String),
);

const lineMutation = fc.oneof(
  fc.record({
    kind: fc.constant('replace-value' as const),
    line: fc.nat(validLines.length - 1),
    value: scalarJunk,
  }),
  fc.record({ kind: fc.constant('delete' as const), line: fc.nat(validLines.length - 1) }),
  fc.record({ kind: fc.constant('duplicate' as const), line: fc.nat(validLines.length - 1) }),
  fc.record({
    kind: fc.constant('indent' as const),
    line: fc.nat(validLines.length - 1),
    by: fc.integer({ min: -4, max: 4 }),
  }),
  fc.record({ kind: fc.constant('insert' as const), line: fc.nat(validLines.length - 1), text: scalarJunk }),
);

type Mutation = typeof lineMutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(lines: string[], m: Mutation): string[] {
  const out = [...lines];
  const line = out[m.line] ?? '';
  switch (m.kind) {
    case 'replace-value': {
      const colon = line.indexOf(':');
      out[m.line] = colon >= 0 ? `${line.slice(0, colon + 1)} ${m.value}` : `${line}${m.value}`;
      break;
    }
    case 'delete':
      out.splice(m.line, 1);
      break;
    case 'duplicate':
      out.splice(m.line, 0, line);
      break;
    case 'indent':
      out[m.line] =
        m.by >= 0
          ? ' '.repeat(m.by) + line
          : line.slice(Math.min(-m.by, line.length - line.trimStart().length));
      break;
    case 'insert':
      out.splice(m.line, 0, m.text);
      break;
  }
  return out;
}

describe('the front end never throws on mutated configs', () => {
  it('line mutations of an official experiment file', () => {
    fc.assert(
      fc.property(fc.array(lineMutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        const text = mutations.reduce(mutate, validLines).join('\n');
        assertWellFormed(loadText(text), text.length);
      }),
      { numRuns: 400 },
    );
  });

  it('random overrides of real keys', () => {
    const keys = [
      'TRAIN.LR',
      'GPUS',
      'MODEL.IMAGE_SIZE',
      'MODEL.EXTRA.STAGE2.NUM_CHANNELS',
      'TEST.FLIP_TEST',
      'DATASET.ROOT',
      'MODEL.NAME',
      'MODEL',
      'X.Y',
      '',
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...keys), scalarJunk), { maxLength: 3 }),
        fc.boolean(),
        (pairs, dropLast) => {
          const args = pairs.flat();
          if (dropLast) args.pop();
          assertWellFormed(loadText(valid, args), valid.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('arbitrary byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const read = decodeTextSource(bytes, 'mutated.yaml');
        const result = read.ok
          ? loadExperimentSource(read.source, 'mutated.yaml')
          : { ok: false as const, diagnostics: read.diagnostics };
        assertWellFormed(result, bytes.length);
      }),
      { numRuns: 300 },
    );
  });
});
