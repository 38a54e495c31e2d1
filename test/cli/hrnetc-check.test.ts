import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

describe('hrnetc check', () => {
  it('prints the resolved config as YAML and exits 0', () => {
    const result = runCli('hrnetc', ['check', 'experiments/mpii/w32_256x256.yaml', 'TRAIN.LR', '0.01']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^AUTO_RESUME: true$/m);
    expect(result.stdout).toMatch(/^ {2}LR: 0\.01$/m);
    expect(result.stdout).toMatch(/^ {2}SOFT_NMS: false$/m);
    expect(result.stdout).toMatch(/^GPUS:\n- 0\n- 1\n- 2\n- 3$/m);
  });

  it('prints every diagnostic located and underlined on stderr and exits 1', () => {
    const result = runCli('hrnetc', ['check', 'test/fixtures/config/several-errors.yaml']);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(
      'test/fixtures/config/several-errors.yaml:4:7: error[E202]: GPUS must be a tuple like its default (0,), but got int 0',
    );
    expect(result.stderr).toContain("4 | GPUS: '0'\n  |       ^^^");
    expect(result.stderr).toContain('several-errors.yaml:6:3: error[E201]: unknown config key MODEL.SIGMAA');
    expect(result.stderr).toContain('several-errors.yaml:8:7: error[E202]');
    expect(result.stderr).toMatch(/3 errors\n$/);
  });

  it('locates errors in override arguments', () => {
    const result = runCli('hrnetc', ['check', 'experiments/mpii/w32_256x256.yaml', 'TRAIN.LR', 'fast']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "<arg 2>:1:1: error[E202]: TRAIN.LR must be a float like its default 0.001, but got str 'fast'",
    );
  });

  it('usage errors exit 2, help exits 0', () => {
    expect(runCli('hrnetc', ['check']).status).toBe(2);
    expect(runCli('hrnetc', ['check', 'a.yaml', '--bogus']).status).toBe(2);
    const help = runCli('hrnetc', ['check', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--dataDir <dir>');
    expect(runCli('hrnetc', ['--help']).status).toBe(0);
  });

  it('a missing file is a diagnostic, not a stack trace', () => {
    const result = runCli('hrnetc', ['check', 'experiments/nope.yaml']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('error[E001]: cannot read experiments/nope.yaml: no such file');
    expect(result.stderr).not.toContain('    at ');
  });
});
