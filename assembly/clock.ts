// Trace clocks (kernel/trace/trace_clock.c). An imported clock call costs ~90 ns in Node and ~270 ns in
// Deno, more than a whole write, so only `global` pays it per event; see README "Trace clocks".
import {
  LAYOUT_BASE, H_COUNTER_CLOCK, H_VIRTUAL_STEP, CPU_VCLOCK, CLOCK_LOCAL, CLOCK_COUNTER, CLOCK_VIRTUAL,
  LOCAL_CLOCK_SAMPLE, COUNTER_CLOCK_BLOCK, CLOCK_PERF, CLOCK_UPTIME, CLOCK_TAI, JIFFY_NS, TAI_OFFSET_NS, H_EPOCH_MS,
} from "./abi";
import { cpuDesc } from "./cpu";

// nanoseconds since the machine was created, from the host's monotonic clock
// @ts-ignore: decorator
@external("env", "clockNow")
declare function hostClockNow(): f64;

let localLast: u64 = 0; // last stamp handed out on this CPU
let localSample: u64 = 0; // last real reading
let localRate: u64 = 0; // measured ns per stamp over the last sampling interval
let localLeft: i32 = 0; // stamps to extrapolate before the next real reading
let localFresh: bool = true; // the next reading starts a session: do not derive a rate from it
let globalLast: u64 = 0;
let counterNext: u64 = 0;
let counterLeft: i32 = 0;

// A write session (a workload, a batch from JavaScript) starts with a real reading, so a pause between
// sessions never shows up as extrapolated time.
export function clockSessionStart(): void {
  localLeft = 0;
  localFresh = true;
}

// trace_clock_local(): a real reading every LOCAL_CLOCK_SAMPLE stamps; the stamps in between advance
// by the rate measured over the previous interval, and never go backwards.
function localResample(): u64 {
  const now = <u64>hostClockNow();
  if (!localFresh && now > localSample) localRate = (now - localSample) / LOCAL_CLOCK_SAMPLE;
  else if (now < localLast) localRate >>= 1;
  localFresh = false;
  localSample = now;
  localLeft = LOCAL_CLOCK_SAMPLE - 1;
  if (now > localLast) localLast = now;
  return localLast;
}

// trace_clock_global(): a real reading every time, monotonic on this CPU
function globalClock(): u64 {
  const now = <u64>hostClockNow();
  if (now > globalLast) globalLast = now;
  return globalLast;
}

// trace_clock_counter(): the kernel's atomic64_add_return(1, &trace_counter); values are claimed from
// the global counter COUNTER_CLOCK_BLOCK at a time so that two CPUs do not bounce its cache line
function counterClock(): u64 {
  if (counterLeft == 0) {
    counterNext = atomic.add<u64>(LAYOUT_BASE + H_COUNTER_CLOCK, COUNTER_CLOCK_BLOCK) + 1;
    counterLeft = COUNTER_CLOCK_BLOCK;
  }
  counterLeft--;
  return counterNext++;
}

// The deterministic clock: this CPU's virtual time advances by a fixed step per reading.
function virtualClock(): u64 {
  const t = load<u64>(cpuDesc, CPU_VCLOCK) + <u64>load<u32>(LAYOUT_BASE + H_VIRTUAL_STEP);
  store<u64>(cpuDesc, t, CPU_VCLOCK);
  return t;
}

export function virtualDelay(ns: u64): void {
  store<u64>(cpuDesc, load<u64>(cpuDesc, CPU_VCLOCK) + ns, CPU_VCLOCK);
}

// rb_time_stamp(buffer): buffer->clock()
@inline export function traceClock(id: i32): u64 {
  if (id == CLOCK_COUNTER) return counterClock();
  if (id == CLOCK_LOCAL || id == CLOCK_PERF) {
    if (localLeft > 0) {
      localLeft--;
      localLast += localRate;
      return localLast;
    }
    return localResample();
  }
  if (id == CLOCK_VIRTUAL) return virtualClock();
  if (id == CLOCK_UPTIME) return globalClock() / JIFFY_NS;
  if (id == CLOCK_TAI) return <u64>(load<f64>(LAYOUT_BASE + H_EPOCH_MS) * 1e6) + TAI_OFFSET_NS + globalClock();
  // global, mono, mono_raw, boot, x86-tsc
  return globalClock();
}
