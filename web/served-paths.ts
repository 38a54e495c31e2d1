/**
 * The URLs `hrnet serve` answers, shared by the server and the page so neither can drift from the
 * other. Everything else is refused; the program's own files are only reachable under `program`.
 */
export const servedPaths = {
  page: '/',
  script: '/page.js',
  /** OUT/<exp>/forward.ts, bundled for the browser. */
  forward: '/forward.js',
  /** OUT/<exp>/backward.ts (the training step), bundled for the browser; absent when not compiled. */
  backward: '/backward.js',
  session: '/session.json',
  weights: '/weights.safetensors',
  /** Files of the compiled program folder (manifest.json, kernels/*.wgsl, graph.svg, …). */
  program: '/program/',
} as const;

/** What the page is told about the run: where its weights come from. */
export interface ServedSession {
  readonly experiment: string;
  /** The --weights file's name, served as safetensors at servedPaths.weights; null: initialise. */
  readonly weights: string | null;
  /** Seed of the official initialisation used when there are no weights. */
  readonly seed: number;
  /** Whether the program folder has a tuning.json (`hrnet tune`), served under `program`. */
  readonly tuning: boolean;
}
