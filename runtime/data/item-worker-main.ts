import { parentPort } from 'node:worker_threads';
import { readImage } from '../image/image.ts';
import type { ItemRequest, ItemResponse } from './item-messages.ts';
import { prepareItem } from './joints-dataset.ts';

/** Prepares items (decode, crop, normalise, targets) off the main thread. */
parentPort?.on('message', (request: ItemRequest) => {
  try {
    const item = prepareItem(
      readImage(request.sample.image),
      request.sample,
      request.augmentation,
      request.settings,
    );
    const response: ItemResponse = { id: request.id, item };
    parentPort?.postMessage(response, [
      item.input.buffer,
      item.target.buffer,
      item.targetWeight.buffer,
    ] as ArrayBuffer[]);
  } catch (e) {
    const response: ItemResponse = { id: request.id, error: (e as Error).message };
    parentPort?.postMessage(response);
  }
});
