import { createHash } from 'node:crypto';
import type { Dispatch, DispatchChoice } from '../../runtime/program.ts';

/**
 * One kernel launch of a planned program, inference or training: the runtime's Dispatch (the
 * program contract, workgroup counts as data) plus the IR node it computes.
 */
export interface Launch extends Dispatch {
  /** The IR node it computes (-1 for the optimizer, which computes no node). */
  readonly node: number;
  readonly choice?: DispatchChoice;
}

export interface GeneratedKernel {
  readonly name: string;
  readonly description: string;
  readonly wgsl: string;
}

/**
 * The kernels of one program, de-duplicated by their text: a kernel is named by a prefix and a hash
 * of its WGSL, so equal shapes share one kernel and the names are stable across compilations.
 */
export class KernelSet {
  private readonly kernels = new Map<string, GeneratedKernel>();

  /** Adds a kernel (once) and returns its name. */
  add(wgsl: string, description: string, prefix: string): string {
    const name = `${prefix}_${createHash('sha256').update(wgsl).digest('hex').slice(0, 8)}`;
    if (!this.kernels.has(name)) this.kernels.set(name, { name, description, wgsl });
    return name;
  }

  list(): GeneratedKernel[] {
    return [...this.kernels.values()];
  }
}

/** The launch as the runtime runs it (the IR node is the compiler's business). */
export function toDispatch({ node: _node, ...dispatch }: Launch): Dispatch {
  return dispatch;
}
