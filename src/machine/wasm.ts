// Loading the one compiled module and instantiating it over the shared memory, on the host and in
// every CPU worker.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { RingtraceError } from '../errors.ts';

import type { RingExports } from './wasm-exports.ts';

// The module's exports, generated from the AssemblyScript sources at build time (assembly/wasm-exports.mjs).
export type { RingExports };

const wasmUrl = new URL('../../build/ringtrace.wasm', import.meta.url);
let compiled: Promise<WebAssembly.Module> | undefined;

// Deno without --allow-read (NotCapable, PermissionDenied before Deno 2) and Node's permission model
// (ERR_ACCESS_DENIED) refuse the read: that is a missing permission, not a missing file.
function isPermissionError(err: { name?: string; code?: string }): boolean {
  return err.name === 'NotCapable' || err.name === 'PermissionDenied' || err.code === 'ERR_ACCESS_DENIED';
}

export function compileRingtrace(): Promise<WebAssembly.Module> {
  compiled ??= readFile(wasmUrl).then(
    (bytes) => WebAssembly.compile(bytes),
    (err) => {
      compiled = undefined;
      const path = fileURLToPath(wasmUrl);
      if (isPermissionError(err)) {
        throw new RingtraceError('EACCES', `ringtrace needs read access to ${path} (Deno: run with --allow-read): ${err.message}`);
      }
      throw new RingtraceError('ENOENT', `ringtrace: ${path} is missing (in a checkout: npm run build; installed: reinstall the package): ${err.message}`);
    },
  );
  return compiled;
}

// `epochOffsetMs` turns this thread's performance.now() into milliseconds since the machine was
// created; performance.now() itself starts at each thread's own time origin.
export function instantiateRingtrace(module: WebAssembly.Module, memory: WebAssembly.Memory, epochMs: number): RingExports {
  const offset = performance.timeOrigin - epochMs;
  const imports = {
    env: {
      memory,
      clockNow: () => (performance.now() + offset) * 1e6,
    },
  };
  const instance = new WebAssembly.Instance(module, imports);
  const exports = instance.exports as unknown as RingExports;
  exports._start();
  return exports;
}

// The reader and control calls of the host's instance, and of a reader's on a user's thread. A trap in
// one (a ring whose memory is corrupted) gives back the reader lock it held and becomes an EFAULT,
// instead of leaving the lock held for the next reader to wait on forever.
const GUARDED = [
  'rbConsume', 'rbPeek', 'rbEmptyCpu', 'rbOldestEventTs', 'rbReadPage', 'rbIterStart', 'rbIterNext', 'rbEntriesCpu',
  'rbBytesCpu', 'rbRemovePages', 'rbInsertPages', 'rbResetCpu', 'rbInitCpuBuffer',
] as const;

export function guardTraps(exports: RingExports): RingExports {
  const guarded: Record<string, unknown> = { ...exports };
  for (const name of GUARDED) {
    const fn = exports[name] as (...args: number[]) => unknown;
    guarded[name] = (...args: number[]) => {
      try {
        return fn(...args);
      } catch (err) {
        if (!(err instanceof WebAssembly.RuntimeError)) throw err;
        exports.rbTrapRecover();
        throw new RingtraceError('EFAULT', `${name}(): ${err.message}: the ring buffer's memory is corrupted`);
      }
    };
  }
  return guarded as unknown as RingExports;
}
