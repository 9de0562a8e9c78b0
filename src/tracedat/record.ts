// Taking a trace.dat out of a running machine, the way trace-cmd record does: everything the file's
// header holds is read from tracefs (every format file under events/, so events added to tracefs are
// recorded without changes here), and the CPU data is read from each CPU's trace_pipe_raw while the
// workload runs. During the run only full sub-buffers are taken (trace-cmd's splice of trace_pipe_raw,
// ring_buffer_read_page(..., full=1)); stop() then reads what is left with read() (tracecmd_flush_recording),
// so nothing the ring buffer kept is lost and the missed-events flags of the pages stay as the kernel set them.
import type { RingMachine } from '../api.ts';
import { RingtraceError } from '../errors.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import type { TraceDat, TraceDatBuffer } from './format.ts';
import { concatBytes } from './bytes.ts';

// tracefs directory of a buffer: '' for the top level, 'instances/NAME/' for an instance
function dirOf(name: string): string {
  return name === '' ? '' : `instances/${name}/`;
}

function bufferOf(rm: RingMachine, name: string): TraceBuffer {
  if (name === '') return rm.buffer;
  const tb = rm.instances.get(name);
  if (!tb) throw new RingtraceError('ENOENT', `instance "${name}" does not exist`);
  return tb;
}

// /proc/kallsyms (s_show in kernel/kallsyms.c): "%px %c %s" for the core kernel, "\t[%s]" after a module's
function kallsymsText(rm: RingMachine): string {
  let out = '';
  for (const r of rm.ftrace.records()) {
    const addr = r.ip.toString(16).padStart(16, '0');
    out += r.module ? `${addr} t ${r.name}\t[${r.module}]\n` : `${addr} T ${r.name}\n`;
  }
  return out;
}

// saved_cmdlines (saved_cmdlines_show): "%d %s" per task, the idle task not included
function cmdlinesText(rm: RingMachine): string {
  let out = '';
  for (const [pid, comm] of rm.ftrace.savedCmdlines) if (pid !== 0) out += `${pid} ${comm}\n`;
  return out;
}

function readIfExists(rm: RingMachine, path: string): string {
  return rm.fs.exists(path) ? rm.fs.read(path) : '';
}

// Every events/SYSTEM/EVENT/format, the ftrace system apart (trace-cmd's read_ftrace_files / read_event_files)
function formats(rm: RingMachine): { ftrace: string[]; systems: { name: string; formats: string[] }[] } {
  const fs = rm.fs;
  const dirs = (path: string) => fs.ls(path).filter((n) => fs.stat(`${path}/${n}`).type === 'dir');
  let ftrace: string[] = [];
  const systems: { name: string; formats: string[] }[] = [];
  for (const system of dirs('events')) {
    const list = dirs(`events/${system}`)
      .filter((ev) => fs.exists(`events/${system}/${ev}/format`))
      .map((ev) => fs.read(`events/${system}/${ev}/format`));
    if (system === 'ftrace') ftrace = list;
    else if (list.length) systems.push({ name: system, formats: list });
  }
  return { ftrace, systems };
}

// The trace_clock file's current clock: "local global [virtual]" -> "virtual"
function currentClock(text: string): string {
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? 'local';
}

export interface TraceDatOptions {
  version?: 6 | 7; // default 6
  instances?: string[]; // buffers to take: '' is the top level (default ['']); the first is the file's top buffer
  pollMs?: number; // take full sub-buffers every pollMs while recording (default: only when poll() is called)
}

function checkVersion(v: number): asserts v is 6 | 7 {
  if (v !== 6 && v !== 7) throw new RingtraceError('EINVAL', `trace.dat version must be 6 or 7, not ${v}`);
}

// The header part of a file (everything but the CPU data) for the buffers named.
export function traceDatHeader(rm: RingMachine, version: 6 | 7, names: string[]): Omit<TraceDat, 'buffers'> {
  const top = names[0];
  const tb = bufferOf(rm, top);
  const dir = dirOf(top);
  const { ftrace, systems } = formats(rm);
  const cpuStats = Array.from({ length: rm.nrCpuIds }, (_, cpu) => `CPU: ${cpu}\n${rm.fs.read(`${dir}per_cpu/cpu${cpu}/stats`)}`);
  return {
    version,
    compression: 'none',
    bigEndian: false,
    longSize: 8,
    pageSize: tb.subbufSize,
    headerPage: rm.fs.read(`${dir}events/header_page`),
    headerEvent: rm.fs.read(`${dir}events/header_event`),
    ftraceFormats: ftrace,
    eventSystems: systems,
    kallsyms: kallsymsText(rm),
    printk: readIfExists(rm, 'printk_formats'),
    cmdlines: cmdlinesText(rm),
    traceClock: rm.fs.read(`${dir}trace_clock`),
    cpuStats,
    cpuCount: rm.nrCpuIds,
  };
}

interface Source {
  name: string;
  tb: TraceBuffer;
  pages: Map<number, Uint8Array[]>;
  close: () => void;
}

// A recording in progress: poll() takes the full sub-buffers every CPU has, stop() the rest and builds
// the file. The buffers are held open (an instance cannot be removed while it is recorded).
export class Recorder {
  private readonly sources: Source[];
  private stopped = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private failure: unknown; // what a timed poll threw: stop() reports it
  readonly version: 6 | 7;

  constructor(private readonly rm: RingMachine, opts: TraceDatOptions = {}) {
    const version = opts.version ?? 6;
    checkVersion(version);
    this.version = version;
    const names = opts.instances?.length ? [...new Set(opts.instances)] : [''];
    const tbs = names.map((n) => bufferOf(rm, n));
    if (opts.pollMs !== undefined && !(opts.pollMs > 0)) throw new RingtraceError('EINVAL', `pollMs must be a positive number, not ${opts.pollMs}`);
    this.sources = names.map((name, i) => ({ name, tb: tbs[i], pages: new Map(), close: tbs[i].open() }));
    if (opts.pollMs !== undefined) {
      this.timer = setInterval(() => {
        try {
          this.poll();
        } catch (err) {
          this.failure = err;
          this.pause();
        }
      }, opts.pollMs);
      // the timer alone does not keep a process alive (Node; Deno's timers have no unref)
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  // Stop the timer (the data stays until stop()).
  pause(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private take(s: Source, cpu: number, page: Uint8Array): void {
    let list = s.pages.get(cpu);
    if (!list) s.pages.set(cpu, (list = []));
    list.push(page);
  }

  // The full sub-buffers of every CPU (splice): returns how many pages were taken.
  poll(): number {
    if (this.stopped) return 0;
    let n = 0;
    for (const s of this.sources) {
      for (const cpu of s.tb.bufferCpus()) {
        const limit = s.tb.nrPages(cpu) + 1;
        for (let i = 0; i < limit; i++) {
          const page = s.tb.readPage(cpu, true);
          if (!page) break;
          this.take(s, cpu, page);
          n++;
        }
      }
    }
    return n;
  }

  // The rest of every CPU's data through trace_pipe_raw, then the file.
  stop(): TraceDat {
    if (this.stopped) throw new RingtraceError('EINVAL', 'the recording was already stopped');
    this.pause();
    const rm = this.rm;
    try {
      if (this.failure !== undefined) throw this.failure;
      this.poll();
      const buffers: TraceDatBuffer[] = this.sources.map((s) => {
        const dir = dirOf(s.name);
        for (const cpu of s.tb.bufferCpus()) {
          const rest = rm.fs.readBinary(`${dir}per_cpu/cpu${cpu}/trace_pipe_raw`);
          for (let off = 0; off < rest.length; off += s.tb.subbufSize) this.take(s, cpu, rest.subarray(off, off + s.tb.subbufSize));
        }
        return {
          name: s.name,
          clock: currentClock(rm.fs.read(`${dir}trace_clock`)),
          pageSize: s.tb.subbufSize,
          cpus: Array.from({ length: rm.nrCpuIds }, (_, cpu) => ({ cpu, data: concatBytes(s.pages.get(cpu) ?? []) })),
        };
      });
      // an instance recorded alone still has the (empty) top-level buffer first, as trace-cmd writes it
      if (buffers[0].name !== '') buffers.unshift({ ...buffers[0], name: '', cpus: buffers[0].cpus.map((c) => ({ cpu: c.cpu, data: new Uint8Array(0) })) });
      return { ...traceDatHeader(rm, this.version, this.sources.map((s) => s.name)), buffers };
    } finally {
      this.stopped = true;
      for (const s of this.sources) s.close();
    }
  }
}
