/**
 * Prints a benchmark table: the first row is the header, underlined; columns are as wide as their
 * widest cell, numbers (digits, '.', '-', '×', '%') right-aligned and text left-aligned.
 */
export function printTable(table: readonly (readonly string[])[], title?: string): void {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  if (title !== undefined) console.log(`\n${title}`);
  table.forEach((row, r) => {
    const numeric = (cell: string) => r > 0 && /^[\d.×%-]+$/.test(cell);
    console.log(
      row
        .map((cell, i) => (numeric(cell) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    );
    if (r === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}
