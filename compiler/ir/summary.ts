import type { Graph, Node } from './graph.ts';
import { type Op, opNames } from './ops.ts';
import { valueNames } from './print.ts';
import { bytesPerElement, elementsPerItem, formatType } from './tensor-type.ts';

export interface LayerSummary {
  readonly id: number;
  /** The value's name in model.ir (`%12`). */
  readonly value: string;
  readonly op: Op;
  readonly module: string;
  readonly output: string;
  /** Conv weights and biases and BN γ/β read by this node (the official count). */
  readonly params: number;
  /** Multiply-accumulates per image. */
  readonly macs: number;
  readonly activationBytes: number;
}

export interface GraphSummary {
  readonly name: string;
  /** The official README's convention: conv weights and biases + BN γ/β. */
  readonly params: number;
  /** BN running statistics: stored in checkpoints, not counted as parameters. */
  readonly buffers: number;
  readonly macs: number;
  /** The official convention: conv MACs / 1024³, per image. */
  readonly gflops: number;
  readonly activationBytesPerImage: number;
  readonly ops: Readonly<Partial<Record<Op, number>>>;
  /** The inference program's memory plan, when one was made. */
  readonly memory?: MemorySummary;
  readonly layers: readonly LayerSummary[];
}

export interface MemorySummary {
  /** The planned activation arena per image (it scales linearly with the batch). */
  readonly arenaBytesPerImage: number;
  /** The most activation bytes live at once per image: the lower bound for any plan. */
  readonly peakLiveBytesPerImage: number;
  readonly dispatches: number;
  /** The training step's memory: arena × batch + fixed + parameters, gradients and Adam moments. */
  readonly training?: {
    readonly arenaBytesPerImage: number;
    readonly fixedBytes: number;
    readonly parameterBytes: number;
    /** Per training step, and the extra ones only `hrnet train-step`'s grad.input needs. */
    readonly dispatches: number;
    readonly gradInputDispatches: number;
  };
}

function parameterCount(graph: Graph, node: Node, roles: readonly string[]): number {
  return node.inputs
    .map((i) => graph.nodes[i]!)
    .filter((input) => input.op === 'parameter' && roles.includes(input.attrs.role as string))
    .reduce((n, p) => n + elementsPerItem(p.type), 0);
}

function macsOf(graph: Graph, node: Node): number {
  if (node.op !== 'conv2d') return 0;
  const weight = graph.nodes[node.inputs[1]!]!;
  const [out, inChannels, kh, kw] = weight.type.shape as number[];
  const [, , h, w] = node.type.shape as [unknown, unknown, number, number];
  return out! * inChannels! * kh! * kw! * h * w;
}

/** Per-layer and total parameters, MACs and activation sizes. */
export function summarize(graph: Graph, memory?: MemorySummary): GraphSummary {
  const layers: LayerSummary[] = [];
  const names = valueNames(graph);
  const ops: Partial<Record<Op, number>> = {};
  let buffers = 0;
  for (const node of graph.nodes) {
    ops[node.op] = (ops[node.op] ?? 0) + 1;
    if (node.op === 'parameter') {
      if (node.attrs.role === 'running_mean' || node.attrs.role === 'running_var')
        buffers += elementsPerItem(node.type);
      continue;
    }
    layers.push({
      id: node.id,
      value: names[node.id]!,
      op: node.op,
      module: node.module,
      output: formatType(node.type),
      params: parameterCount(graph, node, ['weight', 'bias']),
      macs: macsOf(graph, node),
      activationBytes:
        node.op === 'output' ? 0 : elementsPerItem(node.type) * bytesPerElement(node.type.dtype),
    });
  }
  const macs = layers.reduce((n, l) => n + l.macs, 0);
  const sortedOps = Object.fromEntries(opNames.filter((op) => ops[op]).map((op) => [op, ops[op]]));
  return {
    name: graph.name,
    params: layers.reduce((n, l) => n + l.params, 0),
    buffers,
    macs,
    gflops: Math.round((macs / 1024 ** 3) * 100) / 100,
    activationBytesPerImage: layers.reduce((n, l) => n + l.activationBytes, 0),
    ops: sortedOps,
    ...(memory ? { memory } : {}),
    layers,
  };
}

export function summaryToJson(summary: GraphSummary): string {
  return `${JSON.stringify(summary, null, 1)}\n`;
}

const grouped = (n: number) => n.toLocaleString('en-US');

/** A fixed-width table of every layer, then the totals. */
export function summaryToText(summary: GraphSummary): string {
  const header = ['#', 'op', 'module', 'output', 'params', 'MACs/image', 'activation bytes/image'];
  const rows = summary.layers.map((l) => [
    l.value,
    l.op,
    l.module,
    l.output,
    grouped(l.params),
    grouped(l.macs),
    grouped(l.activationBytes),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([4, 5, 6]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line), ''];
  lines.push(`model: ${summary.name}`);
  lines.push(
    `params: ${grouped(summary.params)} (conv weights and biases + BN gamma/beta; official convention)`,
  );
  lines.push(`BN running statistics: ${grouped(summary.buffers)} values`);
  lines.push(`MACs per image: ${grouped(summary.macs)}`);
  lines.push(`GFLOPs: ${summary.gflops.toFixed(2)} (conv MACs / 1024^3; official convention)`);
  lines.push(
    `activations per image: ${grouped(summary.activationBytesPerImage)} bytes (every op output, float32)`,
  );
  lines.push(
    `ops: ${Object.entries(summary.ops)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ')}`,
  );
  if (summary.memory) {
    const { arenaBytesPerImage, peakLiveBytesPerImage, dispatches } = summary.memory;
    lines.push(
      `inference: ${dispatches} dispatches; activation arena ${grouped(arenaBytesPerImage)} bytes per image (a batch of B needs B times that), peak live ${grouped(peakLiveBytesPerImage)}`,
    );
  }
  if (summary.memory?.training) {
    const t = summary.memory.training;
    const fixed = t.fixedBytes + 4 * t.parameterBytes;
    lines.push(
      `training: ${t.dispatches} dispatches per step (${t.gradInputDispatches} more for the input's gradient in train-step); peak GPU memory ${grouped(t.arenaBytesPerImage)} × B + ${grouped(fixed)} bytes for a batch of B (activations kept for backward, gradients, parameters, Adam moments, statistics)`,
    );
  }
  return `${lines.join('\n')}\n`;
}
