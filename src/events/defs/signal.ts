// include/trace/events/signal.h: signal_generate / signal_deliver
import { type EventDef, layoutFields } from '../types.ts';

export const SIGNAL_EVENTS: readonly EventDef[] = [
  {
    system: 'signal',
    name: 'signal_generate',
    fields: layoutFields([
      { type: 'int', name: 'sig' },
      { type: 'int', name: 'errno' },
      { type: 'int', name: 'code' },
      { type: 'char', name: 'comm', len: 16 },
      { type: 'pid_t', name: 'pid' },
      { type: 'int', name: 'group' },
      { type: 'int', name: 'result' },
    ]),
    printFmt: '"sig=%d errno=%d code=%d comm=%s pid=%d grp=%d res=%d", REC->sig, REC->errno, REC->code, REC->comm, REC->pid, REC->group, REC->result',
    printArgs: (r) =>
      `sig=${r.num('sig')} errno=${r.num('errno')} code=${r.num('code')} comm=${r.str('comm')} pid=${r.num('pid')} grp=${r.num('group')} res=${r.num('result')}`,
  },
  {
    system: 'signal',
    name: 'signal_deliver',
    fields: layoutFields([
      { type: 'int', name: 'sig' },
      { type: 'int', name: 'errno' },
      { type: 'int', name: 'code' },
      { type: 'unsigned long', name: 'sa_handler' },
      { type: 'unsigned long', name: 'sa_flags' },
    ]),
    printFmt: '"sig=%d errno=%d code=%d sa_handler=%lx sa_flags=%lx", REC->sig, REC->errno, REC->code, REC->sa_handler, REC->sa_flags',
    printArgs: (r) => `sig=${r.num('sig')} errno=${r.num('errno')} code=${r.num('code')} sa_handler=${r.num('sa_handler').toString(16)} sa_flags=${r.num('sa_flags').toString(16)}`,
  },
];
