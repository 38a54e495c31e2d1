import { u32 } from '../bindings.ts';

/**
 * Flat training buffers read as vec4s: a count of values that comes in fours is read 4 at a time
 * (4× fewer loads and loop iterations on a CPU adapter), any other count one at a time.
 */
export const vectorWidth = (values: number): 1 | 4 => (values % 4 === 0 ? 4 : 1);

/** The WGSL element of such a buffer. */
export const vectorElement = (values: number) => (vectorWidth(values) === 4 ? 'vec4<f32>' : 'f32');

/** Elements (vec4s or values) per lane of a laneLoop. */
const elementsPerLane = 64;

/** Elements one laneLoop workgroup of 64 lanes takes. */
export const laneLoopGroupElements = 64 * elementsPerLane;

/**
 * The body of a 64-lane kernel whose workgroup takes laneLoopGroupElements consecutive elements,
 * adjacent lanes adjacent elements, each lane every 64th: `i` is the element, below `total` (a WGSL
 * expression). Many values per lane keep the workgroups few, which lavapipe runs faster than many
 * small ones.
 */
export function laneLoop(total: string, body: string): string {
  return `  let first = group.x * ${u32(laneLoopGroupElements)} + lid;
  for (var j = 0u; j < ${u32(elementsPerLane)}; j = j + 1u) {
    let i = first + j * 64u;
    if (i >= ${total}) {
      break;
    }
${body}
  }`;
}
