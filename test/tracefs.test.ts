// tracefs (machine.fs): the ring buffer's files with the kernel's names, formats and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, type RingMachine } from '../src/index.ts';
import { formatSecUsec, kstrtoulFromUser, ns2usecs } from '../src/tracefs/parse.ts';
import { withMachine, errCode } from './helpers.ts';

// 16 KB with 4 KiB sub-buffers (4080 data bytes each): DIV_ROUND_UP(16384, 4080) = 5 pages = 20400 bytes,
// which buffer_size_kb prints as 20400 >> 10 = 19.
const SMALL = { cpus: 2, bufferSizeKb: 16, clock: 'virtual' } as const;

function entries(m: RingMachine, cpu: number): number {
  return m.buffer.stats(cpu).entries;
}

test('paths: both mount points and relative paths; ls; ENOENT, ENOTDIR, EISDIR', async () => {
  await withMachine(SMALL, async (m) => {
    const fs = m.fs;
    for (const p of ['tracing_on', '/sys/kernel/tracing/tracing_on', '/sys/kernel/debug/tracing/tracing_on', '/sys/kernel//tracing/./per_cpu/../tracing_on']) {
      assert.equal(fs.read(p), '1\n', p);
    }
    assert.deepEqual(fs.ls(), [
      'README', 'available_events', 'available_filter_functions', 'available_tracers', 'buffer_size_kb', 'buffer_subbuf_size_kb',
      'buffer_total_size_kb', 'current_tracer', 'dynamic_events', 'enabled_functions', 'error_log', 'events', 'function_profile_enabled',
      'instances', 'max_graph_depth', 'options', 'per_cpu', 'printk_formats', 'saved_cmdlines', 'saved_cmdlines_size', 'set_event',
      'set_event_pid', 'set_ftrace_filter', 'set_ftrace_notrace', 'set_ftrace_notrace_pid', 'set_ftrace_pid', 'set_graph_function',
      'set_graph_notrace', 'snapshot', 'stack_max_size', 'stack_trace', 'stack_trace_filter', 'touched_functions', 'trace', 'trace_clock',
      'trace_marker', 'trace_marker_raw', 'trace_options', 'trace_pipe', 'trace_stat', 'tracing_cpumask', 'tracing_on',
      'user_events_status',
    ]);
    assert.deepEqual(fs.ls('/sys/kernel/debug/tracing/'), fs.ls());
    assert.deepEqual(fs.ls('options'), [
      'event-fork', 'funcgraph-abstime', 'funcgraph-cpu', 'funcgraph-duration', 'funcgraph-irqs', 'funcgraph-overhead', 'funcgraph-overrun',
      'funcgraph-proc', 'funcgraph-retval', 'funcgraph-retval-hex', 'funcgraph-tail', 'function-fork', 'graph-time', 'overwrite', 'sleep-time',
    ]);
    assert.deepEqual(fs.ls('per_cpu'), ['cpu0', 'cpu1']);
    assert.deepEqual(fs.ls('/sys/kernel/tracing/per_cpu/cpu1'), ['buffer_size_kb', 'snapshot', 'snapshot_raw', 'stats', 'trace', 'trace_pipe', 'trace_pipe_raw']);
    assert.deepEqual(fs.stat('per_cpu'), { type: 'dir', mode: 0o750 });
    assert.deepEqual(fs.stat('tracing_on'), { type: 'file', mode: 0o640 });

    assert.throws(() => fs.read('no_such_file'), errCode('ENOENT', /no_such_file/));
    assert.throws(() => fs.read('per_cpu/cpu2/stats'), errCode('ENOENT')); // cpus: 2 -> cpu0, cpu1
    assert.throws(() => fs.read('per_cpu/cpu01/stats'), errCode('ENOENT'));
    assert.throws(() => fs.ls('per_cpu/cpu2'), errCode('ENOENT'));
    assert.throws(() => fs.read('/sys/kernel/trace/tracing_on'), errCode('ENOENT'));
    assert.throws(() => fs.read('per_cpu'), errCode('EISDIR'));
    assert.throws(() => fs.read('/sys/kernel/tracing'), errCode('EISDIR'));
    assert.throws(() => fs.read('tracing_on/'), errCode('ENOTDIR'));
    assert.throws(() => fs.read('tracing_on/x'), errCode('ENOTDIR'));
    assert.throws(() => fs.ls('tracing_on'), errCode('ENOTDIR'));
    await assert.rejects(fs.write('per_cpu/cpu0', '1\n'), errCode('EISDIR'));
    await assert.rejects(fs.write('no_such_file', '1\n'), errCode('ENOENT'));
    assert.equal(fs.exists('per_cpu/cpu1/stats'), true);
    assert.equal(fs.exists('per_cpu/cpu2/stats'), false);
  });
});

test('tracing_on: 0 stops recording, any nonzero starts it; bad values are EINVAL and change nothing', async () => {
  await withMachine(SMALL, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('tracing_on'), '1\n');
    for (const bad of ['abc\n', ' 0\n', '0 \n', '-1\n', '', '\n', '0\n\n', '0x0\n', '1.5\n']) {
      await assert.rejects(fs.write('tracing_on', bad), errCode('EINVAL'), JSON.stringify(bad));
      assert.equal(fs.read('tracing_on'), '1\n');
    }
    // more than 64 bits: kstrtoul's ERANGE
    await assert.rejects(fs.write('tracing_on', '18446744073709551616\n'), errCode('ERANGE'));
    assert.equal(fs.read('tracing_on'), '1\n');
    await fs.write('tracing_on', '0\n');
    assert.equal(fs.read('tracing_on'), '0\n');
    assert.equal(m.buffer.recordIsSetOn, false);
    const off = await m.run(0, new Workload().write({ size: 16, count: 5 }));
    assert.equal(off.written, 0);
    assert.equal(off.failed, 5);
    assert.equal(entries(m, 0), 0);

    await fs.write('tracing_on', '7'); // any nonzero, no newline needed
    assert.equal(fs.read('tracing_on'), '1\n');
    const on = await m.run(0, new Workload().write({ size: 16, count: 5 }));
    assert.equal(on.written, 5);
    assert.equal(entries(m, 0), 5);

    await fs.write('/sys/kernel/debug/tracing/tracing_on', '+0\n', { append: true }); // `>>` is the same as `>`
    assert.equal(fs.read('tracing_on'), '0\n');
    await fs.write('tracing_on', '1\n');
    assert.equal(fs.read('tracing_on'), '1\n');
    assert.equal(entries(m, 0), 5); // switching recording keeps the data
  });
});

test('buffer_size_kb: size per CPU, resize all or one CPU ("X" when they differ), bad writes change nothing', async () => {
  await withMachine(SMALL, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('buffer_size_kb'), '19\n');
    assert.equal(fs.read('per_cpu/cpu0/buffer_size_kb'), '19\n');
    assert.equal(fs.read('per_cpu/cpu1/buffer_size_kb'), '19\n');
    assert.equal(fs.read('buffer_total_size_kb'), '38\n');
    assert.equal((await m.run(0, new Workload().write({ size: 16, count: 10 }))).written, 10);

    for (const bad of ['0\n', 'abc\n', '-5\n', '16 kb\n', ' 16\n', '']) {
      await assert.rejects(fs.write('buffer_size_kb', bad), errCode('EINVAL'), JSON.stringify(bad));
      await assert.rejects(fs.write('per_cpu/cpu1/buffer_size_kb', bad), errCode('EINVAL'), JSON.stringify(bad));
    }
    // more than the shared memory can hold: ENOMEM before anything is allocated
    await assert.rejects(fs.write('buffer_size_kb', '4000000000\n'), errCode('ENOMEM'));
    assert.equal(fs.read('buffer_size_kb'), '19\n');
    assert.equal(m.buffer.nrPages(0), 5);
    assert.equal(m.buffer.nrPages(1), 5);
    assert.equal(entries(m, 0), 10);

    // DIV_ROUND_UP(32768, 4080) = 9 pages = 36720 bytes -> 35; growing keeps the events
    await fs.write('buffer_size_kb', '32\n');
    assert.equal(fs.read('buffer_size_kb'), '35\n');
    assert.equal(fs.read('per_cpu/cpu1/buffer_size_kb'), '35\n');
    assert.equal(fs.read('buffer_total_size_kb'), '70\n');
    assert.equal(entries(m, 0), 10);

    // one CPU: DIV_ROUND_UP(8192, 4080) = 3 pages = 12240 bytes -> 11
    await fs.write('per_cpu/cpu1/buffer_size_kb', '8\n');
    assert.equal(fs.read('per_cpu/cpu1/buffer_size_kb'), '11\n');
    assert.equal(fs.read('per_cpu/cpu0/buffer_size_kb'), '35\n');
    assert.equal(fs.read('buffer_size_kb'), 'X\n');
    assert.equal(fs.read('buffer_total_size_kb'), '46\n');
    assert.equal(m.buffer.nrPages(1), 3);

    await fs.write('buffer_size_kb', '16', { append: true });
    assert.equal(fs.read('buffer_size_kb'), '19\n');
    assert.equal(entries(m, 0), 10);
  });
});

test('buffer_size_kb: the default 1408 KB request holds 354 pages of 4080 bytes, printed as 1410', async () => {
  await withMachine({ cpus: 1 }, async (m) => {
    assert.equal(m.fs.read('buffer_size_kb'), '1410\n');
    assert.equal(m.fs.read('buffer_total_size_kb'), '1410\n');
  });
});

test('per_cpu: a directory for every possible CPU, also one never online', async () => {
  await withMachine({ cpus: 3, online: [0, 1], bufferSizeKb: 16, clock: 'virtual' }, async (m) => {
    const fs = m.fs;
    assert.deepEqual(fs.ls('per_cpu'), ['cpu0', 'cpu1', 'cpu2']);
    assert.throws(() => fs.ls('per_cpu/cpu3'), errCode('ENOENT'));
    // the size it will get when it comes up; counted in the total like every possible CPU
    assert.equal(fs.read('per_cpu/cpu2/buffer_size_kb'), '19\n');
    assert.equal(fs.read('buffer_size_kb'), '19\n');
    assert.equal(fs.read('buffer_total_size_kb'), '57\n');
    assert.match(fs.read('per_cpu/cpu2/stats'), /^entries: 0\noverrun: 0\ncommit overrun: 0\nbytes: 0\n/);
    assert.throws(() => fs.readBinary('per_cpu/cpu2/trace_pipe_raw'), errCode('ENODEV'));

    await m.cpuUp(2);
    assert.equal(fs.read('per_cpu/cpu2/buffer_size_kb'), '19\n');
    assert.equal((await m.run(2, new Workload().write({ size: 16, count: 3 }))).written, 3);
    assert.match(fs.read('per_cpu/cpu2/stats'), /^entries: 3\n/);
    assert.equal(fs.readBinary('per_cpu/cpu2/trace_pipe_raw').byteLength, 4096);
  });
});

test('read-only files: writes are EACCES and change nothing', async () => {
  await withMachine(SMALL, async (m) => {
    const fs = m.fs;
    for (const p of ['buffer_total_size_kb', 'per_cpu/cpu0/stats', 'per_cpu/cpu0/trace_pipe_raw']) {
      assert.equal(fs.stat(p).mode, 0o440, p);
      await assert.rejects(fs.write(p, '1\n'), errCode('EACCES', /permission denied/), p);
    }
    assert.equal(fs.read('buffer_total_size_kb'), '38\n');
  });
});

test('buffer_subbuf_size_kb: KB rounded up to 2^order pages, order 0..7; a new size loses the data', async () => {
  await withMachine(SMALL, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('buffer_subbuf_size_kb'), '4\n');
    assert.equal((await m.run(0, new Workload().write({ size: 16, count: 10 }))).written, 10);

    for (const bad of ['0\n', '513\n', '1024\n', 'x\n', '-4\n', '']) {
      await assert.rejects(fs.write('buffer_subbuf_size_kb', bad), errCode('EINVAL'), JSON.stringify(bad));
    }
    assert.equal(fs.read('buffer_subbuf_size_kb'), '4\n');
    assert.equal(entries(m, 0), 10);

    // 3 KB rounds to one page: the same order, nothing happens
    await fs.write('buffer_subbuf_size_kb', '3\n');
    assert.equal(fs.read('buffer_subbuf_size_kb'), '4\n');
    assert.equal(entries(m, 0), 10);

    // 5 KB -> 2 pages -> order 1
    await fs.write('buffer_subbuf_size_kb', '5\n');
    assert.equal(fs.read('buffer_subbuf_size_kb'), '8\n');
    assert.equal(m.buffer.subbufSize, 8192);
    assert.equal(entries(m, 0), 0);
    assert.equal(m.buffer.recordIsOn, true); // tracing_start_tr() after the change
    assert.equal((await m.run(0, new Workload().write({ size: 16, count: 4 }))).written, 4);
    assert.equal(fs.readBinary('per_cpu/cpu0/trace_pipe_raw').byteLength, 8192);

    await fs.write('buffer_subbuf_size_kb', '512\n');
    assert.equal(fs.read('buffer_subbuf_size_kb'), '512\n');
    await fs.write('buffer_subbuf_size_kb', '1\n');
    assert.equal(fs.read('buffer_subbuf_size_kb'), '4\n');
    assert.equal(m.buffer.subbufSize, 4096);
  });
});

test('trace_clock: lists the clocks with the current one in brackets; a switch resets the buffer', async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 16 }, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('trace_clock'), '[local] global counter uptime perf mono mono_raw boot tai x86-tsc virtual\n');
    assert.match(fs.read('per_cpu/cpu0/stats'), /\noldest event ts: +\d+\.\d{6}\nnow ts: +\d+\.\d{6}\n/);
    assert.equal((await m.run(0, new Workload().write({ size: 16, count: 10 }))).written, 10);

    for (const bad of ['bogus\n', 'Local\n', 'local global\n', `${'x'.repeat(64)}`, '']) {
      await assert.rejects(fs.write('trace_clock', bad), errCode('EINVAL'), JSON.stringify(bad));
    }
    assert.equal(fs.read('trace_clock'), '[local] global counter uptime perf mono mono_raw boot tai x86-tsc virtual\n');
    assert.equal(entries(m, 0), 10);

    await fs.write('trace_clock', 'global\n');
    assert.equal(fs.read('trace_clock'), 'local [global] counter uptime perf mono mono_raw boot tai x86-tsc virtual\n');
    assert.equal(m.buffer.clock.name, 'global');
    assert.equal(entries(m, 0), 0);

    // whitespace around the name is stripped (strstrip)
    await fs.write('/sys/kernel/tracing/trace_clock', '\t counter \n');
    assert.equal(fs.read('trace_clock'), 'local global [counter] uptime perf mono mono_raw boot tai x86-tsc virtual\n');
    assert.equal((await m.run(1, new Workload().write({ size: 16, count: 2 }))).written, 2);
    // counter is not in ns: plain numbers in stats
    assert.match(fs.read('per_cpu/cpu1/stats'), /^entries: 2\n(.*\n){3}oldest event ts: \d+\nnow ts: \d+\n/);

    // the rest of the kernel's list: each records on its host clock; uptime and x86-tsc are not in ns
    for (const name of ['uptime', 'perf', 'mono', 'mono_raw', 'boot', 'tai', 'x86-tsc']) {
      await fs.write('trace_clock', `${name}\n`);
      assert.equal(m.buffer.clock.name, name);
      assert.equal((await m.run(0, new Workload().write({ size: 16, count: 3 }))).written, 3, name);
    }
    const tai = m.buffer.peek(0)!.ts;
    assert.ok(tai >= 0);
    await fs.write('trace_clock', 'tai\n');
    await m.run(0, new Workload().write({ size: 16, count: 1 }));
    // TAI: nanoseconds since 1970 (plus 37 s), so well past 2020
    assert.ok(m.buffer.peek(0)!.ts > 1.6e18);
  });
});

test('options/overwrite: 0 or 1 only', async () => {
  await withMachine(SMALL, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('options/overwrite'), '1\n');
    for (const bad of ['2\n', 'on\n', '-1\n', ' 0\n', '']) {
      await assert.rejects(fs.write('options/overwrite', bad), errCode('EINVAL'), JSON.stringify(bad));
      assert.equal(fs.read('options/overwrite'), '1\n');
    }
    await fs.write('options/overwrite', '0\n');
    assert.equal(fs.read('options/overwrite'), '0\n');
    assert.equal(m.buffer.overwrite, false);
    await fs.write('options/overwrite', '1');
    assert.equal(fs.read('options/overwrite'), '1\n');
    assert.equal(m.buffer.overwrite, true);
  });
});

test('per_cpu/cpuN/stats: tracing_stats_read()\'s lines and numbers', async () => {
  await withMachine(SMALL, async (m) => {
    assert.equal((await m.run(1, new Workload().write({ size: 16, count: 10 }))).written, 10);
    const text = m.fs.read('per_cpu/cpu1/stats');
    const s = m.buffer.stats(1);
    assert.equal(s.entries, 10);
    assert.equal(
      text,
      `entries: 10\noverrun: 0\ncommit overrun: 0\nbytes: ${s.bytes}\n` +
        `oldest event ts: ${formatSecUsec(s.oldestEventTs)}\nnow ts: ${formatSecUsec(s.nowTs)}\n` +
        `dropped events: 0\nread events: 0\n`,
    );
    assert.match(text, /^entries: 10\noverrun: 0\ncommit overrun: 0\nbytes: [1-9]\d*\noldest event ts: {5}\d\.\d{6}\nnow ts: {5}\d\.\d{6}\ndropped events: 0\nread events: 0\n$/);
    assert.match(m.fs.read('per_cpu/cpu0/stats'), /^entries: 0\n/);
  });
});

test('stats time format: ns2usecs rounding and %5llu.%06lu', () => {
  assert.equal(ns2usecs(499), 0);
  assert.equal(ns2usecs(500), 1);
  assert.equal(formatSecUsec(0), '    0.000000');
  assert.equal(formatSecUsec(123_456_789), '    0.123457');
  assert.equal(formatSecUsec(1_999_999_500), '    2.000000');
  assert.equal(formatSecUsec(96955_082_688_000), '96955.082688');
  assert.equal(formatSecUsec(123456_000_000_000), '123456.000000');
});

test('kstrtoul_from_user: optional +, decimal digits, one optional newline', () => {
  assert.equal(kstrtoulFromUser('42\n'), 42n);
  assert.equal(kstrtoulFromUser('+42'), 42n);
  assert.equal(kstrtoulFromUser('18446744073709551615\n'), 18446744073709551615n);
  assert.equal(kstrtoulFromUser('7\0junk'), 7n); // a C string ends at NUL
  for (const bad of ['', '\n', ' 1', '1 ', '1\n\n', '0x10', '-1', '1e3', '１']) {
    assert.throws(() => kstrtoulFromUser(bad), errCode('EINVAL'), JSON.stringify(bad));
  }
  assert.throws(() => kstrtoulFromUser('18446744073709551616\n'), errCode('ERANGE'));
});

test('per_cpu/cpuN/trace_pipe_raw: whole sub-buffers with the kernel header, consumed', async () => {
  await withMachine(SMALL, async (m) => {
    const fs = m.fs;
    assert.equal(fs.readBinary('per_cpu/cpu0/trace_pipe_raw').byteLength, 0);
    assert.throws(() => fs.read('per_cpu/cpu0/trace_pipe_raw'), errCode('EINVAL', /readBinary/));

    // 300 events of 16 + 4 bytes fill more than one 4080-byte sub-buffer
    assert.equal((await m.run(0, new Workload().write({ size: 16, count: 300 }))).written, 300);
    const before = m.buffer.stats(0);
    assert.equal(before.entries, 300);
    const raw = fs.readBinary('/sys/kernel/tracing/per_cpu/cpu0/trace_pipe_raw');
    assert.ok(raw.byteLength >= 2 * 4096);
    assert.equal(raw.byteLength % 4096, 0);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let dataBytes = 0;
    let lastTs = 0n;
    for (let off = 0; off < raw.byteLength; off += 4096) {
      const ts = dv.getBigUint64(off, true); // buffer_data_page.time_stamp
      const commit = dv.getBigUint64(off + 8, true); // .commit: data bytes, RB_MISSED_* flags in bits 31, 30
      const len = Number(commit & 0x3fffffffn);
      assert.ok(ts > 0n && ts >= lastTs, `page at ${off}: time_stamp ${ts}`);
      assert.ok(len > 0 && len <= 4080, `page at ${off}: commit ${commit}`);
      lastTs = ts;
      dataBytes += len;
    }
    assert.equal(dataBytes, before.bytes);
    const after = m.buffer.stats(0);
    assert.equal(after.entries, 0);
    assert.equal(after.readEvents, 300);
    assert.match(fs.read('per_cpu/cpu0/stats'), /^entries: 0\n/);
    assert.equal(fs.readBinary('per_cpu/cpu0/trace_pipe_raw').byteLength, 0);
    // the other CPU is untouched
    assert.equal(fs.readBinary('per_cpu/cpu1/trace_pipe_raw').byteLength, 0);
  });
});

test('writes are serialised and a failed one does not block the next', async () => {
  await withMachine(SMALL, async (m) => {
    const fs = m.fs;
    const results = await Promise.allSettled([
      fs.write('buffer_size_kb', '32\n'),
      fs.write('buffer_size_kb', 'bad\n'),
      fs.write('trace_clock', 'counter\n'),
      fs.write('per_cpu/cpu0/buffer_size_kb', '8\n'),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    assert.equal(fs.read('per_cpu/cpu0/buffer_size_kb'), '11\n');
    assert.equal(fs.read('per_cpu/cpu1/buffer_size_kb'), '35\n');
    assert.equal(fs.read('trace_clock'), 'local global [counter] uptime perf mono mono_raw boot tai x86-tsc virtual\n');
  });
});
