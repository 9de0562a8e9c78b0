// What many host tests share: a machine closed whatever happens, and a check of a RingtraceError's code.
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { createMachine, RingtraceError, type MachineOptions, type RingMachine } from '../src/index.ts';
import { runCli, type Io } from '../src/cli/cli.ts';
import { commands } from '../src/cli/commands.ts';

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

// The seed reproducer of 8c4f3c3fa968 on a machine without that fix: ftrace ends up killed.
export async function killFtraceByReload(m: RingMachine): Promise<void> {
  await m.ftrace.loadModule('uinput');
  await m.fs.write('set_ftrace_filter', 'uinput_release\n');
  await m.fs.write('current_tracer', 'function\n');
  await m.ftrace.unloadModule('uinput');
  await m.ftrace.loadModule('uinput');
  await m.fs.write('current_tracer', 'nop\n');
}

// The CLI's Io, collected: line-wise out/err, raw write/writeErr, and a given standard input.
export function captureIo(stdin = ''): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t.endsWith('\n') ? t : t + '\n';
    },
    err(t: string) {
      io.stderr += t.endsWith('\n') ? t : t + '\n';
    },
    write(t: string) {
      io.stdout += t;
    },
    writeErr(t: string) {
      io.stderr += t;
    },
    readStdin: async () => stdin,
  };
  return io;
}

// Run the CLI in-process; returns its exit status and what it printed.
export async function runCliCaptured(argv: string[], stdin = '') {
  const io = captureIo(stdin);
  const code = await runCli(argv, commands, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

// A user's own worker thread (test/fixtures/user-thread.ts) driven one command at a time.
export class UserWorker {
  private readonly worker = new Worker(new URL('./fixtures/user-thread-boot.mjs', import.meta.url));

  call(cmd: unknown): Promise<{ ok?: unknown; error?: string }> {
    return new Promise((resolve, reject) => {
      this.worker.once('message', resolve);
      this.worker.once('error', reject);
      this.worker.postMessage(cmd);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}
