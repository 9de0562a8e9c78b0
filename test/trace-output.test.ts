// The text of `trace` and `trace_pipe` (kernel/trace/trace.c, trace_output.c) with the virtual clock, so
// that every stamp is known: the function tracer's header with the irq-info legend, the context columns
// (comm-pid, CPU, the lat flags with the migrate-disable column, sec.usec), function and stack-trace
// events, unknown types, LOST EVENTS markers, the CPU-buffer-started annotation, `echo > trace`, and the
// format files of events/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, type MachineOptions } from '../src/index.ts';
import { graphDuration, printTime, printTraceLine, latFmt } from '../src/trace/output.ts';
import { withMachine } from './helpers.ts';

const OPTS: MachineOptions = { cpus: 2, bufferSizeKb: 8, clock: 'virtual' };

function header(tracer: string, entries: number, written: number, cpus: number): string {
  return (
    `# tracer: ${tracer}\n` +
    '#\n' +
    `# entries-in-buffer/entries-written: ${entries}/${written}   #P:${cpus}\n` +
    '#\n' +
    '#                                _-----=> irqs-off/BH-disabled\n' +
    '#                               / _----=> need-resched\n' +
    '#                              | / _---=> hardirq/softirq\n' +
    '#                              || / _--=> preempt-depth\n' +
    '#                              ||| / _-=> migrate-disable\n' +
    '#                              |||| /     delay\n' +
    '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n' +
    '#              | |         |   |||||     |         |\n'
  );
}

test('empty buffer: the header of the nop and function tracers', async () => {
  await withMachine(OPTS, async (m) => {
    assert.equal(m.fs.read('trace'), header('nop', 0, 0, 2));
    await m.fs.write('current_tracer', 'function\n');
    assert.equal(m.fs.read('trace'), header('function', 0, 0, 2));
    assert.equal(m.fs.read('trace_pipe'), '');
  });
});

test('function events: comm-pid, CPU, lat flags per context, stamps, parents, stack traces, unknown types', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('current_tracer', 'function\n');
    await fs.write('set_ftrace_filter', 'schedule:stacktrace\n');
    await m.run(
      0,
      new Workload()
        .task(42, 'kworker/0:1')
        .enter('vfs_read', { parent: 'ksys_read' })
        .call('schedule')
        .exit()
        .context('irq')
        .call('io_schedule')
        .context('softirq')
        .call('preempt_schedule')
        .context('nmi')
        .call('vfs_write')
        .context('normal')
        .irqFlags({ irqsOff: true, needResched: true, preemptCount: 0x21 })
        .call('vfs_write'),
    );
    // a raw 16-byte event (its first u16, the "type", is not a registered one), then a call from an
    // address no function contains
    await m.run(1, new Workload().write({ size: 16, count: 1 }).call('schedule', { parent: 0x1234n }));
    const expected =
      header('function', 10, 10, 2) +
      '     kworker/0:1-42      [000] .....     0.000001: vfs_read <-ksys_read\n' +
      '          <idle>-0       [001] .....     0.000001: Unknown type 16\n' +
      '     kworker/0:1-42      [000] .....     0.000002: <stack trace>\n' +
      ' => schedule\n' +
      ' => vfs_read\n' +
      ' => ksys_read\n' +
      '          <idle>-0       [001] .....     0.000002: <stack trace>\n' +
      ' => schedule\n' +
      ' => 0x00001234\n' +
      '     kworker/0:1-42      [000] .....     0.000003: schedule <-vfs_read\n' +
      '          <idle>-0       [001] .....     0.000003: schedule <-0x00001234\n' +
      '     kworker/0:1-42      [000] d.h..     0.000004: io_schedule\n' +
      '     kworker/0:1-42      [000] ..s..     0.000005: preempt_schedule\n' +
      '     kworker/0:1-42      [000] d.Z..     0.000006: vfs_write\n' +
      '     kworker/0:1-42      [000] dn.12     0.000007: vfs_write\n';
    assert.equal(fs.read('trace'), expected);
    // trace does not consume; per_cpu/cpu1/trace has CPU 1 only (and the whole buffer's counts)
    assert.equal(fs.read('trace'), expected);
    assert.equal(
      fs.read('per_cpu/cpu1/trace'),
      header('function', 10, 10, 2) +
        '          <idle>-0       [001] .....     0.000001: Unknown type 16\n' +
        '          <idle>-0       [001] .....     0.000002: <stack trace>\n' +
        ' => schedule\n' +
        ' => 0x00001234\n' +
        '          <idle>-0       [001] .....     0.000003: schedule <-0x00001234\n',
    );
    // trace_pipe: the same lines, no header, consumed
    assert.equal(fs.read('trace_pipe'), expected.slice(header('function', 10, 10, 2).length));
    assert.equal(fs.read('trace_pipe'), '');
    // consumed events are gone from both counts (ring_buffer_entries_cpu() takes off what was read)
    assert.equal(fs.read('trace'), header('function', 0, 0, 2));
  });
});

test('echo > trace clears the buffer, echo >> trace does not; per_cpu/cpuN/trace clears one CPU', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('current_tracer', 'function\n');
    await m.run(0, new Workload().call('schedule', { count: 2 }));
    await m.run(1, new Workload().call('schedule', { count: 3 }));
    await fs.write('trace', 'anything\n', { append: true });
    assert.match(fs.read('trace'), /entries-written: 5\/5 /);
    await fs.write('per_cpu/cpu0/trace', '\n');
    assert.match(fs.read('trace'), /entries-written: 3\/3 /);
    await fs.write('trace', '\n');
    assert.equal(fs.read('trace'), header('function', 0, 0, 2));
  });
});

test('LOST EVENTS in trace_pipe, the CPU-buffer-started annotation in trace after overruns', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('current_tracer', 'function\n');
    await m.run(0, new Workload().call('vfs_read', { count: 3 }));
    await m.run(1, new Workload().call('schedule', { count: 2000 }));
    const s = m.buffer.stats(1);
    assert.ok(s.overrun > 0);
    const lines = fs.read('trace').split('\n');
    const body = lines.slice(12);
    assert.equal(lines[2], `# entries-in-buffer/entries-written: ${3 + s.entries}/${2003}   #P:2`);
    // the first two events never get the annotation; CPU 1's first event comes third
    assert.equal(body[0], '          <idle>-0       [000] .....     0.000001: vfs_read');
    assert.equal(body[2], '          <idle>-0       [000] .....     0.000003: vfs_read');
    assert.equal(body[3], '##### CPU 1 buffer started ####');
    assert.match(body[4], /^ {10}<idle>-0 {7}\[001\] \.{5} +\d+\.\d{6}: schedule$/);
    assert.equal(body.filter((l) => l.startsWith('#####')).length, 1);
    // trace_pipe: the lost count before CPU 1's first event, no annotation
    const pipe = fs.read('trace_pipe').split('\n');
    assert.equal(pipe[3], `CPU:1 [LOST ${s.overrun} EVENTS]`);
    assert.equal(pipe.filter((l) => l.startsWith('CPU:')).length, 1);
    assert.equal(pipe.filter((l) => l.includes('schedule')).length, s.entries);
  });
});

test('the counter clock prints raw counts (%12llu)', async () => {
  await withMachine(OPTS, async (m) => {
    await m.fs.write('trace_clock', 'counter\n');
    await m.fs.write('current_tracer', 'function\n');
    await m.run(0, new Workload().call('schedule'));
    const line = m.fs.read('trace').split('\n')[12];
    assert.match(line, /^ {10}<idle>-0 {7}\[000\] \.{5} +\d+: schedule$/);
    assert.equal(line.split(']')[1].split(':')[0].length, ' ..... '.length + 12);
  });
});

test('line helpers: ns2usecs rounding, LOST EVENTS of an overrun iterator, flag letters, graph durations', () => {
  assert.equal(printTime(1_499, true), '     0.000001');
  assert.equal(printTime(1_500, true), '     0.000002');
  assert.equal(printTime(12_345_678_999_500, true), ' 12345.679000');
  assert.equal(printTime(77, false), `${' '.repeat(11)}77`);
  const syms = { commOf: () => 'bash', symbolize: (ip: bigint) => (ip === 0x10n ? { name: 'f' } : null) };
  const data = new Uint8Array(24);
  const dv = new DataView(data.buffer);
  dv.setUint16(0, 1, true);
  dv.setInt32(4, 7, true);
  dv.setBigUint64(8, 0x10n, true);
  const ev = { cpu: 3, ts: 2_000_000_000, lost: 1, data };
  assert.equal(printTraceLine(syms, ev, true, -1), 'CPU:3 [LOST EVENTS]\n            bash-7       [003] .....     2.000000: f\n');
  assert.equal(printTraceLine(syms, ev, true, 5), 'CPU:3 [LOST 5 EVENTS]\n            bash-7       [003] .....     2.000000: f\n');
  assert.equal(latFmt(0x80 | 0x01, 0), 'D....');
  assert.equal(latFmt(0x80, 0), 'b....');
  assert.equal(latFmt(0x20, 0), '.p...');
  assert.equal(latFmt(0x24, 0), '.N...');
  assert.equal(latFmt(0x18, 0xff), '..Hff');
  assert.equal(latFmt(0x40, 0), '..z..');
  // trace_print_graph_duration(): ".nnn" shrinks as the usecs grow, the column is 8 wide
  assert.equal(graphDuration(0n), '0.000 us    ');
  assert.equal(graphDuration(1_234_567n), '1234.567 us ');
  assert.equal(graphDuration(123_456_789n), '123456.7 us ');
  assert.equal(graphDuration(12_345_678_901n), '12345678 us ');
});

test('events/header_page, events/header_event, events/ftrace/function/format', async () => {
  await withMachine({ ...OPTS, subbufSize: 8192 }, async (m) => {
    assert.equal(
      m.fs.read('events/header_page'),
      '\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n' +
        '\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n' +
        '\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n' +
        '\tfield: char data;\toffset:16;\tsize:8176;\tsigned:1;\n',
    );
    assert.equal(
      m.fs.read('events/header_event'),
      '# compressed entry header\n\ttype_len    :    5 bits\n\ttime_delta  :   27 bits\n\tarray       :   32 bits\n\n' +
        '\tpadding     : type == 29\n\ttime_extend : type == 30\n\ttime_stamp : type == 31\n\tdata max type_len  == 28\n',
    );
    assert.equal(
      m.fs.read('events/ftrace/function/format'),
      'name: function\nID: 1\nformat:\n' +
        '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n' +
        '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n' +
        '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n' +
        '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n' +
        '\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n' +
        '\tfield:unsigned long parent_ip;\toffset:16;\tsize:8;\tsigned:0;\n\n' +
        'print fmt: " %ps <-- %ps", (void *)REC->ip, (void *)REC->parent_ip\n',
    );
    await m.fs.mkdir('instances/i');
    assert.equal(m.fs.read('instances/i/events/header_page').split('\n')[3], '\tfield: char data;\toffset:16;\tsize:4080;\tsigned:1;');
  });
});
