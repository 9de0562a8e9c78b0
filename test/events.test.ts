// The event layer through tracefs (machine.fs) and the Workload API: format files as the kernel prints
// them, ids, enable files, set_event, set_event_pid, events emitted by CPUs, trace_marker and
// trace_marker_raw, filters with the kernel's grammar and errors, triggers, and pages that decode with
// nothing but the format files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, type RingMachine } from '../src/index.ts';
import { withMachine, errCode } from './helpers.ts';
import { COMMON, lines } from './event-format.ts';
import { decodePage, dataEvents } from './decode.ts';

const OPTS = { cpus: 2, bufferSizeKb: 16, clock: 'virtual' } as const;


const SWITCH = { prev_comm: 'bash', prev_pid: 12, prev_prio: 120, prev_state: 1, next_comm: 'swapper/0', next_pid: 0, next_prio: 120 };


test('format files: the ftrace entries and real events, field by field as the kernel prints them', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.equal(
      fs.read('events/ftrace/print/format'),
      `name: print\nID: 5\nformat:\n${COMMON}\n` +
        '\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n' +
        '\tfield:char buf[];\toffset:16;\tsize:0;\tsigned:0;\n\n' +
        'print fmt: "%ps: %s", (void *)REC->ip, REC->buf\n',
    );
    assert.equal(
      fs.read('events/ftrace/raw_data/format'),
      `name: raw_data\nID: 18\nformat:\n${COMMON}\n` +
        '\tfield:unsigned int id;\toffset:8;\tsize:4;\tsigned:0;\n' +
        '\tfield:char buf[];\toffset:12;\tsize:0;\tsigned:0;\n\n' +
        'print fmt: "id:%04x %08x", REC->id, (int)REC->buf[0]\n',
    );
    assert.equal(
      fs.read('events/ftrace/function/format'),
      `name: function\nID: 1\nformat:\n${COMMON}\n` +
        '\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n' +
        '\tfield:unsigned long parent_ip;\toffset:16;\tsize:8;\tsigned:0;\n\n' +
        'print fmt: " %ps <-- %ps", (void *)REC->ip, (void *)REC->parent_ip\n',
    );
    const stack = fs.read('events/ftrace/kernel_stack/format');
    assert.match(stack, /^name: kernel_stack\nID: 4\n/);
    assert.match(stack, /\tfield:int size;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:unsigned long caller\[8\];\toffset:16;\tsize:64;\tsigned:0;\n/);
    assert.match(fs.read('events/ftrace/bprint/format'), /\tfield:const char \* fmt;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:u32 buf\[\];\toffset:24;\tsize:0;\tsigned:0;\n/);
    const sw = fs.read('events/sched/sched_switch/format');
    assert.equal(
      sw.split('print fmt:')[0],
      `name: sched_switch\nID: ${fs.read('events/sched/sched_switch/id').trim()}\nformat:\n${COMMON}\n` +
        '\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n' +
        '\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n' +
        '\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n' +
        '\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n' +
        '\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n' +
        '\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n' +
        '\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n\n',
    );
    assert.match(sw, /print fmt: "prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, .*\{ 0x00000080, "I" \}\) : "R", REC->prev_state & \(\(\(0x00000000 \| 0x00000001 \| 0x00000002 \| 0x00000004 \| 0x00000008 \| 0x00000010 \| 0x00000020 \| 0x00000040\) \+ 1\) << 1\) \? "\+" : "", REC->next_comm, REC->next_pid, REC->next_prio\n$/);
    assert.match(fs.read('events/irq/irq_handler_entry/format'), /\tfield:int irq;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:__data_loc char\[\] name;\toffset:12;\tsize:4;\tsigned:0;\n\nprint fmt: "irq=%d name=%s", REC->irq, __get_str\(name\)\n$/);
    assert.match(fs.read('events/raw_syscalls/sys_enter/format'), /\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n\tfield:unsigned long args\[6\];\toffset:16;\tsize:48;\tsigned:0;\n/);
    // written from the 6.12 definitions: trace_entries.h (FTRACE_ENTRY_PACKED, __stack_array, the
    // retval variant of funcgraph_exit), include/trace/events/{sched,timer,signal,syscalls}.h
    assert.equal(
      fs.read('events/ftrace/funcgraph_entry/format'),
      `name: funcgraph_entry\nID: 11\nformat:\n${COMMON}\n` +
        '\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n' +
        '\tfield:int depth;\toffset:16;\tsize:4;\tsigned:1;\n\n' +
        'print fmt: "--> %ps (%d)", (void *)REC->func, REC->depth\n',
    );
    assert.equal(
      fs.read('events/ftrace/funcgraph_exit/format'),
      `name: funcgraph_exit\nID: 10\nformat:\n${COMMON}\n` +
        '\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n' +
        '\tfield:unsigned long retval;\toffset:16;\tsize:8;\tsigned:0;\n' +
        '\tfield:int depth;\toffset:24;\tsize:4;\tsigned:1;\n' +
        '\tfield:unsigned int overrun;\toffset:28;\tsize:4;\tsigned:0;\n' +
        '\tfield:unsigned long long calltime;\toffset:32;\tsize:8;\tsigned:0;\n' +
        '\tfield:unsigned long long rettime;\toffset:40;\tsize:8;\tsigned:0;\n\n' +
        'print fmt: "<-- %ps (%d) (start: %llx  end: %llx) over: %d retval: %lx", (void *)REC->func, REC->depth, REC->calltime, REC->rettime, REC->depth, REC->retval\n',
    );
    const callers = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `(void *)REC->caller[${i}]`).join(', ');
    assert.equal(
      fs.read('events/ftrace/user_stack/format'),
      `name: user_stack\nID: 12\nformat:\n${COMMON}\n` +
        '\tfield:unsigned int tgid;\toffset:8;\tsize:4;\tsigned:0;\n' +
        '\tfield:unsigned long caller[8];\toffset:16;\tsize:64;\tsigned:0;\n\n' +
        `print fmt: "\\t=> %ps\\n\\t=> %ps\\n\\t=> %ps\\n" "\\t=> %ps\\n\\t=> %ps\\n\\t=> %ps\\n" "\\t=> %ps\\n\\t=> %ps\\n", ${callers}\n`,
    );
    assert.equal(fs.read('events/ftrace/bputs/id'), '14\n');
    const body = (path: string) => fs.read(path).split('\n').slice(8).join('\n');
    assert.equal(
      body('events/timer/hrtimer_expire_entry/format'),
      '\tfield:void * hrtimer;\toffset:8;\tsize:8;\tsigned:0;\n' +
        '\tfield:s64 now;\toffset:16;\tsize:8;\tsigned:1;\n' +
        '\tfield:void * function;\toffset:24;\tsize:8;\tsigned:0;\n\n' +
        'print fmt: "hrtimer=%p function=%ps now=%llu", REC->hrtimer, REC->function, (unsigned long long) REC->now\n',
    );
    assert.equal(
      body('events/signal/signal_deliver/format'),
      '\tfield:int sig;\toffset:8;\tsize:4;\tsigned:1;\n' +
        '\tfield:int errno;\toffset:12;\tsize:4;\tsigned:1;\n' +
        '\tfield:int code;\toffset:16;\tsize:4;\tsigned:1;\n' +
        '\tfield:unsigned long sa_handler;\toffset:24;\tsize:8;\tsigned:0;\n' +
        '\tfield:unsigned long sa_flags;\toffset:32;\tsize:8;\tsigned:0;\n\n' +
        'print fmt: "sig=%d errno=%d code=%d sa_handler=%lx sa_flags=%lx", REC->sig, REC->errno, REC->code, REC->sa_handler, REC->sa_flags\n',
    );
    assert.equal(
      body('events/sched/sched_process_exec/format'),
      '\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n' +
        '\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n' +
        '\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n\n' +
        'print fmt: "filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid\n',
    );
    assert.equal(
      body('events/raw_syscalls/sys_exit/format'),
      '\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n' +
        '\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n\n' +
        'print fmt: "NR %ld = %ld", REC->id, REC->ret\n',
    );
    // header files unchanged
    assert.match(fs.read('events/header_page'), /^\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n/);
    assert.match(fs.read('events/header_event'), /^# compressed entry header\n/);
  });
});

test('ids: static types for the ftrace entries, then dynamic ones from __TRACE_LAST_TYPE in registration order', async () => {
  await withMachine(OPTS, async (m) => {
    const ids = m.events.calls.filter((c) => !c.ignoreEnable).map((c) => c.id);
    assert.equal(ids[0], 20);
    ids.forEach((id, i) => assert.equal(id, 20 + i));
    for (const c of m.events.calls) assert.equal(m.fs.read(`events/${c.system}/${c.name}/id`), `${c.id}\n`);
    // the ftrace system has no enable or filter files, its events only format and id, and print a
    // trigger (event_callback(): trace_marker's triggers)
    assert.deepEqual(m.fs.ls('events/ftrace/function'), ['format', 'id']);
    assert.deepEqual(m.fs.ls('events/ftrace/print'), ['format', 'id', 'trigger']);
    assert.ok(!m.fs.ls('events/ftrace').includes('enable'));
    assert.deepEqual(m.fs.ls('events/sched/sched_switch'), ['enable', 'filter', 'format', 'id', 'trigger']);
    assert.deepEqual(m.fs.ls('events/sched').slice(0, 2), ['enable', 'filter']);
    const avail = m.fs.read('available_events').split('\n').filter(Boolean);
    assert.ok(avail.includes('sched:sched_switch') && avail.includes('raw_syscalls:sys_enter'));
    assert.ok(!avail.some((a) => a.startsWith('ftrace:')));
  });
});

test('enable files, set_event and events emitted by CPUs; instances have their own', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const emit = () => m.run(0, new Workload().task(12, 'bash').event('sched:sched_switch', SWITCH).event('sched_wakeup', { comm: 'kworker/0:1', pid: 33, prio: 120, target_cpu: 1 }));
    await emit();
    assert.equal(lines(fs.read('trace')).length, 0, 'disabled events are not written');
    assert.equal(fs.read('events/enable'), '0\n');
    await fs.write('events/sched/sched_switch/enable', '1\n');
    assert.equal(fs.read('events/sched/sched_switch/enable'), '1\n');
    assert.equal(fs.read('events/sched/enable'), 'X\n');
    assert.equal(fs.read('events/enable'), 'X\n');
    assert.equal(fs.read('set_event'), 'sched:sched_switch\n');
    await emit();
    const l = lines(fs.read('trace'));
    assert.equal(l.length, 1);
    assert.match(l[0], /^ +bash-12 +\[000\] \.\.\.\.\. +\d+\.\d{6}: sched_switch: prev_comm=bash prev_pid=12 prev_prio=120 prev_state=S ==> next_comm=swapper\/0 next_pid=0 next_prio=120$/);
    await assert.rejects(fs.write('events/sched/enable', '2\n'), errCode('EINVAL'));
    await fs.write('set_event', 'sched:*\n', { append: true });
    assert.equal(fs.read('events/sched/enable'), '1\n');
    await fs.write('set_event', '!sched:sched_switch\n', { append: true });
    assert.equal(fs.read('events/sched/sched_switch/enable'), '0\n');
    await fs.write('trace', '');
    await emit();
    assert.match(lines(fs.read('trace'))[0], /sched_wakeup: comm=kworker\/0:1 pid=33 prio=120 target_cpu=001$/);
    await assert.rejects(fs.write('set_event', 'nosuch:event\n', { append: true }), errCode('EINVAL'));
    await fs.write('set_event', '*:*\n');
    assert.equal(fs.read('events/enable'), '1\n');
    await fs.write('set_event', '\n');
    assert.equal(fs.read('set_event'), '');
    assert.equal(fs.read('events/enable'), '0\n');
    // an instance's events are its own
    await fs.mkdir('instances/foo');
    await fs.write('instances/foo/events/raw_syscalls/enable', '1\n');
    await fs.write('trace', '');
    await m.run(1, new Workload().event('sys_enter', { id: 1, args: [3, 0x7ffd0000, 12] }).event('sys_exit', { id: 1, ret: -9 }));
    assert.equal(lines(fs.read('trace')).length, 0);
    const inst = lines(fs.read('instances/foo/trace'));
    assert.match(inst[0], /sys_enter: NR 1 \(3, 7ffd0000, c, 0, 0, 0\)$/);
    assert.match(inst[1], /sys_exit: NR 1 = -9$/);
    await fs.rmdir('instances/foo');
  });
});

test('set_event_pid: only events of the listed tasks', async () => {
  await withMachine(OPTS, async (m) => {
    await m.fs.write('events/irq/enable', '1\n');
    await m.fs.write('set_event_pid', '7 9\n');
    await m.fs.write('set_event_pid', '8\n', { append: true });
    assert.equal(m.fs.read('set_event_pid'), '7\n8\n9\n');
    const w = new Workload();
    for (const pid of [6, 7, 8, 9, 10]) w.task(pid, `t${pid}`).event('irq_handler_entry', { irq: pid, name: 'eth0' });
    await m.run(0, w);
    assert.deepEqual(lines(m.fs.read('trace')).map((l) => /irq=(\d+)/.exec(l)![1]), ['7', '8', '9']);
    await assert.rejects(m.fs.write('set_event_pid', 'abc\n'), errCode('EINVAL'));
    assert.equal(m.fs.read('set_event_pid'), '7\n8\n9\n', 'a failed write changes nothing');
    await m.fs.write('set_event_pid', '\n');
    assert.equal(m.fs.read('set_event_pid'), '');
  });
});

test('trace_marker: tracing_mark_write lines, long text split over events, EBADF while recording is off', async () => {
  await withMachine({ ...OPTS, bufferSizeKb: 64 }, async (m) => {
    const fs = m.fs;
    await fs.write('trace_marker', 'test input 1\n');
    assert.match(lines(fs.read('trace'))[0], /: tracing_mark_write: test input 1$/);
    // trace_pipe consumes, trace does not
    assert.match(fs.read('trace_pipe'), /test input 1/);
    assert.doesNotMatch(fs.read('trace'), /test input 1/);
    // the trace_marker.tc arithmetic: a string as long as a sub-buffer's data is cut, and all of it is there
    const size = Number(/data;\toffset:16;\tsize:(\d+)/.exec(fs.read('events/header_page'))![1]);
    const str = 'X'.repeat(size - 2);
    await fs.write('trace', '');
    await fs.write('trace_marker', str);
    const parts = lines(fs.read('trace')).map((l) => l.replace(/^.*tracing_mark_write: /, ''));
    assert.ok(parts.length > 1);
    assert.notEqual(parts[0], str);
    assert.equal(parts.join(''), str);
    await fs.write('tracing_on', '0\n');
    await assert.rejects(fs.write('trace_marker', 'x\n'), errCode('EBADF'));
    await fs.write('tracing_on', '1\n');
  });
});

test('trace_marker_raw: id and data, all or nothing; the output rounds the data up to 4 bytes', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await assert.rejects(fs.write('trace_marker_raw', 'abc'), errCode('EINVAL'));
    const size = m.buffer.dataSize;
    await assert.rejects(fs.write('trace_marker_raw', '\xef\xbe\xad\xde' + 'X'.repeat(size)), errCode('EBADF'));
    await fs.write('trace_marker_raw', '\x05\x00\x00\x00' + 'XXXXX');
    assert.match(lines(fs.read('trace'))[0], /: # 5 buf: 58 58 58 58 58 00 00 00$/);
  });
});

test('filters: the kernel grammar, run by the writing CPU', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('events/sched/sched_switch/enable', '1\n');
    const cases: [string, number[]][] = [
      ['prev_pid == 3', [3]],
      ['prev_pid != 3', [1, 2, 4, 5]],
      ['prev_pid < 3', [1, 2]],
      ['prev_pid >= 4', [4, 5]],
      ['prev_pid & 1', [1, 3, 5]],
      ['prev_pid > 1 && prev_pid < 5 && !(prev_pid == 3)', [2, 4]],
      ['(prev_pid == 1 || prev_pid == 5) || next_comm == "n4"', [1, 4, 5]],
      ['!(prev_pid == 1 || prev_pid == 2)', [3, 4, 5]],
      ['next_comm ~ "n[2-3]"', [2, 3]],
      ['next_comm ~ "*4"', [4]],
      ['prev_comm != "p2" && prev_state == -1', [5]],
      ['common_pid == 40', [4]],
      ['prev_pid == 0x3', [3]],
    ];
    for (const [filter, want] of cases) {
      await fs.write('events/sched/sched_switch/filter', `${filter}\n`);
      assert.equal(fs.read('events/sched/sched_switch/filter'), `${filter}\n`);
      await fs.write('trace', '');
      const w = new Workload();
      for (let i = 1; i <= 5; i++) w.task(i * 10, 'x').event('sched_switch', { prev_comm: `p${i}`, prev_pid: i, prev_state: i === 5 ? -1 : 0, next_comm: `n${i}`, next_pid: 0 });
      await m.run(1, w);
      assert.deepEqual(lines(fs.read('trace')).map((l) => Number(/prev_pid=(\d+)/.exec(l)![1])), want, filter);
    }
    await fs.write('events/sched/sched_switch/filter', '0\n');
    assert.equal(fs.read('events/sched/sched_switch/filter'), 'none\n');
  });
});

test('filter errors: the kernel messages in the filter file and error_log, with the position', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const errs: [string, string, number][] = [
      ['prev_pidx == 1', 'Field not found', 10],
      ['prev_pid ~ 1', 'Illegal operation for field type', 9],
      ['prev_comm < "a"', 'Illegal operation for field type', 10],
      ['prev_pid == abc', 'Invalid value (did you forget quotes)?', 12],
      ['prev_pid == 12x', 'Illegal integer value', 12],
      ['(prev_pid == 1', "Too many '('", 0],
      ['prev_pid == 1)', "Too few '('", 13],
      ['prev_comm == "abc', 'Missing matching quote', 13],
      ['prev_pid 1', 'Illegal operation for field type', 9],
    ];
    for (const [filter, text, pos] of errs) {
      await fs.write('error_log', '');
      await assert.rejects(fs.write('events/sched/sched_switch/filter', `${filter}\n`), errCode('EINVAL'), filter);
      assert.equal(fs.read('events/sched/sched_switch/filter'), `${filter}\n${' '.repeat(pos)}^\nparse_error: ${text}\n\n`, filter);
      const log = fs.read('error_log').split('\n');
      assert.match(log[0], new RegExp(`^\\[ *\\d+\\.\\d{6}\\] event filter parse error: error: ${text.replace(/[()?]/g, '\\$&')}$`), filter);
      assert.equal(log[1], `  Command: ${filter}`);
      // ftrace_errlog_check: the caret line is 13 + pos characters with its newline
      assert.equal(log[2].length + 1, 13 + pos, filter);
    }
  });
});

test('triggers: traceoff with a count, stacktrace, removal; the event is soft-enabled meanwhile', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const trig = 'events/sched/sched_wakeup/trigger';
    assert.equal(fs.read(trig), '# Available triggers:\n# traceon traceoff snapshot stacktrace\n');
    await fs.write(trig, 'traceoff:1 if pid == 2\n');
    assert.equal(fs.read(trig), 'traceoff:count=1 if pid == 2\n');
    await assert.rejects(fs.write(trig, 'traceoff\n'), errCode('EEXIST'));
    await assert.rejects(fs.write(trig, 'bogus\n'), errCode('EINVAL'));
    await m.run(0, new Workload().event('sched_wakeup', { pid: 1 }));
    assert.equal(fs.read('tracing_on'), '1\n');
    assert.equal(fs.read('events/sched/sched_wakeup/enable'), '0*\n');
    assert.equal(lines(fs.read('trace')).length, 0, 'soft mode writes nothing');
    await m.run(0, new Workload().event('sched_wakeup', { pid: 2 }));
    assert.equal(fs.read('tracing_on'), '0\n');
    assert.equal(fs.read(trig), 'traceoff:count=0 if pid == 2\n');
    await fs.write('tracing_on', '1\n');
    await m.run(0, new Workload().event('sched_wakeup', { pid: 2 }));
    assert.equal(fs.read('tracing_on'), '1\n', 'a used-up count does nothing');
    await fs.write(trig, '!traceoff\n');
    assert.match(fs.read(trig), /^# Available triggers/);
    await fs.write(trig, 'stacktrace\n');
    await fs.write('events/sched/sched_wakeup/enable', '1\n');
    await m.run(0, new Workload().enter('schedule').event('sched_wakeup', { pid: 3 }).exit());
    const out = fs.read('trace');
    // an unconditional trigger runs before the record is written (trace_trigger_soft_disabled)
    assert.match(out, /<stack trace>\n => schedule\n.*sched_wakeup: comm= pid=3 prio=0 target_cpu=000\n$/);
    await fs.write(trig, '!stacktrace\n');
    assert.equal(fs.read('events/sched/sched_wakeup/enable'), '1\n');
  });
});

// initialize_ftrace() of tools/testing/selftests/ftrace/test.d/functions, as fs calls
async function initializeFtrace(m: RingMachine): Promise<void> {
  const fs = m.fs;
  await fs.write('tracing_on', '0\n');
  await fs.write('current_tracer', 'nop\n');
  for (const sys of fs.ls('events').filter((n) => fs.stat(`events/${n}`).type === 'dir')) {
    for (const ev of fs.ls(`events/${sys}`).filter((n) => fs.exists(`events/${sys}/${n}/trigger`))) {
      for (const line of fs.read(`events/${sys}/${ev}/trigger`).split('\n')) {
        if (line && !line.startsWith('#')) await fs.write(`events/${sys}/${ev}/trigger`, `!${line.split(' ')[0].split(':')[0]}\n`);
      }
      // ftrace/print has a trigger and no filter
      if (fs.exists(`events/${sys}/${ev}/filter`) && fs.read(`events/${sys}/${ev}/filter`) !== 'none\n') await fs.write(`events/${sys}/${ev}/filter`, '0\n');
    }
  }
  await fs.write('set_ftrace_filter', '\n');
  await fs.write('events/enable', '0\n');
  await fs.write('set_event_pid', '\n');
  await fs.write('set_ftrace_notrace', '\n');
  await fs.write('trace', '\n');
  await fs.write('tracing_on', '1\n');
}

test('initialize_ftrace from the selftests runs clean and resets what the event layer holds', async () => {
  await withMachine(OPTS, async (m) => {
    await m.fs.write('set_event', 'sched:* irq:irq_handler_entry\n');
    await m.fs.write('events/sched/sched_switch/filter', 'prev_pid == 1\n');
    await m.fs.write('events/irq/irq_handler_exit/trigger', 'traceoff:3\n');
    await m.fs.write('set_event_pid', '5\n');
    await initializeFtrace(m);
    assert.equal(m.fs.read('set_event'), '');
    assert.equal(m.fs.read('events/sched/sched_switch/filter'), 'none\n');
    assert.match(m.fs.read('events/irq/irq_handler_exit/trigger'), /^# Available/);
    assert.equal(m.fs.read('set_event_pid'), '');
    assert.equal(m.fs.read('tracing_on'), '1\n');
  });
});

// A decoder that knows only the format files: field offsets and sizes from events/*/*/format
function formatFields(m: RingMachine, path: string): Map<string, { offset: number; size: number }> {
  const out = new Map<string, { offset: number; size: number }>();
  for (const mm of m.fs.read(path).matchAll(/\tfield:(.*?) ([A-Za-z_0-9]+)(\[\d*\])?;\toffset:(\d+);\tsize:(\d+);/g)) out.set(mm[2], { offset: Number(mm[4]), size: Number(mm[5]) });
  return out;
}

test('pages with every record type decode with the format files alone', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('events/enable', '1\n');
    await fs.write('set_ftrace_filter', 'schedule\n');
    await fs.write('current_tracer', 'function\n');
    await fs.write('set_ftrace_filter', 'schedule:stacktrace\n', { append: true });
    await m.run(0, new Workload().task(5, 'app').call('schedule', { parent: 'do_idle' }).event('irq_handler_entry', { irq: 9, name: 'acpi' }).event('sched_switch', SWITCH));
    await fs.write('trace_marker', 'hello\n');
    await fs.write('trace_marker_raw', '\x2a\x00\x00\x00zz');
    const types = new Map<number, string>();
    for (const sys of fs.ls('events').filter((n) => fs.stat(`events/${n}`).type === 'dir')) {
      for (const ev of fs.ls(`events/${sys}`).filter((n) => fs.stat(`events/${sys}/${n}`).type === 'dir')) types.set(Number(fs.read(`events/${sys}/${ev}/id`)), `${sys}/${ev}`);
    }
    const page = fs.readBinary('per_cpu/cpu0/trace_pipe_raw');
    const seen: string[] = [];
    for (let off = 0; off < page.length; off += 4096) {
      for (const ev of dataEvents(decodePage(page.subarray(off, off + 4096)))) {
        const type = ev.data[0] | (ev.data[1] << 8);
        const name = types.get(type);
        assert.ok(name, `type ${type} has a format file`);
        seen.push(name!);
        const f = formatFields(m, `events/${name}/format`);
        const dv = new DataView(ev.data.buffer, ev.data.byteOffset, ev.data.byteLength);
        if (name === 'ftrace/function') assert.equal(m.ftrace.symbolize(dv.getBigUint64(f.get('ip')!.offset, true))?.name, 'schedule');
        if (name === 'ftrace/print') assert.equal(new TextDecoder().decode(ev.data.subarray(f.get('buf')!.offset, f.get('buf')!.offset + 6)), 'hello\n');
        if (name === 'ftrace/raw_data') assert.equal(dv.getUint32(f.get('id')!.offset, true), 42);
        if (name === 'ftrace/kernel_stack') assert.ok(dv.getInt32(f.get('size')!.offset, true) >= 1);
        if (name === 'irq/irq_handler_entry') {
          const loc = dv.getUint32(f.get('name')!.offset, true);
          assert.equal(new TextDecoder().decode(ev.data.subarray(loc & 0xffff, (loc & 0xffff) + (loc >>> 16) - 1)), 'acpi');
        }
        if (name === 'sched/sched_switch') assert.equal(dv.getInt32(f.get('prev_pid')!.offset, true), 12);
      }
    }
    for (const want of ['ftrace/function', 'ftrace/kernel_stack', 'irq/irq_handler_entry', 'sched/sched_switch', 'ftrace/print', 'ftrace/raw_data']) assert.ok(seen.includes(want), want);
  });
});

test('enable_event / disable_event function commands: the event is soft-disabled until the function runs', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('set_ftrace_filter', 'schedule:enable_event:sched:sched_switch:2\n');
    await fs.write('set_ftrace_filter', 'vfs_read:disable_event:sched:sched_switch\n', { append: true });
    assert.equal(fs.read('events/sched/sched_switch/enable'), '0*\n');
    const lines0 = fs.read('set_ftrace_filter').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(lines0.sort(), ['schedule:enable_event:sched:sched_switch:count=2', 'vfs_read:disable_event:sched:sched_switch:unlimited']);
    const sw = () => new Workload().event('sched_switch', SWITCH);
    await m.run(0, sw());
    assert.equal(lines(fs.read('trace')).length, 0, 'soft-disabled');
    await m.run(0, new Workload().call('schedule').event('sched_switch', SWITCH).call('vfs_read').event('sched_switch', SWITCH).call('schedule').event('sched_switch', SWITCH));
    assert.equal(lines(fs.read('trace')).filter((l) => l.includes('sched_switch:')).length, 2);
    assert.match(fs.read('set_ftrace_filter'), /schedule:enable_event:sched:sched_switch:count=0/);
    // func_event_triggers.tc: the probe shows as "1*", writing 0 soft-disables again ("0*")
    await m.fs.write('set_ftrace_filter', 'do_idle:enable_event:sched:sched_switch\n', { append: true });
    await m.run(0, new Workload().call('do_idle'));
    assert.equal(fs.read('events/sched/sched_switch/enable'), '1*\n');
    await fs.write('events/sched/sched_switch/enable', '0\n');
    assert.equal(fs.read('events/sched/sched_switch/enable'), '0*\n');
    await m.run(0, new Workload().call('do_idle'));
    assert.equal(fs.read('events/sched/sched_switch/enable'), '1*\n');
    await fs.write('set_ftrace_filter', '!do_idle:enable_event:sched:sched_switch\n', { append: true });
    await fs.write('events/sched/sched_switch/enable', '0\n');
    // initialize_ftrace's reset_ftrace_filter removes them as the file lists them
    await fs.write('set_ftrace_filter', '!schedule:enable_event:sched:sched_switch:0\n', { append: true });
    await fs.write('set_ftrace_filter', '!vfs_read:disable_event:sched:sched_switch\n', { append: true });
    assert.doesNotMatch(fs.read('set_ftrace_filter'), /_event/);
    await m.run(0, sw());
    assert.equal(lines(fs.read('trace')).filter((l) => l.includes('sched_switch:')).length, 2, 'no longer in soft mode');
    await assert.rejects(fs.write('set_ftrace_filter', 'schedule:enable_event:nosys:nothing\n', { append: true }), errCode('EINVAL'));
  });
});

test('tracing-error-log.tc: the caret of a filter error in error_log', async () => {
  await withMachine(OPTS, async (m) => {
    const cmd = '((sig >= 10 && sig < 15) || dsig ^== 17) && comm != bash';
    const pos = cmd.indexOf('^');
    const command = cmd.replace('^', '');
    await m.fs.write('error_log', '\n');
    await assert.rejects(m.fs.write('events/signal/signal_generate/filter', command, { append: true }), errCode('EINVAL'));
    const log = m.fs.read('error_log').split('\n');
    assert.match(log[0], /event filter parse error: error: Field not found$/);
    assert.equal(log[2].length + 1, 13 + pos);
    await m.fs.write('events/signal/signal_generate/filter', '((sig >= 10 && sig < 15) || sig == 17) && comm != bash\n');
    await m.fs.write('events/signal/signal_generate/enable', '1\n');
    await m.run(0, new Workload().event('signal_generate', { sig: 17, comm: 'sh' }).event('signal_generate', { sig: 17, comm: 'bash' }).event('signal_generate', { sig: 9, comm: 'sh' }));
    assert.deepEqual(lines(m.fs.read('trace')).map((l) => l.replace(/^.*signal_generate: /, '')), ['sig=17 errno=0 code=0 comm=sh pid=0 grp=0 res=0']);
  });
});
