import type { Graph, Node } from '../ir/graph.ts';
import type { Dim } from '../ir/tensor-type.ts';
import { attributeType, dataType, modelProto } from './onnx-schema.ts';

/** Float32 values by official state_dict name, as the runtime's weight readers return them. */
export type WeightLookup = (name: string) => {
  readonly shape: readonly number[];
  readonly data: Float32Array;
};

export interface OnnxExportInfo {
  readonly experiment: string;
  readonly producerVersion: string;
}

export const onnxOpset = 17;
const onnxIrVersion = 8;

type Attribute = { name: string; type: number; i?: number; f?: number; s?: Uint8Array; ints?: number[] };

const intAttr = (name: string, i: number): Attribute => ({ name, type: attributeType.int, i });
const floatAttr = (name: string, f: number): Attribute => ({ name, type: attributeType.float, f });
const intsAttr = (name: string, ints: number[]): Attribute => ({ name, type: attributeType.ints, ints });
const stringAttr = (name: string, s: string): Attribute => ({
  name,
  type: attributeType.string,
  s: new TextEncoder().encode(s),
});

function valueInfo(name: string, shape: readonly Dim[]) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: dataType.float,
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function floatTensor(name: string, shape: readonly number[], data: Float32Array) {
  return {
    name,
    dims: [...shape],
    data_type: dataType.float,
    raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

/**
 * The source IR graph (model.ir: conv2d, batch_norm, relu, add, upsample_nearest) as an ONNX model,
 * opset 17, one node per IR node, in the IR's order. BatchNormalization stays a node (not folded
 * into the convolutions), so the initializers are exactly the official state_dict tensors under
 * their official names, and runtimes fold it themselves. The batch dimension is symbolic (`N`);
 * the input is `input` and the output `output`.
 */
export function onnxModel(graph: Graph, weight: WeightLookup, info: OnnxExportInfo) {
  const names = new Map<number, string>();
  const nodes: object[] = [];
  const initializers: object[] = [];
  const inputs: object[] = [];
  const outputs: object[] = [];
  const scaleConstants = new Set<number>();

  const value = (id: number) => names.get(id)!;
  const emit = (node: Node, opType: string, inputNames: string[], attribute: Attribute[] = []) => {
    const output = `${node.module}:${node.id}`;
    names.set(node.id, output);
    nodes.push({ name: output, op_type: opType, input: inputNames, output: [output], attribute });
  };

  for (const node of graph.nodes) {
    const args = node.inputs.map(value);
    switch (node.op) {
      case 'input':
        names.set(node.id, 'input');
        inputs.push(valueInfo('input', node.type.shape));
        break;
      case 'parameter': {
        const tensor = weight(node.module);
        names.set(node.id, node.module);
        initializers.push(floatTensor(node.module, tensor.shape, tensor.data));
        break;
      }
      case 'conv2d': {
        const k = node.attrs.kernel as number;
        const s = node.attrs.stride as number;
        const p = node.attrs.pad as number;
        emit(node, 'Conv', args, [
          intsAttr('kernel_shape', [k, k]),
          intsAttr('strides', [s, s]),
          intsAttr('pads', [p, p, p, p]),
          intsAttr('dilations', [1, 1]),
          intAttr('group', 1),
        ]);
        break;
      }
      case 'batch_norm':
        // ONNX's momentum weighs the running value, PyTorch's the batch value.
        emit(node, 'BatchNormalization', args, [
          floatAttr('epsilon', node.attrs.eps as number),
          floatAttr('momentum', 1 - (node.attrs.momentum as number)),
        ]);
        break;
      case 'relu':
        emit(node, 'Relu', args);
        break;
      case 'add':
        emit(node, 'Add', args);
        break;
      case 'upsample_nearest': {
        const scale = node.attrs.scale as number;
        const scales = `upsample_scales_${scale}`;
        if (!scaleConstants.has(scale)) {
          scaleConstants.add(scale);
          initializers.push(floatTensor(scales, [4], Float32Array.of(1, 1, scale, scale)));
        }
        // PyTorch's nearest upsampling reads source pixel floor(dst / scale).
        emit(
          node,
          'Resize',
          [args[0]!, '', scales],
          [
            stringAttr('mode', 'nearest'),
            stringAttr('coordinate_transformation_mode', 'asymmetric'),
            stringAttr('nearest_mode', 'floor'),
          ],
        );
        break;
      }
      case 'output':
        // Renames the result: ONNX graph outputs are values, so the last node writes `output`.
        nodes.push({ name: 'output', op_type: 'Identity', input: args, output: ['output'], attribute: [] });
        outputs.push(valueInfo('output', node.type.shape));
        break;
      default:
        throw new Error(`ONNX export has no rule for IR op ${node.op} (export the source model.ir)`);
    }
  }

  return {
    ir_version: onnxIrVersion,
    producer_name: 'hrnetc',
    producer_version: info.producerVersion,
    opset_import: [{ domain: '', version: onnxOpset }],
    doc_string: `${info.experiment}: ${graph.name} from hrnetc's model.ir; BatchNormalization not folded`,
    metadata_props: [{ key: 'experiment', value: info.experiment }],
    graph: { name: graph.name, node: nodes, initializer: initializers, input: inputs, output: outputs },
  };
}

/** The ONNX model's protobuf bytes. */
export function encodeOnnx(model: ReturnType<typeof onnxModel>): Uint8Array {
  return modelProto.encode(modelProto.fromObject(model)).finish();
}
