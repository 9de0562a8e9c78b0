// Loading the one compiled module and instantiating it over the shared memory, on the host and in
// every CPU worker.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { RingtraceError } from '../errors.ts';

export interface RingExports {
  _start(): void;
  cpuInit(cpu: number): void;
  cpuIdle(): number;
  cpuWorkDone(): void;
  cpuServiceIpi(): void;
  setContextLevel(level: number): void;
  rbInitPage(page: number): void;
  rbInitCpuBuffer(cb: number, tb: number, cpu: number, first: number, readerPage: number): void;
  rbResetCpu(cb: number): number;
  rbRemovePages(cb: number, nrPages: number, out: number): number;
  rbInsertPages(cb: number, first: number, last: number, nrPages: number): number;
  rbLockReserve(tb: number, length: number): number;
  rbUnlockCommit(tb: number): void;
  rbDiscardCommit(tb: number, ev: number): void;
  rbWrite(tb: number, length: number, src: number): number;
  rbEventData(ev: number): number;
  rbCalculateEventLength(length: number): number;
  rbRequestPublish(cb: number): void;
  rbReaderWait(wait: number): void;
  rbTrapRecover(): void;
  rbPublishAll(): void;
  rbConsume(tb: number, cpu: number, out: number, cap: number): number;
  rbPeek(tb: number, cpu: number, out: number, cap: number): number;
  rbEmptyCpu(tb: number, cpu: number): number;
  rbOldestEventTs(tb: number, cpu: number): bigint;
  rbReadPage(tb: number, cpu: number, slot: number, len: number, full: number): number;
  rbIterStart(tb: number, cpu: number, it: number): number;
  rbIterNext(it: number, out: number, cap: number): number;
  rbEntriesCpu(tb: number, cpu: number): bigint;
  rbBytesCpu(tb: number, cpu: number): bigint;
  runProgram(prog: number): number;
  cpuTrap(): void;
  writerAttach(token: number): void;
  writerWrite(tb: number, length: number, src: number, fresh: number): number;
  writerReserve(tb: number, length: number, fresh: number): number;
  writerCommit(tb: number): void;
  writerBatch(tb: number, src: number, count: number, fresh: number): number;
  benchChunk(tb: number, size: number, n: number): number;
  writerEmit(call: number, src: number, len: number, fresh: number): number;
  calibrationLoop(scratch: number, n: number): number;
}

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
