// include/trace/events/irq.h: irq_handler_entry / irq_handler_exit
import { type EventDef, layoutFields } from '../types.ts';

export const IRQ_EVENTS: readonly EventDef[] = [
  {
    system: 'irq',
    name: 'irq_handler_entry',
    fields: layoutFields([
      { type: 'int', name: 'irq' },
      { type: 'char', name: 'name', dataLoc: true },
    ]),
    printFmt: '"irq=%d name=%s", REC->irq, __get_str(name)',
    printArgs: (r) => `irq=${r.num('irq')} name=${r.str('name')}`,
  },
  {
    system: 'irq',
    name: 'irq_handler_exit',
    fields: layoutFields([
      { type: 'int', name: 'irq' },
      { type: 'int', name: 'ret' },
    ]),
    printFmt: '"irq=%d ret=%s", REC->irq, REC->ret ? "handled" : "unhandled"',
    printArgs: (r) => `irq=${r.num('irq')} ret=${r.num('ret') ? 'handled' : 'unhandled'}`,
  },
];
