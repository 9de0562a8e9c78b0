// Records of tracers this machine does not have yet (function_graph's funcgraph_entry/exit, the
// trace_marker's print), written raw in the kernel's layout (trace_entries.h) on real pages and
// described by format files like the kernel's, for the trace.dat and Perfetto tests.
import assert from 'node:assert/strict';
import { Workload, type RingMachine } from '../src/index.ts';

// enum trace_type: TRACE_PRINT 5, TRACE_GRAPH_RET 10, TRACE_GRAPH_ENT 11
const COMMON = [
  '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;',
  '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;',
  '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;',
  '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;',
  '',
].join('\n');
const FORMATS = [
  `name: funcgraph_entry\nID: 11\nformat:\n${COMMON}\n\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:int depth;\toffset:16;\tsize:4;\tsigned:1;\n\nprint fmt: "--> %ps (%d)", (void *)REC->func, REC->depth\n`,
  `name: funcgraph_exit\nID: 10\nformat:\n${COMMON}\n\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:int depth;\toffset:16;\tsize:4;\tsigned:1;\n\tfield:unsigned int overrun;\toffset:20;\tsize:4;\tsigned:0;\n\tfield:unsigned long long calltime;\toffset:24;\tsize:8;\tsigned:0;\n\tfield:unsigned long long rettime;\toffset:32;\tsize:8;\tsigned:0;\n\nprint fmt: "<-- %ps (%d) (start: %llx  end: %llx) over: %d", (void *)REC->func, REC->depth, REC->calltime, REC->rettime, REC->overrun\n`,
  `name: print\nID: 5\nformat:\n${COMMON}\n\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:char buf[];\toffset:16;\tsize:0;\tsigned:1;\n\nprint fmt: "%ps: %s", (void *)REC->ip, REC->buf\n`,
];

function entry(type: number, pid: number, size: number): { bytes: Uint8Array; dv: DataView } {
  const bytes = new Uint8Array(size);
  const dv = new DataView(bytes.buffer);
  dv.setUint16(0, type, true);
  dv.setInt32(4, pid, true);
  return { bytes, dv };
}

function graphEnt(pid: number, func: bigint, depth: number): Uint8Array {
  const e = entry(11, pid, 24);
  e.dv.setBigUint64(8, func, true);
  e.dv.setInt32(16, depth, true);
  return e.bytes;
}

function graphRet(pid: number, func: bigint, depth: number, calltime: bigint, rettime: bigint): Uint8Array {
  const e = entry(10, pid, 40);
  e.dv.setBigUint64(8, func, true);
  e.dv.setInt32(16, depth, true);
  e.dv.setBigUint64(24, calltime, true);
  e.dv.setBigUint64(32, rettime, true);
  return e.bytes;
}

function print(pid: number, ip: bigint, text: string): Uint8Array {
  const t = new TextEncoder().encode(text + '\n\0');
  const e = entry(5, pid, 16 + t.length);
  e.dv.setBigUint64(8, ip, true);
  e.bytes.set(t, 16);
  return e.bytes;
}

// CPU 0: bash calls vfs_read -> rw_verify_area (a leaf), a marker, then schedule (left open); CPU 1:
// the return of schedule whose entry was not recorded, then a function-tracer call of vfs_write.
export async function graphTrace(m: RingMachine) {
  const ft = m.ftrace;
  const [a, b, c] = ['vfs_read', 'rw_verify_area', 'schedule'].map((n) => ft.lookupName(n)[0].ip);
  // current_tracer resets the buffers: first, then the raw records
  await m.fs.write('current_tracer', 'function\n');
  await m.run(0, new Workload().task(1234, 'bash').task(0, '<idle>'));
  const rec = m.record();
  const w0 = m.attachWriter(0);
  try {
    for (const ev of [graphEnt(1234, a, 0), graphEnt(1234, b, 1), graphRet(1234, b, 1, 1_500n, 12_000n), print(1234, a, 'hello marker'), graphRet(1234, a, 0, 1_000n, 250_000n), graphEnt(1234, c, 0)]) {
      assert.equal(w0.write(ev), true);
    }
  } finally {
    w0.release();
  }
  const w1 = m.attachWriter(1);
  try {
    // an exit whose entry was not recorded: a complete slice from calltime to rettime
    assert.equal(w1.write(graphRet(0, c, 0, 5_000n, 7_500n)), true);
  } finally {
    w1.release();
  }
  await m.run(1, new Workload().call('vfs_write', { parent: 'ksys_write' }));
  const dat = rec.stop();
  dat.ftraceFormats = [...dat.ftraceFormats.filter((f) => !/^name: (funcgraph_entry|funcgraph_exit|print)$/m.test(f)), ...FORMATS];
  return dat;
}

