// user_events: registration with the kernel's field syntax and its errors, the event directory and
// format, the enable state a writer checks, refused writes while disabled, the typed writer from a
// JavaScript thread attached as a CPU, and decoding with the format file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withMachine, errCode } from './helpers.ts';
import { COMMON } from './event-format.ts';
import { decodePage, dataEvents } from './decode.ts';

const OPTS = { cpus: 2, bufferSizeKb: 16, clock: 'virtual' } as const;


test('dynamic_events: u:NAME FIELDS creates, !u:NAME deletes; the format is packed after trace_entry', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('dynamic_events', 'u:test_event u32 count;char[20] msg;__data_loc char[] path;s64 delta\n');
    assert.equal(fs.read('dynamic_events'), 'u:test_event u32 count; char[20] msg; __data_loc char[] path; s64 delta\n');
    assert.deepEqual(fs.ls('events/user_events/test_event'), ['enable', 'filter', 'format', 'id', 'trigger']);
    const id = Number(fs.read('events/user_events/test_event/id'));
    assert.ok(id >= 21);
    assert.equal(
      fs.read('events/user_events/test_event/format'),
      `name: test_event\nID: ${id}\nformat:\n${COMMON}\n` +
        '\tfield:u32 count;\toffset:8;\tsize:4;\tsigned:0;\n' +
        '\tfield:char msg[20];\toffset:12;\tsize:20;\tsigned:0;\n' +
        '\tfield:__data_loc char[] path;\toffset:32;\tsize:4;\tsigned:0;\n' +
        '\tfield:s64 delta;\toffset:36;\tsize:8;\tsigned:1;\n\n' +
        'print fmt: "count=%u msg=%s path=%s delta=%lld", REC->count, REC->msg, __get_str(path), REC->delta\n',
    );
    assert.match(fs.read('available_events'), /^user_events:test_event$/m);
    // the same definition again is the same event; another one is EADDRINUSE
    await fs.write('dynamic_events', 'u:test_event u32 count;char[20] msg;__data_loc char[] path;s64 delta\n', { append: true });
    await assert.rejects(fs.write('dynamic_events', 'u:test_event u64 count\n', { append: true }), errCode('EADDRINUSE'));
    await assert.rejects(fs.write('dynamic_events', 'u:bad float x\n', { append: true }), errCode('EINVAL'));
    await assert.rejects(fs.write('dynamic_events', 'u:9bad u32 x\n', { append: true }), errCode('EINVAL'));
    await assert.rejects(fs.write('dynamic_events', 'p:kprobe do_sys_open\n', { append: true }), errCode('EINVAL'));
    await assert.rejects(fs.write('dynamic_events', '!u:nothing\n', { append: true }), errCode('ENOENT'));
    await fs.write('events/user_events/test_event/enable', '1\n');
    await assert.rejects(fs.write('dynamic_events', '!u:test_event\n', { append: true }), errCode('EBUSY'));
    await fs.write('events/user_events/test_event/enable', '0\n');
    await fs.write('dynamic_events', '!u:test_event\n', { append: true });
    assert.equal(fs.read('dynamic_events'), '');
    assert.equal(fs.exists('events/user_events'), false);
  });
});

test('typed API: the enable state, EBADF while disabled, writes from a JavaScript writer, trace output', async () => {
  await withMachine(OPTS, async (m) => {
    const ev = m.events.userEvents.register('app_request u32 status; __data_loc char[] route; u64 usecs');
    assert.equal(ev.enabled, false);
    await assert.rejects(ev.write({ status: 200, route: '/', usecs: 3 }), errCode('EBADF'));
    const w = m.attachWriter(0);
    try {
      const write = ev.writer(w);
      assert.equal(write({ status: 200, route: '/x', usecs: 5 }), false, 'refused while disabled');
      await m.fs.write('events/user_events/app_request/enable', '1\n');
      assert.equal(ev.enabled, true);
      assert.equal(write({ status: 404, route: '/missing', usecs: 12 }), true);
      await m.fs.write('events/user_events/app_request/filter', 'status >= 500\n');
      assert.equal(write({ status: 200, route: '/ok', usecs: 1 }), true);
      assert.equal(write({ status: 503, route: '/down', usecs: 2 }), true);
      const raw = ev.rawWriter(w);
      assert.equal(raw(ev.encode({ status: 500, route: '/raw', usecs: 7 })), true);
    } finally {
      w.release();
    }
    const out = m.fs.read('trace').split('\n').filter((l) => l && !l.startsWith('#'));
    assert.equal(out.length, 3);
    assert.match(out[0], /app_request: status=0x194 \(404\) route=\/missing usecs=0xc \(12\)$/);
    assert.match(out[1], /app_request: status=0x1f7 \(503\) route=\/down usecs=0x2 \(2\)$/);
    await m.fs.write('events/user_events/app_request/enable', '0\n');
    await assert.rejects(m.events.userEvents.unregister('app_request'), errCode('EBUSY'));
  });
});

test('a user event decodes from the page with its format file alone', async () => {
  await withMachine(OPTS, async (m) => {
    const ev = m.events.userEvents.register('sample u16 a;char[8] tag;__data_loc char[] note');
    await m.fs.write('events/user_events/sample/enable', '1\n');
    await ev.write({ a: 0xbeef, tag: 'tg', note: 'hello world' }, { cpu: 1 });
    const page = m.fs.readBinary('per_cpu/cpu1/trace_pipe_raw');
    const [e] = dataEvents(decodePage(page.subarray(0, 4096)));
    const fmt = m.fs.read('events/user_events/sample/format');
    const field = (n: string) => {
      const mm = new RegExp(`field:[^;]* ${n}(\\[\\d*\\])?;\\toffset:(\\d+);\\tsize:(\\d+);`).exec(fmt)!;
      return { offset: Number(mm[2]), size: Number(mm[3]) };
    };
    const dv = new DataView(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    assert.equal(dv.getUint16(0, true), Number(/ID: (\d+)/.exec(fmt)![1]));
    assert.equal(dv.getUint16(field('a').offset, true), 0xbeef);
    assert.equal(new TextDecoder().decode(e.data.subarray(field('tag').offset, field('tag').offset + 2)), 'tg');
    const loc = dv.getUint32(field('note').offset, true);
    assert.equal(new TextDecoder().decode(e.data.subarray(loc & 0xffff, (loc & 0xffff) + (loc >>> 16) - 1)), 'hello world');
  });
});

// a write(2) to user_events_data: the write index, then the record
function indexed(idx: number, payload: number[]): Uint8Array {
  const b = new Uint8Array(4 + payload.length);
  new DataView(b.buffer).setInt32(0, idx, true);
  b.set(payload, 4);
  return b;
}

test('user_events_data: DIAG_IOCSREG gives a write index and an enable bit, writes refused with the kernel errnos', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const data = m.events.userEvents.open();
    const words = new Int32Array(new SharedArrayBuffer(8));
    const a = data.register({ nameArgs: 'app_a u32 value', enable: { array: words, index: 0, bit: 3 } });
    const b = data.register({ nameArgs: 'app_b u16 x;u16 y', enable: { array: words, index: 1, bit: 0 } });
    assert.deepEqual([a, b], [0, 1]);
    // the same event again keeps its index; a word and bit reflect one event only
    const wide = new BigUint64Array(1);
    assert.equal(data.register({ nameArgs: 'app_a u32 value', enable: { array: wide, index: 0, bit: 63 } }), 0);
    assert.throws(() => data.register({ nameArgs: 'app_c u32 v', enable: { array: words, index: 0, bit: 3 } }), errCode('EADDRINUSE'));
    assert.throws(() => data.register({ nameArgs: 'app_a u64 value', enable: { array: words, index: 0, bit: 4 } }), errCode('EADDRINUSE'));
    assert.throws(() => data.register({ nameArgs: 'app_c u32 v', enable: { array: words, index: 0, bit: 32 } }), errCode('EINVAL'));
    assert.throws(() => data.register({ nameArgs: 'app_c u32 v', enable: { array: words, index: 0, bit: 5 }, flags: 4 }), errCode('EINVAL'));
    assert.throws(() => data.register({ nameArgs: 'app_c u32 v', enable: { array: words, index: 2, bit: 5 } }), errCode('EFAULT'));
    assert.equal(words[0], 0, 'nothing traces app_a yet');
    assert.equal(fs.read('user_events_status'), 'app_a\napp_b\n\nActive: 2\nBusy: 0\n');
    // disabled: EBADF; bad index: EINVAL / ENOENT; short record: EINVAL
    await assert.rejects(data.write(indexed(a, [1, 0, 0, 0])), errCode('EBADF'));
    await fs.write('events/user_events/app_a/enable', '1\n');
    assert.equal(words[0], 1 << 3, 'the kernel sets the bit when a tool attaches');
    assert.equal(wide[0], 1n << 63n);
    assert.equal(fs.read('user_events_status'), 'app_a # Used by ftrace\napp_b\n\nActive: 2\nBusy: 1\n');
    await assert.rejects(data.write(indexed(-1, [1, 0, 0, 0])), errCode('EINVAL'));
    await assert.rejects(data.write(indexed(7, [1, 0, 0, 0])), errCode('ENOENT'));
    await assert.rejects(data.write(indexed(a, [1, 0])), errCode('EINVAL'));
    await assert.rejects(data.write(new Uint8Array(2)), errCode('EFAULT'));
    assert.equal(await data.write(indexed(a, [42, 0, 0, 0])), 8);
    assert.match(fs.read('trace'), /app_a: value=0x2a \(42\)\n$/);
    // DIAG_IOCSUNREG: the bit is cleared and no longer follows the event
    await data.unregister({ array: words, index: 0, bit: 3 });
    assert.equal(words[0], 0);
    await assert.rejects(data.unregister({ array: words, index: 0, bit: 3 }), errCode('ENOENT'));
    await fs.write('events/user_events/app_a/enable', '0\n');
    assert.equal(wide[0], 0n);
    // DIAG_IOCSDEL while this file holds it: EBUSY; closing drops the references and deletes what
    // nothing else holds (app_a was not registered persistent)
    await assert.rejects(data.delete('app_a'), errCode('EBUSY'));
    // enablers belong to the program (its mm), not to the file: they hold their events past close
    await data.unregister({ array: wide, index: 0, bit: 63 });
    await data.close();
    assert.ok(fs.exists('events/user_events/app_b'));
    await m.events.userEvents.open().unregister({ array: words, index: 1, bit: 0 });
    assert.equal(fs.exists('events/user_events/app_a'), false);
    assert.equal(fs.read('user_events_status'), '\nActive: 0\nBusy: 0\n');
    await assert.rejects(data.write(indexed(a, [1, 0, 0, 0])), errCode('EBADF'));
    // a persistent event stays after close
    const keep = m.events.userEvents.open();
    keep.register({ nameArgs: 'app_p u32 v', enable: { array: words, index: 1, bit: 1 }, flags: 1 });
    await keep.unregister({ array: words, index: 1, bit: 1 });
    await keep.close();
    assert.ok(fs.exists('events/user_events/app_p'));
    await m.events.userEvents.open().delete('app_p');
    assert.equal(fs.exists('events/user_events/app_p'), false);
  });
});
