// Node 20 runs a .ts worker only through a loader it registers itself (tsx does not hook workers there).
import { register } from 'tsx/esm/api';

register();
await import('./writer.ts');
