import { fetchProgramText } from './load-program.ts';

/** The fields of OUT/<exp>/summary.json the page shows (the compiler's ModelSummary). */
interface Summary {
  readonly name?: string;
  readonly params?: number;
  readonly buffers?: number;
  readonly macs?: number;
  readonly gflops?: number;
  readonly memory?: {
    readonly arenaBytesPerImage?: number;
    readonly peakLiveBytesPerImage?: number;
    readonly dispatches?: number;
    readonly training?: {
      readonly arenaBytesPerImage?: number;
      readonly fixedBytes?: number;
      readonly parameterBytes?: number;
      readonly dispatches?: number;
    };
  };
}

const count = (n: number) => n.toLocaleString('en-US');
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;

/** The rows of the summary table, [what, value], leaving out what summary.json lacks. */
export function summaryRows(summary: Summary): [string, string][] {
  const memory = summary.memory;
  const training = memory?.training;
  const rows: [string, number | undefined, (n: number) => string][] = [
    ['parameters', summary.params, count],
    ['buffers (BN running statistics)', summary.buffers, count],
    ['GFLOPs per image', summary.gflops, (n) => String(n)],
    ['multiply-adds per image', summary.macs, count],
    ['forward dispatches', memory?.dispatches, count],
    ['forward arena per image', memory?.arenaBytesPerImage, mib],
    ['forward peak live memory per image', memory?.peakLiveBytesPerImage, mib],
    ['training-step dispatches', training?.dispatches, count],
    ['training arena per image', training?.arenaBytesPerImage, mib],
    ['training parameters and gradients', training?.parameterBytes, mib],
    ['training fixed tensors', training?.fixedBytes, mib],
  ];
  return rows.filter((row) => row[1] !== undefined).map(([what, n, format]) => [what, format(n!)]);
}

/**
 * graph.svg as a DOM element, with what could run code taken out (scripts, foreign HTML, event
 * attributes, javascript: links): the file is the compiler's, but it is read from a folder on disk.
 */
function parseGraphSvg(text: string): SVGSVGElement {
  const parsed = new DOMParser().parseFromString(text, 'image/svg+xml');
  const svg = parsed.documentElement;
  if (svg.nodeName !== 'svg') throw new Error('graph.svg is not an SVG document');
  for (const unsafe of svg.querySelectorAll('script, foreignObject')) unsafe.remove();
  for (const element of [svg, ...svg.querySelectorAll('*')]) {
    for (const attribute of [...element.attributes]) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith('on') || (name.endsWith('href') && /^\s*javascript:/i.test(attribute.value)))
        element.removeAttribute(attribute.name);
    }
  }
  return document.importNode(svg, true) as unknown as SVGSVGElement;
}

/**
 * Makes `svg` pannable and zoomable inside `view`: the wheel zooms about the pointer, dragging pans,
 * a double click fits the graph's width again. The view is a CSS transform on the SVG, so the
 * browser redraws the vector graph sharply at every zoom.
 */
function panAndZoom(view: HTMLElement, svg: SVGSVGElement): void {
  const box = svg.viewBox.baseVal;
  const width = box && box.width > 0 ? box.width : svg.width.baseVal.value;
  const height = box && box.height > 0 ? box.height : svg.height.baseVal.value;
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.style.transformOrigin = '0 0';
  let at = { x: 0, y: 0, scale: 1 };
  const apply = () => {
    svg.style.transform = `translate(${at.x}px, ${at.y}px) scale(${at.scale})`;
    view.dataset.scale = at.scale.toFixed(4);
  };
  const fitWidth = () => {
    at = { x: 0, y: 0, scale: Math.min(1, view.clientWidth / Math.max(1, width)) };
    apply();
  };
  fitWidth();
  view.addEventListener(
    'wheel',
    (event) => {
      event.preventDefault();
      const bounds = view.getBoundingClientRect();
      const px = event.clientX - bounds.left;
      const py = event.clientY - bounds.top;
      const scale = Math.min(20, Math.max(0.02, at.scale * Math.exp(-event.deltaY * 0.0015)));
      const factor = scale / at.scale;
      at = { x: px - (px - at.x) * factor, y: py - (py - at.y) * factor, scale };
      apply();
    },
    { passive: false },
  );
  let drag: { pointer: number; x: number; y: number } | undefined;
  view.addEventListener('pointerdown', (event) => {
    drag = { pointer: event.pointerId, x: event.clientX - at.x, y: event.clientY - at.y };
    view.setPointerCapture(event.pointerId);
    view.classList.add('dragging');
  });
  view.addEventListener('pointermove', (event) => {
    if (!drag || drag.pointer !== event.pointerId) return;
    at = { ...at, x: event.clientX - drag.x, y: event.clientY - drag.y };
    apply();
  });
  const end = (event: PointerEvent) => {
    if (drag?.pointer !== event.pointerId) return;
    drag = undefined;
    view.classList.remove('dragging');
  };
  view.addEventListener('pointerup', end);
  view.addEventListener('pointercancel', end);
  view.addEventListener('dblclick', fitWidth);
}

/**
 * Fills the experiment view from the program folder: the summary table (summary.json), the IR graph
 * (graph.svg) and the resolved config (config.yaml). A file the folder lacks (compiled with a
 * narrower --emit) is named, not fatal: the page still predicts and trains.
 */
export async function showExperiment(parts: {
  summary: HTMLTableElement;
  graph: HTMLElement;
  config: HTMLPreElement;
}): Promise<void> {
  const missing = (element: HTMLElement, file: string) => {
    element.textContent = `The program folder has no ${file} (recompile with --emit including it).`;
    element.classList.add('missing');
  };
  const [summary, graph, config] = await Promise.all(
    ['summary.json', 'graph.svg', 'config.yaml'].map(fetchProgramText),
  );
  if (summary === undefined) missing(parts.summary, 'summary.json');
  else {
    const body = document.createElement('tbody');
    for (const [what, value] of summaryRows(JSON.parse(summary) as Summary)) {
      const row = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = what;
      row.append(th);
      row.insertCell().textContent = value;
    }
    parts.summary.replaceChildren(body);
  }
  if (graph === undefined) missing(parts.graph, 'graph.svg');
  else {
    const svg = parseGraphSvg(graph);
    parts.graph.replaceChildren(svg);
    panAndZoom(parts.graph, svg);
  }
  if (config === undefined) missing(parts.config, 'config.yaml');
  else parts.config.textContent = config;
}
