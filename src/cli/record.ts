// `ringtrace record`, `ringtrace report`, `ringtrace convert`: trace-cmd's record / report / convert
// over an emulated machine and trace.dat files.
import { readFile, writeFile } from 'node:fs/promises';
import { RingtraceError } from '../errors.ts';
import { machineShell } from '../shell/machine.ts';
import { readTraceDat } from '../tracedat/reader.ts';
import { report } from '../tracedat/report.ts';
import { writeTraceDat } from '../tracedat/writer.ts';
import type { TraceDat } from '../tracedat/format.ts';
import { toChromeTrace } from '../perfetto/chrome-json.ts';
import { CliError, UsageError, type Command } from './cli.ts';
import { ACTIVITY_OPTION, MACHINE_OPTIONS, bootMachine, rawErr, rawOut, scriptOf } from './sh.ts';

function fileVersion(v: unknown): 6 | 7 {
  if (v === undefined) return 6;
  if (v !== 6 && v !== 7) throw new UsageError(`option '--file-version' must be 6 or 7, not ${v}`);
  return v;
}

async function save(path: string, bytes: Uint8Array | string): Promise<void> {
  try {
    await writeFile(path, bytes);
  } catch (err) {
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`);
  }
}

async function load(path: string): Promise<TraceDat> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${path}: ${code === 'ENOENT' ? 'No such file or directory' : (err as Error).message}`);
  }
  return readTraceDat(bytes, path);
}

// A CPU list: "0,2-3"
function cpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new UsageError(`option '--cpu' needs a CPU list like 0,2-3, not '${text}'`);
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.push(c);
  }
  return out;
}


// How often the recorder takes full sub-buffers while the workload runs
const POLL_MS = 1;

export const recordCommand: Command = {
  name: 'record',
  summary: 'run a script on a fresh machine while recording its trace into a trace.dat (like trace-cmd record)',
  usage: "[OPTIONS] -c 'COMMANDS' | [OPTIONS] SCRIPT [ARGS...] | [OPTIONS] - [ARGS...]",
  description: [
    'Sets up tracing (-p, -l, -n, -e, -B) through tracefs, then runs the script (the commands of',
    "'ringtrace sh') while reading every CPU's trace_pipe_raw: full sub-buffers while it runs, the rest",
    'when it ends. The file holds header_page, header_event, every format file, kallsyms, printk formats,',
    'saved cmdlines, the clock, per-CPU stats and the CPU data. Lost events keep the flags the ring',
    'buffer put in the pages, so trace-cmd report shows them as "CPU:N [M EVENTS DROPPED]".',
  ].join('\n'),
  options: [
    { name: 'output', short: 'o', value: 'string', metavar: 'FILE', help: 'the trace.dat to write', default: 'trace.dat' },
    { name: 'plugin', short: 'p', value: 'string', metavar: 'TRACER', help: 'current_tracer for the recording (e.g. function)' },
    { name: 'limit', short: 'l', value: 'string', metavar: 'FUNC', help: 'set_ftrace_filter: trace only these functions', repeat: true },
    { name: 'notrace', short: 'n', value: 'string', metavar: 'FUNC', help: 'set_ftrace_notrace: do not trace these functions', repeat: true },
    { name: 'event', short: 'e', value: 'string', metavar: 'EVENT', help: 'enable an event (SYSTEM, SYSTEM:EVENT or EVENT) where tracefs has it', repeat: true },
    { name: 'instance', short: 'B', value: 'string', metavar: 'NAME', help: 'record into a new instance instead of the top-level buffer' },
    { name: 'file-version', value: 'int', metavar: '6|7', help: 'trace.dat version (7 is written uncompressed)', default: 6 },
    { name: 'perfetto', value: 'string', metavar: 'FILE', help: 'also write the trace as Chrome JSON for the Perfetto UI' },
    { name: 'command', short: 'c', value: 'string', metavar: 'COMMANDS', help: 'run COMMANDS instead of a script file (put the other options before it)', last: true },
    ACTIVITY_OPTION,
    ...MACHINE_OPTIONS.map((o) => (o.name === 'clock' ? { ...o, short: 'C' } : o.name === 'buffer-size-kb' ? { ...o, short: 'b' } : o)),
  ],
  optionsFirst: true,
  async run(opts, args, io) {
    const src = await scriptOf('record', opts, args, io);
    if (typeof src === 'number') return src;
    const version = fileVersion(opts['file-version']);
    const output = opts.output as string;
    const m = await bootMachine(opts);
    try {
      const instance = opts.instance as string | undefined;
      const dir = instance ? `instances/${instance}/` : '';
      if (instance) await m.fs.mkdir(`instances/${instance}`);
      const setup = async (path: string, value: string, append = false) => {
        try {
          await m.fs.write(path, value + '\n', { append });
        } catch (err) {
          if (err instanceof RingtraceError) throw new UsageError(`${path}: ${err.message.replace(/^[A-Z]+: /, '')}`);
          throw err;
        }
      };
      for (const f of (opts.limit as string[] | undefined) ?? []) await setup(`${dir}set_ftrace_filter`, f, true);
      for (const f of (opts.notrace as string[] | undefined) ?? []) await setup(`${dir}set_ftrace_notrace`, f, true);
      for (const e of (opts.event as string[] | undefined) ?? []) {
        const path = e === 'all' ? `${dir}events/enable` : `${dir}events/${e.replace(':', '/')}/enable`;
        if (!m.fs.exists(path)) throw new UsageError(`no event '${e}' in this machine's tracefs (${dir}events/)`);
        await setup(path, '1');
      }
      if (opts.plugin !== undefined) await setup(`${dir}current_tracer`, opts.plugin as string);
      const rec = m.record({ version, instances: [instance ?? ''], pollMs: POLL_MS });
      let status: number;
      try {
        status = await machineShell(m, { stdout: rawOut(io), stderr: rawErr(io), args: src.args, activity: opts.activity as boolean }).run(src.script);
      } finally {
        rec.pause();
      }
      const dat = rec.stop();
      await save(output, writeTraceDat(dat));
      const sizes = dat.buffers[instance ? 1 : 0].cpus.map((c) => `CPU${c.cpu}: ${c.data.length} bytes`).join(', ');
      io.err(`ringtrace record: ${output} (trace.dat version ${version}; ${sizes})`);
      if (opts.perfetto !== undefined) await save(opts.perfetto as string, JSON.stringify(toChromeTrace(dat, { buffer: instance })));
      return status;
    } finally {
      await m.close();
    }
  },
};

export const reportCommand: Command = {
  name: 'report',
  summary: 'print a trace.dat like trace-cmd report (ours, or one trace-cmd wrote, converted or split)',
  usage: '[OPTIONS] [FILE]',
  description: 'FILE (or -i FILE) defaults to trace.dat. -F takes trace-cmd\'s filters: EVENTS[:CONDITION], e.g.\n' +
    "-F 'function' or -F 'function: common_pid == 0'; -v makes every -F exclude what it matches.",
  options: [
    { name: 'input', short: 'i', value: 'string', metavar: 'FILE', help: 'the trace.dat to read (default trace.dat)' },
    { name: 'cpu', value: 'string', metavar: 'LIST', help: 'only these CPUs, e.g. 0,2-3' },
    { name: 'filter', short: 'F', value: 'string', metavar: 'FILTER', help: 'events (and a condition) to show', repeat: true },
    { name: 'negate', short: 'v', help: 'the -F filters exclude what they match' },
    { name: 'latency', short: 'l', help: 'latency format: the irqs-off/need-resched/hardirq/preempt columns' },
    { name: 'full-ts', short: 't', help: 'full nanosecond time stamps' },
    { name: 'option', short: 'O', value: 'string', metavar: 'OPT', help: "plugin option; 'parent' prints the caller of function events", repeat: true },
    { name: 'no-plugins', short: 'N', help: 'print every event by its print fmt, without the plugins\' and function_graph handlers' },
    { name: 'stat', help: 'the buffer statistics kept at the end of the recording' },
    { name: 'instance', short: 'B', value: 'string', metavar: 'NAME', help: "an instance's buffer instead of the top level" },
  ],
  async run(opts, args, io) {
    if (args.length > 1) throw new UsageError('one FILE at most');
    const file = (opts.input as string | undefined) ?? args[0] ?? 'trace.dat';
    const options = (opts.option as string[] | undefined) ?? [];
    for (const o of options) if (!/^(ftrace:|function:)?parent(=1)?$/.test(o)) throw new UsageError(`unknown plugin option '${o}' (known: parent)`);
    const cpus = opts.cpu !== undefined ? cpuList(opts.cpu as string) : undefined;
    const dat = await load(file);
    const text = report(dat, {
      buffer: opts.instance as string | undefined,
      cpus,
      filters: ((opts.filter as string[] | undefined) ?? []).map((spec) => ({ spec, negate: opts.negate === true })),
      latency: opts.latency === true,
      fullTimestamps: opts['full-ts'] === true,
      parent: options.length > 0,
      noPlugins: opts['no-plugins'] === true,
      stat: opts.stat === true,
    });
    rawOut(io)(text);
    return 0;
  },
};

export const convertCommand: Command = {
  name: 'convert',
  summary: 'rewrite a trace.dat as another trace.dat version or as Chrome JSON for the Perfetto UI',
  usage: '[OPTIONS] [INPUT] OUTPUT',
  description: 'OUTPUT ending in .json (or --perfetto) gets the Chrome JSON trace format: a process per CPU with\n' +
    'its tasks as threads, function_graph calls as slices, other events as instants, markers as global instants.',
  options: [
    { name: 'input', short: 'i', value: 'string', metavar: 'FILE', help: 'the trace.dat to read (default trace.dat)' },
    { name: 'output', short: 'o', value: 'string', metavar: 'FILE', help: 'the file to write' },
    { name: 'file-version', value: 'int', metavar: '6|7', help: 'trace.dat version of the output (default: 6)' },
    { name: 'perfetto', help: 'write Chrome JSON whatever the output is named' },
    { name: 'instance', short: 'B', value: 'string', metavar: 'NAME', help: "for Chrome JSON: an instance's buffer instead of the top level" },
  ],
  async run(opts, args, io) {
    const input = (opts.input as string | undefined) ?? (args.length > 1 || opts.output !== undefined ? args[0] : undefined) ?? 'trace.dat';
    const output = (opts.output as string | undefined) ?? (args.length > 1 ? args[1] : opts.input !== undefined ? args[0] : undefined);
    if (!output) throw new UsageError('an OUTPUT file is needed (-o FILE or the last argument)');
    const dat = await load(input);
    if (opts.perfetto === true || output.endsWith('.json')) {
      await save(output, JSON.stringify(toChromeTrace(dat, { buffer: opts.instance as string | undefined })));
      io.err(`ringtrace convert: ${output} (Chrome JSON trace)`);
      return 0;
    }
    const version = fileVersion(opts['file-version']);
    await save(output, writeTraceDat({ ...dat, version, compression: 'none' }));
    io.err(`ringtrace convert: ${output} (trace.dat version ${version})`);
    return 0;
  },
};
