// Records the machine's tracers do not produce (a graph return whose entry was lost, trace_marker's
// print, sched_switch and sched_wakeup, which no event layer writes yet), written raw in the kernel's
// layout (trace_entries.h, include/trace/events/sched.h) on real pages and described by format files
// like the kernel's, for the trace.dat and Perfetto tests.
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


// include/trace/events/sched.h as tracefs prints it (the prev_state letters from TASK_REPORT)
const SCHED_FORMATS = [
  `name: sched_switch\nID: 316\nformat:\n${COMMON}\n\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n\n` +
    'print fmt: "prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1), "|", { 0x00000001, "S" }, { 0x00000002, "D" }, { 0x00000004, "T" }, { 0x00000008, "t" }, { 0x00000010, "X" }, { 0x00000020, "Z" }, { 0x00000040, "P" }, { 0x00000080, "I" }) : "R", REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? "+" : "", REC->next_comm, REC->next_pid, REC->next_prio\n',
  `name: sched_process_exec\nID: 312\nformat:\n${COMMON}\n\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n\nprint fmt: "filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid\n`,
  `name: sched_waking\nID: 319\nformat:\n${COMMON}\n\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n\tfield:int target_cpu;\toffset:32;\tsize:4;\tsigned:1;\n\nprint fmt: "comm=%s pid=%d prio=%d target_cpu=%03d", REC->comm, REC->pid, REC->prio, REC->target_cpu\n`,
  `name: sched_wakeup\nID: 318\nformat:\n${COMMON}\n\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prio;\toffset:28;\tsize:4;\tsigned:1;\n\tfield:int target_cpu;\toffset:32;\tsize:4;\tsigned:1;\n\nprint fmt: "comm=%s pid=%d prio=%d target_cpu=%03d", REC->comm, REC->pid, REC->prio, REC->target_cpu\n`,
];

// kernel_stack (TRACE_STACK) as the kernel describes struct stack_entry
const STACK_FORMAT = `name: kernel_stack\nID: 4\nformat:\n${COMMON}\n\tfield:int size;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:unsigned long caller[8];\toffset:16;\tsize:64;\tsigned:0;\n\nprint fmt: "\\t=> %ps\\n\\t=> %ps\\n\\t=> %ps\\n", (void *)REC->caller[0], (void *)REC->caller[1], (void *)REC->caller[2]\n`;

function comm16(bytes: Uint8Array, at: number, name: string): void {
  bytes.set(new TextEncoder().encode(name).subarray(0, 15), at);
}

function schedSwitch(pid: number, prev: [string, number, number, bigint], next: [string, number, number]): Uint8Array {
  const e = entry(316, pid, 64);
  comm16(e.bytes, 8, prev[0]);
  e.dv.setInt32(24, prev[1], true);
  e.dv.setInt32(28, prev[2], true);
  e.dv.setBigInt64(32, prev[3], true);
  comm16(e.bytes, 40, next[0]);
  e.dv.setInt32(56, next[1], true);
  e.dv.setInt32(60, next[2], true);
  return e.bytes;
}

function schedExec(pid: number, filename: string, oldPid: number): Uint8Array {
  const name = new TextEncoder().encode(filename + '\0');
  const e = entry(312, pid, 20 + name.length);
  e.dv.setUint32(8, (name.length << 16) | 20, true); // __data_loc: length << 16 | offset
  e.dv.setInt32(12, pid, true);
  e.dv.setInt32(16, oldPid, true);
  e.bytes.set(name, 20);
  return e.bytes;
}

function schedWakeup(pid: number, comm: string, wpid: number, prio: number, cpu: number, id = 318): Uint8Array {
  const e = entry(id, pid, 36);
  comm16(e.bytes, 8, comm);
  e.dv.setInt32(24, wpid, true);
  e.dv.setInt32(28, prio, true);
  e.dv.setInt32(32, cpu, true);
  return e.bytes;
}

// CPU 0: a wakeup, switches (sleeping, running, two state bits) naming a task saved_cmdlines does not
// know, then a function call with its stack trace (the stacktrace function command).
export async function schedTrace(m: RingMachine) {
  await m.fs.write('current_tracer', 'function\n');
  await m.fs.write('set_ftrace_filter', 'vfs_read\n');
  await m.fs.write('set_ftrace_filter', 'vfs_read:stacktrace\n', { append: true });
  await m.run(0, new Workload().task(1234, 'bash'));
  const rec = m.record();
  const w = m.attachWriter(0);
  try {
    for (const ev of [
      schedExec(1234, '/usr/bin/make', 1234),
      schedWakeup(1234, 'kworker/0:1', 4321, 120, 7, 319),
      schedWakeup(1234, 'kworker/0:1', 4321, 120, 0),
      schedSwitch(1234, ['bash', 1234, 120, 1n], ['kworker/0:1', 4321, 120]),
      schedSwitch(4321, ['kworker/0:1', 4321, 120, 0n], ['swapper/0', 0, 120]),
      schedSwitch(0, ['swapper/0', 0, 120, 0x102n], ['bash', 1234, 120]),
    ]) assert.equal(w.write(ev), true);
  } finally {
    w.release();
  }
  await m.run(0, new Workload().task(1234, 'bash').call('vfs_read', { parent: 'ksys_read' }));
  const dat = rec.stop();
  dat.ftraceFormats = [...dat.ftraceFormats.filter((f) => !/^name: kernel_stack$/m.test(f)), STACK_FORMAT];
  dat.eventSystems = [...dat.eventSystems.filter((s) => s.name !== 'sched'), { name: 'sched', formats: SCHED_FORMATS }];
  return dat;
}
