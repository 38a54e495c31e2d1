import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadExperiment } from '../../compiler/config/load-experiment.ts';
import type { Diagnostic } from '../../compiler/diagnostics/diagnostic.ts';
import { lineColumnAt } from '../../compiler/diagnostics/source-text.ts';

const fixtureDir = new URL('../fixtures/config/', import.meta.url);

interface Expectation {
  code: string;
  line: number;
  column: number;
  message: string;
}

/** Each fixture states what it must produce in `# expect: CODE LINE:COL message` lines at its top. */
function expectationsOf(file: string, text: string): Expectation[] {
  if (file === 'empty.yaml')
    return [{ code: 'E004', line: 1, column: 1, message: 'the experiment file is empty' }];
  return [...text.matchAll(/^# expect: (\S+) (\d+):(\d+) ?(.*)$/gm)].map((m) => ({
    code: m[1]!,
    line: Number(m[2]),
    column: Number(m[3]),
    message: m[4]!,
  }));
}

function located(d: Diagnostic) {
  const at = d.span ? lineColumnAt(d.span.source, d.span.start) : { line: 0, column: 0 };
  return {
    code: d.code,
    line: at.line,
    column: at.column,
    message: [d.message, ...(d.notes ?? [])].join('\n'),
  };
}

const fixtures = readdirSync(fixtureDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('bad experiment files', () => {
  it('has at least 30 fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
  });

  for (const file of fixtures) {
    it(file, () => {
      const path = new URL(file, fixtureDir).pathname;
      const expected = expectationsOf(file, readFileSync(path, 'utf8'));
      expect(expected.length).toBeGreaterThan(0);
      const result = loadExperiment(path);
      const diagnostics = result.ok ? result.experiment.warnings : result.diagnostics;
      expect(result.ok).toBe(false);
      const actual = diagnostics.map(located);
      for (const e of expected) {
        const match = actual.find((a) => a.code === e.code && a.line === e.line && a.column === e.column);
        expect(
          match,
          `${e.code} at ${e.line}:${e.column} in ${JSON.stringify(actual, null, 1)}`,
        ).toBeDefined();
        expect(match!.message).toContain(e.message);
      }
      for (const d of diagnostics) expect(d.span?.source.name).toBe(path);
      const unexpected = actual.filter(
        (a) =>
          a.code.startsWith('E') &&
          !expected.some((e) => e.code === a.code && e.line === a.line && e.column === a.column),
      );
      expect(unexpected).toEqual([]);
    });
  }
});
