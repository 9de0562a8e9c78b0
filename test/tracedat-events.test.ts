// Event formats and their print fmt as libtraceevent reads them, without a machine: fields of every
// declaration form, printf conversions, symbols, and the fallback to name=value pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kallsyms, parseEventFormat, printFields, printFormatted } from '../src/tracedat/events.ts';

const COMMON =
  '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n' +
  '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n' +
  '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n' +
  '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n';

const FORMAT =
  `name: demo\nID: 900\nformat:\n${COMMON}\n` +
  '\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n' +
  '\tfield:__data_loc char[] path;\toffset:24;\tsize:4;\tsigned:0;\n' +
  '\tfield:unsigned long ip;\toffset:32;\tsize:8;\tsigned:0;\n' +
  '\tfield:int delta;\toffset:40;\tsize:4;\tsigned:1;\n' +
  '\tfield:unsigned char ch;\toffset:44;\tsize:1;\tsigned:0;\n' +
  '\tfield:char buf[];\toffset:45;\tsize:0;\tsigned:1;\n\n' +
  'print fmt: "%-6s|%s|%pS|%ps|%08lx|%#x|%d|%u|%c|%s|%%", REC->comm, __get_str(path), (void *)REC->ip, (void *)REC->ip, REC->ip, REC->delta, REC->delta, (unsigned int)REC->delta, REC->ch, REC->buf\n';

function record(): Uint8Array {
  const path = new TextEncoder().encode('/etc\0');
  const buf = new TextEncoder().encode('tail\0');
  const data = new Uint8Array(52 + path.length);
  const dv = new DataView(data.buffer);
  dv.setUint16(0, 900, true);
  data.set(new TextEncoder().encode('sh'), 8);
  dv.setUint32(24, (path.length << 16) | 52, true);
  dv.setBigUint64(32, 0xffffffff81000010n, true);
  dv.setInt32(40, -5, true);
  data[44] = 0x41;
  data.set(buf, 45);
  data.set(path, 52);
  return data;
}

test('events: every declaration form parses to its name, place and kind', () => {
  const ev = parseEventFormat(FORMAT, 'demo_sys');
  assert.equal(ev.id, 900);
  assert.deepEqual(ev.fields.map((f) => [f.name, f.offset, f.size, f.common, f.dataLoc, f.array]), [
    ['common_type', 0, 2, true, false, false],
    ['common_flags', 2, 1, true, false, false],
    ['common_preempt_count', 3, 1, true, false, false],
    ['common_pid', 4, 4, true, false, false],
    ['comm', 8, 16, false, false, true],
    ['path', 24, 4, false, true, false],
    ['ip', 32, 8, false, false, false],
    ['delta', 40, 4, false, false, false],
    ['ch', 44, 1, false, false, false],
    ['buf', 45, 0, false, false, true],
  ]);
  assert.equal(ev.printArgs.length, 10);
  assert.throws(() => parseEventFormat('format:\n', 'x'), /without name or ID/);
});

test('events: print fmt conversions, symbols with offsets, and the name=value fallback', () => {
  const ev = parseEventFormat(FORMAT, 'demo_sys');
  const syms = new Kallsyms('ffffffff81000000 T start_kernel\nffffffff81000100 t later\tmod\n');
  assert.equal(printFormatted(ev, record(), syms), 'sh    |/etc|start_kernel+0x10|start_kernel|ffffffff81000010|0xfffffffb|-5|4294967291|A|tail|%');
  const wide = { ...ev, printArgs: ['REC->ip', 'REC->delta'], printFmt: 'delay=%Lu [ns] %lld' };
  assert.equal(printFormatted(wide, record(), syms), 'delay=18446744071578845200 [ns] -5');
  const odd = { ...ev, printArgs: ['REC->comm + 1'], printFmt: '%d' };
  assert.equal(printFormatted(odd, record(), syms), null);
  assert.equal(printFields(ev, record()), 'comm=sh path=/etc ip=0xffffffff81000010 delta=-5 ch=0x41 buf=tail');
  assert.equal(syms.functionAt(0xffffffff81000100n)?.name, 'later');
  assert.equal(syms.functionAt(0xffffffff80000000n), null);
});
