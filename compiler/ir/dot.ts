import type { Graph, Node } from './graph.ts';

interface Cluster {
  readonly path: string;
  readonly label: string;
  readonly children: Map<string, Cluster>;
  readonly nodes: Node[];
}

const stemModules = new Set(['conv1', 'bn1', 'conv2', 'bn2', 'relu']);

/**
 * The clusters a module path belongs to, outermost first: stage, module, then branch or fuse output
 * (`stage2` > `stage2.0` > `stage2.0.branches.1`), or the residual block for layer1.
 */
export function clusterPath(module: string): { path: string; label: string }[] {
  const parts = module.split('.');
  const head = parts[0]!;
  if (stemModules.has(head)) return [{ path: 'stem', label: 'stem' }];
  if (head === 'input' || head === 'output' || head === 'final_layer') return [];
  const levels = [{ path: head, label: head }];
  if (/^stage\d$/.test(head) && parts.length > 1) {
    levels.push({ path: parts.slice(0, 2).join('.'), label: `module ${parts[1]}` });
    if ((parts[2] === 'branches' || parts[2] === 'fuse_layers') && parts.length > 3) {
      levels.push({
        path: parts.slice(0, 4).join('.'),
        label: parts[2] === 'branches' ? `branch ${parts[3]}` : `fuse → ${parts[3]}`,
      });
    }
  } else if ((head === 'layer1' || /^transition\d$/.test(head)) && parts.length > 1) {
    levels.push({
      path: parts.slice(0, 2).join('.'),
      label: head === 'layer1' ? `block ${parts[1]}` : `branch ${parts[1]}`,
    });
  }
  return levels;
}

function nodeLabel(graph: Graph, node: Node): string {
  const tail = node.module.split('.').slice(-1)[0] ?? node.op;
  switch (node.op) {
    case 'conv2d': {
      const weight = graph.nodes[node.inputs[1]!]!.type.shape;
      const { kernel, stride } = node.attrs as { kernel: number; stride: number };
      return `${tail}\\nconv ${kernel}x${kernel}${stride > 1 ? `/${stride}` : ''} ${weight[1]}→${weight[0]}`;
    }
    case 'upsample_nearest':
      return `upsample x${node.attrs.scale}`;
    case 'batch_norm':
      return `${tail}\\nBN`;
    case 'add':
      return '+';
    default:
      return node.op;
  }
}

const shapeLabel = (node: Node) => node.type.shape.slice(1).join('×');

/** Graphviz DOT from the same walk as the text form: one cluster per stage, module and branch. */
export function graphToDot(graph: Graph): string {
  const root: Cluster = { path: '', label: graph.name, children: new Map(), nodes: [] };
  for (const node of graph.nodes) {
    if (node.op === 'parameter') continue;
    let cluster = root;
    for (const level of clusterPath(node.module)) {
      let child = cluster.children.get(level.path);
      if (!child) {
        child = { path: level.path, label: level.label, children: new Map(), nodes: [] };
        cluster.children.set(level.path, child);
      }
      cluster = child;
    }
    cluster.nodes.push(node);
  }
  const lines = [
    `digraph "${graph.name}" {`,
    '  graph [rankdir=TB, fontname="Helvetica", fontsize=10, newrank=true];',
    '  node [shape=box, style="rounded,filled", fillcolor="#f4f4f4", fontname="Helvetica", fontsize=9];',
    '  edge [fontname="Helvetica", fontsize=7, color="#666666"];',
  ];
  const colors: Record<string, string> = {
    conv2d: '#dbe9f6',
    batch_norm: '#eef6db',
    relu: '#fbe9d7',
    add: '#f6dbe9',
    upsample_nearest: '#e9dbf6',
    input: '#ffffff',
    output: '#ffffff',
  };
  let clusterIndex = 0;
  const writeCluster = (cluster: Cluster, indent: string) => {
    for (const node of cluster.nodes) {
      lines.push(
        `${indent}n${node.id} [label="${nodeLabel(graph, node)}", fillcolor="${colors[node.op] ?? '#f4f4f4'}", tooltip="${node.module}"];`,
      );
    }
    for (const child of cluster.children.values()) {
      lines.push(`${indent}subgraph cluster_${clusterIndex++} {`);
      lines.push(`${indent}  label="${child.label}"; style="rounded"; color="#999999";`);
      writeCluster(child, `${indent}  `);
      lines.push(`${indent}}`);
    }
  };
  writeCluster(root, '  ');
  for (const node of graph.nodes) {
    for (const input of node.inputs) {
      const source = graph.nodes[input]!;
      if (source.op === 'parameter') continue;
      lines.push(`  n${input} -> n${node.id} [label="${shapeLabel(source)}"];`);
    }
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
