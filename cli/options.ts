import { InvalidArgumentError, Option } from 'commander';
import { adapterChoices } from '../runtime/gpu/adapter.ts';
import type { PersonBox } from '../runtime/predict.ts';

/** --adapter, shared by every command that runs on the GPU. */
export const adapterOption = () =>
  new Option(
    '--adapter <kind>',
    'which WebGPU adapter: a hardware GPU if present, else a software Vulkan driver',
  )
    .choices(adapterChoices as string[])
    .default('auto');

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

export function parseSize(value: string): [number, number] {
  const match = /^(\d+)x(\d+)$/.exec(value);
  if (!match || Number(match[1]) < 16 || Number(match[2]) < 16)
    throw new InvalidArgumentError('expected WIDTHxHEIGHT, each at least 16');
  return [Number(match[1]), Number(match[2])];
}

export function parseBox(value: string): PersonBox {
  const parts = value.split(',').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n)) || parts[2]! <= 0 || parts[3]! <= 0) {
    throw new InvalidArgumentError('expected x,y,w,h with a positive width and height');
  }
  return { x: parts[0]!, y: parts[1]!, width: parts[2]!, height: parts[3]! };
}

export function parseScore(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

export function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new InvalidArgumentError('expected an integer from 0 to 4294967295');
  return n;
}
