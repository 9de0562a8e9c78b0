// Every event the emulated kernel defines, in registration order (the order of the kernel's
// __ftrace_events section decides the dynamic types). One line per subsystem file.
import type { EventDef } from '../types.ts';
import { FTRACE_EVENTS } from './ftrace.ts';
import { SCHED_EVENTS } from './sched.ts';
import { RAW_SYSCALLS_EVENTS } from './raw_syscalls.ts';
import { IRQ_EVENTS } from './irq.ts';
import { TIMER_EVENTS } from './timer.ts';
import { SIGNAL_EVENTS } from './signal.ts';

export const EVENT_DEFS: readonly (readonly EventDef[])[] = [
  FTRACE_EVENTS,
  SCHED_EVENTS,
  RAW_SYSCALLS_EVENTS,
  IRQ_EVENTS,
  TIMER_EVENTS,
  SIGNAL_EVENTS,
];
