// include/trace/events/syscalls.h: raw_syscalls:sys_enter / sys_exit
import { type EventDef, layoutFields } from '../types.ts';

const hex = (v: bigint) => BigInt.asUintN(64, v).toString(16);

export const RAW_SYSCALLS_EVENTS: readonly EventDef[] = [
  {
    system: 'raw_syscalls',
    name: 'sys_enter',
    fields: layoutFields([
      { type: 'long', name: 'id' },
      { type: 'unsigned long', name: 'args', len: 6 },
    ]),
    printFmt: '"NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)", REC->id, REC->args[0], REC->args[1], REC->args[2], REC->args[3], REC->args[4], REC->args[5]',
    printArgs: (r) => `NR ${r.num('id')} (${r.arr('args').map(hex).join(', ')})`,
  },
  {
    system: 'raw_syscalls',
    name: 'sys_exit',
    fields: layoutFields([
      { type: 'long', name: 'id' },
      { type: 'long', name: 'ret' },
    ]),
    printFmt: '"NR %ld = %ld", REC->id, REC->ret',
    printArgs: (r) => `NR ${r.num('id')} = ${r.num('ret')}`,
  },
];
