import { timePassesSettled } from '../runtime/gpu/timed-passes.ts';

/**
 * A timer of one launch (pipeline, bind group, workgroups): the smallest GPU time of 5 passes in one
 * submission, repeated until settled (timePassesSettled).
 */
export function launchTimer(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  group: GPUBindGroup,
  workgroups: readonly [number, number, number],
  what: string,
): () => Promise<number> {
  return async () =>
    Math.min(
      ...(await timePassesSettled(
        device,
        5,
        (pass) => {
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(...workgroups);
        },
        what,
      )),
    );
}

/**
 * The smallest time of each timer over `rounds` rounds that run every timer once, in turn, so that
 * the machine's drift hits them alike.
 */
export async function alternate(
  timers: readonly { time: () => Promise<number> }[],
  rounds: number,
): Promise<number[]> {
  const best = timers.map(() => Number.POSITIVE_INFINITY);
  for (let round = 0; round < rounds; round++)
    for (const [i, t] of timers.entries()) best[i] = Math.min(best[i]!, await t.time());
  return best;
}
