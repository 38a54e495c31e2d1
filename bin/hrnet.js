#!/usr/bin/env node
// Runs the TypeScript sources directly: the project ships no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/hrnet.ts');
