// include/trace/events/timer.h: the hrtimer expiry events
import { ipSym } from '../../trace/output.ts';
import { type EventDef, layoutFields } from '../types.ts';

// %p of a kernel pointer prints its hashed value; the emulator has no secret to hash with and shows it
const ptr = (v: bigint) => `0x${BigInt.asUintN(64, v).toString(16).padStart(16, '0')}`;

export const TIMER_EVENTS: readonly EventDef[] = [
  {
    system: 'timer',
    name: 'hrtimer_expire_entry',
    fields: layoutFields([
      { type: 'void *', name: 'hrtimer' },
      { type: 's64', name: 'now' },
      { type: 'void *', name: 'function' },
    ]),
    printFmt: '"hrtimer=%p function=%ps now=%llu", REC->hrtimer, REC->function, (unsigned long long) REC->now',
    printArgs: (r, syms) => `hrtimer=${ptr(r.num('hrtimer'))} function=${ipSym(syms, BigInt.asUintN(64, r.num('function')))} now=${BigInt.asUintN(64, r.num('now'))}`,
  },
  {
    system: 'timer',
    name: 'hrtimer_expire_exit',
    fields: layoutFields([{ type: 'void *', name: 'hrtimer' }]),
    printFmt: '"hrtimer=%p", REC->hrtimer',
    printArgs: (r) => `hrtimer=${ptr(r.num('hrtimer'))}`,
  },
];
