// What many host tests share: a machine closed whatever happens, a check of a RingtraceError's code, and
// child processes that must end by themselves.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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

// Run a TypeScript file in a child Node process (with the tsx loader and `flags`), for what must be
// seen from outside: that a process ends by itself. Once its output matches `done`, it has `exitMs`
// to exit; `hung` says it had to be killed then (or at `timeoutMs` overall, a hang before `done`).
export async function runNodeChild(
  file: string,
  opts: { flags?: string[]; env?: Record<string, string>; done: RegExp; exitMs: number; timeoutMs: number },
): Promise<{ code: number | null; out: string; hung: boolean }> {
  const args = [...(opts.flags ?? []), '--import', import.meta.resolve('tsx'), file];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let hung = false;
  const kill = () => {
    hung = true;
    child.kill('SIGKILL');
  };
  const overall = setTimeout(kill, opts.timeoutMs);
  let exitTimer: ReturnType<typeof setTimeout> | undefined;
  const onData = (d: Buffer) => {
    out += d;
    if (!exitTimer && opts.done.test(out)) exitTimer = setTimeout(kill, opts.exitMs);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(overall);
  clearTimeout(exitTimer);
  return { code, out, hung };
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
