/** A text that diagnostics point into: a file, or one command-line argument. */
export interface SourceText {
  /** What the user sees before `:LINE:COL`, e.g. `experiments/mpii/w32_256x256.yaml` or `<arg 3>`. */
  readonly name: string;
  readonly text: string;
  /** Offsets where each line starts; computed once. */
  readonly lineStarts: readonly number[];
}

export interface LineColumn {
  /** 1-based. */
  readonly line: number;
  /** 1-based, counted in UTF-16 code units like every editor's column. */
  readonly column: number;
}

export function makeSourceText(name: string, text: string): SourceText {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  }
  return { name, text, lineStarts };
}

export function lineColumnAt(source: SourceText, offset: number): LineColumn {
  const starts = source.lineStarts;
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (starts[mid]! <= offset) low = mid;
    else high = mid - 1;
  }
  return { line: low + 1, column: offset - starts[low]! + 1 };
}

/** The text of a 1-based line, without its line break. */
export function lineText(source: SourceText, line: number): string {
  const start = source.lineStarts[line - 1] ?? source.text.length;
  const next = source.lineStarts[line];
  const end = next === undefined ? source.text.length : next - 1;
  return source.text.slice(start, end).replace(/\r$/, '');
}
