// The stack tracer (kernel/trace/trace_stack.c): trace_ops (stack_trace_call, run in Wasm as
// stackTraceCall) registered while kernel.stack_tracer_enabled is set, with its own filter
// (stack_trace_filter); the deepest stack seen so far (stack_trace_max_size) and its chain
// (stack_dump_trace / stack_trace_index) live in shared memory, where every CPU updates them under
// max_stack_lock. The emulated stack of a call is the frames of the functions the CPU has entered plus
// the called function's own (kernel-text.ts's frameSize()) above STACK_BASE bytes of entry code.
import { RingtraceError } from '../errors.ts';
import { abi } from '../layout.ts';
import { FtraceHash, type Ftrace, type FtraceOps } from './ftrace.ts';
import { frameSize } from './kernel-text.ts';

const {
  FT_STACK, FT_CB_STACK, FTRACE_OPS_FL_DYNAMIC, STK_MAX_SIZE, STK_NR_ENTRIES, STK_FRAME_SIZES, STK_BASE, STK_ENTRIES,
  STK_INDEX, STK_SIZE, STK_LOCK,
} = abi;

// what lies below the first traced frame: the syscall or interrupt entry's struct pt_regs (x86-64)
const STACK_BASE = 168;

export class StackTracer {
  private area = 0;
  private sizes = 0;
  private enabled = 0; // stack_tracer_enabled, as written
  readonly ops: FtraceOps;

  constructor(private readonly ft: Ftrace) {
    this.ops = ft.newOps('trace_ops', FT_CB_STACK, 0, { filter: new FtraceHash(), notrace: new FtraceHash() }, FTRACE_OPS_FL_DYNAMIC);
    ft.onModuleLoaded.add(() => this.fillFrameSizes());
  }

  // the shared state and the frame size of every record (by REC_ID), made when first enabled
  private ensureArea(): void {
    if (this.area) return;
    const m = this.ft.machine;
    this.area = m.arena.alloc(STK_SIZE);
    m.mem.u8.fill(0, this.area, this.area + STK_SIZE);
    this.sizes = m.arena.alloc(this.ft.idCap * 2);
    m.mem.store32(this.area + STK_FRAME_SIZES, this.sizes);
    m.mem.store32(this.area + STK_BASE, STACK_BASE);
    this.fillFrameSizes();
    Atomics.store(m.mem.i32, (this.ft.area + FT_STACK) >> 2, this.area);
  }

  private fillFrameSizes(): void {
    if (!this.sizes) return;
    const u16 = new Uint16Array(this.ft.machine.mem.u8.buffer, this.sizes, this.ft.idCap);
    for (const { name, id } of this.ft.recordIds()) u16[id] = frameSize(name);
  }

  // /proc/sys/kernel/stack_tracer_enabled: proc_dointvec() of an int
  readSysctl(): string {
    return `${this.enabled}\n`;
  }

  // stack_trace_sysctl(): registering or unregistering trace_ops when the switch changes
  async writeSysctl(text: string): Promise<void> {
    const m = /^\s*(-?\d+)\s*$/.exec(text);
    if (!m) throw new RingtraceError('EINVAL', `stack_tracer_enabled: "${text.trim()}" is not an integer`);
    const val = Number(m[1]);
    if (!Number.isSafeInteger(val) || val > 0x7fffffff || val < -0x80000000) throw new RingtraceError('EINVAL', `stack_tracer_enabled: ${m[1]} does not fit an int`);
    const was = this.enabled !== 0;
    this.enabled = val;
    if (was === (val !== 0)) return;
    if (val !== 0) {
      this.ensureArea();
      await this.ft.registerFtraceFunction(this.ops);
    } else {
      await this.ft.unregisterFtraceFunction(this.ops);
    }
  }

  // stack_max_size: stack_max_size_read() "%ld\n"; stack_max_size_write() sets it under the lock
  get maxSize(): bigint {
    return this.area ? this.ft.machine.mem.loadU64(this.area + STK_MAX_SIZE) : 0n;
  }

  setMaxSize(val: bigint): void {
    this.ensureArea();
    const i32 = this.ft.machine.mem.i32;
    const lock = (this.area + STK_LOCK) >> 2;
    while (Atomics.compareExchange(i32, lock, 0, 1) !== 0);
    this.ft.machine.mem.store64(this.area + STK_MAX_SIZE, BigInt.asUintN(64, val));
    Atomics.store(i32, lock, 0);
  }

  // t_show() of stack_trace: the header, the banner while disabled with nothing recorded, then each row:
  // its depth, the size of its frame (the last row: all that is below it) and its location (%pS)
  read(): string {
    const mem = this.ft.machine.mem;
    const nr = this.area ? mem.loadU32(this.area + STK_NR_ENTRIES) : 0;
    let s = `        Depth    Size   Location    (${nr} entries)\n        -----    ----   --------\n`;
    if (!this.enabled && this.maxSize === 0n) {
      s +=
        '#\n#  Stack tracer disabled\n#\n' +
        "# To enable the stack tracer, either add 'stacktrace' to the\n" +
        '# kernel command line\n' +
        "# or 'echo 1 > /proc/sys/kernel/stack_tracer_enabled'\n#\n";
    }
    for (let i = 0; i < nr; i++) {
      const index = mem.loadU32(this.area + STK_INDEX + i * 4);
      const size = i + 1 === nr ? index : index - mem.loadU32(this.area + STK_INDEX + (i + 1) * 4);
      const ip = mem.loadU64(this.area + STK_ENTRIES + i * 8);
      s += `${String(i).padStart(3)}) ${String(index).padStart(8)}   ${String(size).padStart(5)}   ${this.symOffset(ip)}\n`;
    }
    return s;
  }

  // %pS: symbol+offset/size [module]
  private symOffset(ip: bigint): string {
    const sym = this.ft.symbolize(ip);
    if (!sym) return `0x${ip.toString(16)}`;
    return `${sym.name}+0x${sym.offset.toString(16)}/0x${sym.size.toString(16)}${sym.module ? ` [${sym.module}]` : ''}`;
  }
}
