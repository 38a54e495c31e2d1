// Worker entry: registers tsx so the worker can run the TypeScript item preparation.
import { register } from 'tsx/esm/api';

register();
await import('./item-worker-main.ts');
