// What many host tests share: a machine closed whatever happens, and a check of a RingtraceError's code.
import assert from 'node:assert/strict';
import { createMachine, RingtraceError, type MachineOptions, type RingMachine } from '../src/index.ts';

// Run fn on a fresh machine and always close it, so no worker outlives the test.
export async function withMachine(opts: MachineOptions, fn: (m: RingMachine) => Promise<void>): Promise<void> {
  const m = await createMachine(opts);
  try {
    await fn(m);
  } finally {
    await m.close();
  }
}

// For assert.throws/rejects: a RingtraceError with this errno name (and a message matching `message`).
export function errCode(code: string, message?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof RingtraceError, `expected a RingtraceError, got ${String(err)}`);
    assert.equal(err.code, code, `error code of "${err.message}"`);
    if (message) assert.match(err.message, message);
    return true;
  };
}
