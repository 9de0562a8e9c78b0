// `ringtrace repro`: demonstrate a modelled upstream fix — the bug with its switch off, none with it on.
//   ringtrace repro --list
//   ringtrace repro 20ad8b0888be [--prepares N]
//   ringtrace repro 8c4f3c3fa968
// Exit status 0 when every run behaved as the kernels before and after the fix do, 1 otherwise.
import { reproCpumaskRace, type CpumaskRaceResult } from '../repro/cpumask-race.ts';
import { reproFtraceReload, type FtraceReloadRun } from '../repro/ftrace-reload.ts';
import { findReproducer, listReproducers } from '../repro/index.ts';
import { RingtraceError } from '../errors.ts';
import type { Fix } from '../fixes.ts';
import { UsageError, type Command, type Io } from './cli.ts';

const indent = (text: string, by = '    ') =>
  text
    .split('\n')
    .map((l) => (l ? by + l : l))
    .join('\n');

export function formatList(): string {
  const lines: string[] = [];
  for (const { fix, reproducer } of listReproducers()) {
    lines.push(`${fix.commit}  ${fix.subject}`);
    lines.push(`    ${fix.summary}`);
    lines.push(`    reproducer: ${reproducer ? reproducer.how : 'none yet'}`);
  }
  return lines.join('\n');
}

function header(fix: Fix): string {
  return `${fix.commit} ("${fix.subject}")\n${indent(fix.summary)}\n\n`;
}

// ---- 20ad8b0888be

async function cpumaskRace(fix: Fix, prepares: number, io: Io): Promise<number> {
  io.out(header(fix));
  io.out(
    [
      "A reader on CPU 1 walks every trace_buffer's cpumask and loads buffers[cpu] (ring_buffer_entries) while",
      'the host prepares fresh per-CPU buffers: new instances, and CPUs 2-3 coming up for the first time',
      '(trace_rb_cpu_prepare). On a weakly ordered CPU, without the IPI round of the fix, the reader can see',
      `the cpumask bit with a NULL buffers[cpu]. Each run stops at the first oops or after ${prepares} prepare events.`,
      '',
    ].join('\n'),
  );
  const runs: { fix: boolean; memoryModel: 'weak' | 'tso'; expectOops: boolean }[] = [
    { fix: false, memoryModel: 'weak', expectOops: true },
    { fix: true, memoryModel: 'weak', expectOops: false },
    { fix: false, memoryModel: 'tso', expectOops: false },
    { fix: true, memoryModel: 'tso', expectOops: false },
  ];
  let ok = true;
  for (const [i, run] of runs.entries()) {
    const label = `[${i + 1}/${runs.length}] ${run.fix ? 'with' : 'without'} ${fix.commit}, ${run.memoryModel} memory model`;
    io.out(label);
    io.err(`${label}: running`);
    const r: CpumaskRaceResult = await reproCpumaskRace({
      fix: run.fix,
      memoryModel: run.memoryModel,
      maxPrepares: prepares,
      onProgress: (n) => io.err(`${label}: ${n} prepare events, no oops so far`),
    });
    const good = r.oops === run.expectOops;
    ok &&= good;
    if (r.oops) {
      io.out(`    OOPS after ${r.prepares} prepare events (${r.attempts} attempt${r.attempts === 1 ? '' : 's'}, ${r.walks} reader walks):`);
      const at = Math.max(0, r.dmesg.findIndex((l) => l.includes('BUG:')));
      io.out(indent(r.dmesg.slice(at).join('\n'), '      '));
    } else {
      io.out(`    no oops in ${r.prepares} prepare events (${r.attempts} attempts, ${r.walks} reader walks)`);
    }
    io.out(`    ${good ? 'as expected' : `NOT as expected: ${run.expectOops ? 'the oops should have shown' : 'there should be no oops'}`}\n`);
  }
  io.out(
    ok
      ? `verdict: ok — without ${fix.commit} a weakly ordered reader oopses on a NULL buffer; with it, or on tso, none does`
      : 'verdict: FAILED — see the runs above',
  );
  return ok ? 0 : 1;
}

// ---- 8c4f3c3fa968

function formatRun(commit: string, r: FtraceReloadRun, script: string, check: string): string {
  const lines: string[] = [];
  lines.push(`== ${r.fix ? 'with' : 'without'} ${commit} ==`);
  const shown = (s: { status: number; stdout: string; stderr: string }) => {
    const out = s.stdout + s.stderr;
    return (out ? indent(out.replace(/\n$/, '')) + '\n' : '    (no output)\n') + `    exit status ${s.status}`;
  };
  lines.push(`$ ringtrace sh ${r.fix ? '' : `--without-fix ${commit} `}reproducer.sh`, shown(r.script));
  lines.push(`/proc/modules at each load of uinput:`, ...r.modules.map((l) => `    ${l}`));
  lines.push(`    ${r.sameAddress ? 'reloaded in the same place' : 'NOT reloaded in the same place'}`);
  lines.push(`$ ${check.trim()}    # afterwards: does ftrace still work?`, shown(r.check));
  lines.push('dmesg:', r.dmesg.length ? indent(r.dmesg.join('\n')) : '    (empty)');
  const state = r.dead ? 'is dead (ENODEV)' : r.check.status === 0 ? 'still works' : 'failed the check';
  const found = `${r.warning ? 'the WARNING is in dmesg' : 'no WARNING'}, ftrace ${state}`;
  lines.push(`=> ${found}: ${r.expected ? 'as expected' : 'NOT as expected'}`);
  return lines.join('\n') + '\n\n';
}

async function ftraceReload(fix: Fix, io: Io): Promise<number> {
  io.out(header(fix));
  io.err('running the reproducer with and without the fix');
  const res = await reproFtraceReload();
  io.out("The reproducer from the patch mail, run as written by 'ringtrace sh' (cwd /):\n");
  io.out(indent(res.script.replace(/\n$/, '')) + '\n\n');
  io.out(formatRun(fix.commit, res.withFix, res.script, res.check));
  io.out(formatRun(fix.commit, res.withoutFix, res.script, res.check));
  io.out(
    res.ok
      ? `verdict: ok — without ${fix.commit} the reload underflows uinput_release's count: WARNING and ftrace_kill(); with it, no warning and ftrace keeps working`
      : 'verdict: FAILED — see the runs above',
  );
  return res.ok ? 0 : 1;
}

export const reproCommand: Command = {
  name: 'repro',
  summary: 'demonstrate a modelled upstream fix: the bug with its switch off, none with it on',
  usage: '--list | COMMIT [--prepares N]',
  description: [
    'COMMIT is a modelled fix (a unique prefix of at least 7 digits will do); --list names them all.',
    'Exit status 0 when every run behaved as the kernels before and after the fix, 1 otherwise.',
  ].join('\n'),
  options: [
    { name: 'list', help: 'list every modelled fix with a one-line summary' },
    { name: 'prepares', value: 'int', metavar: 'N', help: '20ad8b0888be: prepare events per run without an oops', default: 10000, min: 1 },
  ],
  async run(opts, args, io) {
    if (opts.list) {
      if (args.length) throw new UsageError(`--list takes no commit (got '${args[0]}')`);
      io.out(formatList());
      return 0;
    }
    if (args.length !== 1) throw new UsageError(args.length ? `one commit at a time (got ${args.join(' ')})` : 'which fix? give a COMMIT or --list');
    let found;
    try {
      found = findReproducer(args[0]);
    } catch (err) {
      if (err instanceof RingtraceError) throw new UsageError(err.message.replace(/^EINVAL: /, ''));
      throw err;
    }
    const { fix } = found;
    if (fix.commit === '20ad8b0888be') return cpumaskRace(fix, opts.prepares as number, io);
    if (fix.commit === '8c4f3c3fa968') return ftraceReload(fix, io);
    throw new UsageError(`${fix.commit} has no reproducer yet`);
  },
};
