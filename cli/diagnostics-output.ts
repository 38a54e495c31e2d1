import type { Diagnostic } from '../compiler/diagnostics/diagnostic.ts';
import { renderDiagnostics } from '../compiler/diagnostics/render.ts';

/** Prints diagnostics to stderr, with a closing count line, as compilers do. */
export function printDiagnostics(diagnostics: readonly Diagnostic[]): void {
  if (diagnostics.length === 0) return;
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const counts = [
    errors ? `${errors} error${errors === 1 ? '' : 's'}` : '',
    warnings ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  process.stderr.write(`${renderDiagnostics(diagnostics)}\n\n${counts}\n`);
}
