// Node 20's workers do not inherit tsx's loader: register it here, then load the TypeScript entry
// (workerData.entry, see nodeWorker in platform.ts).
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
