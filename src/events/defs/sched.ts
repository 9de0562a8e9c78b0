// include/trace/events/sched.h: the scheduler's events as a 6.x x86-64 kernel defines them
import { type EventDef, layoutFields } from '../types.ts';

const TASK_REPORT = '(0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040)';
const STATE_MASK = `(((${TASK_REPORT} + 1) << 1) - 1)`;
const STATE_FLAGS: readonly [number, string][] = [[1, 'S'], [2, 'D'], [4, 'T'], [8, 't'], [0x10, 'X'], [0x20, 'Z'], [0x40, 'P'], [0x80, 'I']];
const TASK_REPORT_MAX = 0x100n;

// __print_flags(prev_state & (TASK_REPORT_MAX - 1), "|", ...) or "R", then "+" when preempted
function prevState(state: bigint): string {
  const s = Number(state & (TASK_REPORT_MAX - 1n));
  const names = STATE_FLAGS.filter(([bit]) => s & bit).map(([, n]) => n);
  const rest = STATE_FLAGS.reduce((m, [bit]) => m & ~bit, s);
  if (rest) names.push(`0x${rest.toString(16)}`);
  return (s ? names.join('|') : 'R') + (state & TASK_REPORT_MAX ? '+' : '');
}

// DECLARE_EVENT_CLASS(sched_wakeup_template)
const wakeupTemplate = (name: string): EventDef => ({
  system: 'sched',
  name,
  fields: layoutFields([
    { type: 'char', name: 'comm', len: 16 },
    { type: 'pid_t', name: 'pid' },
    { type: 'int', name: 'prio' },
    { type: 'int', name: 'target_cpu' },
  ]),
  printFmt: '"comm=%s pid=%d prio=%d target_cpu=%03d", REC->comm, REC->pid, REC->prio, REC->target_cpu',
  printArgs: (r) => `comm=${r.str('comm')} pid=${r.num('pid')} prio=${r.num('prio')} target_cpu=${String(r.num('target_cpu')).padStart(3, '0')}`,
});

// DECLARE_EVENT_CLASS(sched_process_template)
const processTemplate = (name: string): EventDef => ({
  system: 'sched',
  name,
  fields: layoutFields([
    { type: 'char', name: 'comm', len: 16 },
    { type: 'pid_t', name: 'pid' },
    { type: 'int', name: 'prio' },
  ]),
  printFmt: '"comm=%s pid=%d prio=%d", REC->comm, REC->pid, REC->prio',
  printArgs: (r) => `comm=${r.str('comm')} pid=${r.num('pid')} prio=${r.num('prio')}`,
});

export const SCHED_EVENTS: readonly EventDef[] = [
  {
    system: 'sched',
    name: 'sched_switch',
    fields: layoutFields([
      { type: 'char', name: 'prev_comm', len: 16 },
      { type: 'pid_t', name: 'prev_pid' },
      { type: 'int', name: 'prev_prio' },
      { type: 'long', name: 'prev_state' },
      { type: 'char', name: 'next_comm', len: 16 },
      { type: 'pid_t', name: 'next_pid' },
      { type: 'int', name: 'next_prio' },
    ]),
    printFmt:
      '"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", ' +
      'REC->prev_comm, REC->prev_pid, REC->prev_prio, ' +
      `(REC->prev_state & ${STATE_MASK}) ? __print_flags(REC->prev_state & ${STATE_MASK}, "|", ` +
      `${STATE_FLAGS.map(([b, n]) => `{ 0x${b.toString(16).padStart(8, '0')}, "${n}" }`).join(', ')}) : "R", ` +
      `REC->prev_state & ((${TASK_REPORT} + 1) << 1) ? "+" : "", REC->next_comm, REC->next_pid, REC->next_prio`,
    printArgs: (r) =>
      `prev_comm=${r.str('prev_comm')} prev_pid=${r.num('prev_pid')} prev_prio=${r.num('prev_prio')} prev_state=${prevState(r.num('prev_state'))}` +
      ` ==> next_comm=${r.str('next_comm')} next_pid=${r.num('next_pid')} next_prio=${r.num('next_prio')}`,
  },
  wakeupTemplate('sched_waking'),
  wakeupTemplate('sched_wakeup'),
  wakeupTemplate('sched_wakeup_new'),
  {
    system: 'sched',
    name: 'sched_process_fork',
    fields: layoutFields([
      { type: 'char', name: 'parent_comm', len: 16 },
      { type: 'pid_t', name: 'parent_pid' },
      { type: 'char', name: 'child_comm', len: 16 },
      { type: 'pid_t', name: 'child_pid' },
    ]),
    printFmt: '"comm=%s pid=%d child_comm=%s child_pid=%d", REC->parent_comm, REC->parent_pid, REC->child_comm, REC->child_pid',
    printArgs: (r) => `comm=${r.str('parent_comm')} pid=${r.num('parent_pid')} child_comm=${r.str('child_comm')} child_pid=${r.num('child_pid')}`,
  },
  {
    system: 'sched',
    name: 'sched_process_exec',
    fields: layoutFields([
      { type: 'char', name: 'filename', dataLoc: true },
      { type: 'pid_t', name: 'pid' },
      { type: 'pid_t', name: 'old_pid' },
    ]),
    printFmt: '"filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid',
    printArgs: (r) => `filename=${r.str('filename')} pid=${r.num('pid')} old_pid=${r.num('old_pid')}`,
  },
  processTemplate('sched_process_exit'),
  processTemplate('sched_process_free'),
];
