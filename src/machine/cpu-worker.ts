// One emulated CPU: a thread running its own instance of the module over the shared memory. It sleeps
// in the Wasm idle loop, runs workload programs there, and yields to its message port only for
// requests that need JavaScript (CMD_JS), such as benchmarks of JavaScript callers.
import { parentPort } from './platform.ts';
import { instantiateRingtrace, type RingExports } from './wasm.ts';
import { Mem } from '../layout.ts';
import { CMD_RUN, CMD_JS, CMD_EXIT, CPU_WORK_ARG0, CPU_WORK_RESULT, EFAULT_RET } from '../../assembly/abi.ts';

export interface CpuContext {
  cpu: number;
  exports: RingExports;
  mem: Mem;
  desc: number;
}

const port = await parentPort();
let ctx: CpuContext;

// Returns when the host asks for JavaScript work or for the thread to exit. A trap in the CPU's work
// does not end the thread: it becomes an oops (the CPU is marked crashed and says so to later work),
// and the loop goes on serving IPIs, so grace periods and the host never wait on a dead thread.
function idleLoop(): void {
  const { exports, mem, desc } = ctx;
  for (;;) {
    let cmd: number;
    try {
      cmd = exports.cpuIdle();
      if (cmd === CMD_RUN) {
        mem.store32(desc + CPU_WORK_RESULT, exports.runProgram(mem.load32(desc + CPU_WORK_ARG0)));
      } else if (cmd !== CMD_JS && cmd !== CMD_EXIT) {
        mem.store32(desc + CPU_WORK_RESULT, -22);
      }
    } catch (err) {
      if (!(err instanceof WebAssembly.RuntimeError)) throw err;
      exports.cpuTrap();
      mem.store32(desc + CPU_WORK_RESULT, EFAULT_RET);
      cmd = CMD_RUN;
    }
    exports.cpuWorkDone();
    if (cmd === CMD_JS || cmd === CMD_EXIT) return;
  }
}

port.onMessage(async (msg) => {
  if (msg.type === 'init') {
    const exports = instantiateRingtrace(msg.module, msg.memory, msg.epochMs);
    exports.cpuInit(msg.cpu);
    ctx = { cpu: msg.cpu, exports, mem: new Mem(msg.memory), desc: msg.desc };
    port.post({ type: 'ready' });
    idleLoop();
  } else if (msg.type === 'js') {
    try {
      ctx.mem.refresh();
      const mod = await import(msg.module);
      const result = await mod[msg.fn](ctx, ...msg.args);
      port.post({ type: 'js-done', id: msg.id, result });
    } catch (err) {
      port.post({ type: 'js-done', id: msg.id, error: String((err as Error)?.stack ?? err) });
    }
    idleLoop();
  }
});
