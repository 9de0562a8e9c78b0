// The event layer's hot path (kernel/trace/trace_events.c, trace_events_filter.c, trace_events_trigger.c):
// a tracepoint site writes its event into the buffer of every trace_array whose trace_event_file is
// enabled, after the pid filter, the event's filter and its triggers. The host lays out every structure
// (trace_event_call, the probe list, trace_event_file, filter programs, trigger lists); nothing here
// allocates.
import {
  EC_TYPE, EC_FILES, EFL_COUNT, EFL_FILES, EF_FLAGS, EF_TB, EF_PIDS, EF_FILTER, EF_TRIGGERS,
  EVENT_FILE_FL_SOFT_DISABLED, FP_COUNT, FP_PREDS, FPR_OP, FPR_OFFSET, FPR_FIELD_SIZE,
  FPR_FLAGS, FPR_VAL, FPR_WHEN, FPR_TARGET, FPR_SIZE, FPF_SIGNED, FPF_NOT, FPF_DATA_LOC, FOP_EQ, FOP_LT,
  FOP_LE, FOP_GT, FOP_GE, FOP_BAND, FOP_STR_EQ, FOP_GLOB, FOP_TRUE, TRG_COUNT, TRG_COND, TRG_ENTRIES, TRG_KIND, TRG_TB,
  TRG_COUNTER, TRG_FILTER, TRG_SIZE, TRIG_TRACEON, TRIG_TRACEOFF, TRIG_STACKTRACE, TRIG_SNAPSHOT,
  TB_RECORD_DISABLED, RB_BUFFER_OFF, ENT_SIZE, RES_WRITTEN, RES_FAILED, RES_BYTES,
} from "./abi";
import { lockReserve, eventData, unlockCommit, rbDiscardCommit } from "./ring_buffer";
import { traceEntryInit, currentPid, traceStackHere, requestSnapshot } from "./ftrace";
import { pidListed } from "./pid_list";

// A field's value, sign- or zero-extended to 64 bits
@inline function fieldValue(rec: usize, off: u32, size: u32, signed: bool): u64 {
  const p = rec + off;
  if (size == 1) return signed ? <u64><i64>load<i8>(p) : <u64>load<u8>(p);
  if (size == 2) return signed ? <u64><i64>load<i16>(p) : <u64>load<u16>(p);
  if (size == 4) return signed ? <u64><i64>load<i32>(p) : <u64>load<u32>(p);
  return load<u64>(p);
}

// glob_match() of lib/glob.c: * ? [set] [!set] [a-z], on byte strings
function globMatch(pat: usize, plen: u32, s: usize, slen: u32): bool {
  let pi: u32 = 0;
  let si: u32 = 0;
  let backPat: i32 = -1;
  let backStr: u32 = 0;
  while (true) {
    let matched = false;
    if (pi < plen) {
      const d = load<u8>(pat + pi);
      if (d == 0x2a /* * */) {
        pi++;
        if (pi == plen) return true;
        backPat = <i32>pi;
        backStr = si;
        continue;
      }
      if (si < slen) {
        const c = load<u8>(s + si);
        if (d == 0x3f /* ? */) {
          matched = true;
          pi++;
        } else if (d == 0x5b /* [ */) {
          let q = pi + 1;
          let inv = false;
          if (q < plen && load<u8>(pat + q) == 0x21 /* ! */) {
            inv = true;
            q++;
          }
          let hit = false;
          let first = true;
          while (q < plen && (first || load<u8>(pat + q) != 0x5d /* ] */)) {
            first = false;
            let a = load<u8>(pat + q);
            let b = a;
            if (q + 2 < plen && load<u8>(pat + q + 1) == 0x2d /* - */ && load<u8>(pat + q + 2) != 0x5d) {
              b = load<u8>(pat + q + 2);
              q += 2;
            }
            if (c >= a && c <= b) hit = true;
            q++;
          }
          if (q < plen) {
            pi = q + 1;
            matched = hit != inv;
          } else {
            matched = d == c;
            pi++;
          }
        } else {
          matched = d == c;
          pi++;
        }
      }
    } else if (si == slen) {
      return true;
    }
    if (matched) {
      si++;
      continue;
    }
    if (backPat < 0 || backStr >= slen) return false;
    backStr++;
    si = backStr;
    pi = <u32>backPat;
  }
}

// The string a predicate looks at: a char[N] up to its NUL, or a __data_loc string. A char[] of size 0
// (ftrace/print's buf) ends at its NUL (regex_match_full() with len 0), which its writer always puts
// there; the scan stops at 64 KiB, beyond any event.
@inline function strField(rec: usize, pred: usize): u64 {
  const off = load<u32>(pred, FPR_OFFSET);
  let p = rec + off;
  let max = load<u32>(pred, FPR_FIELD_SIZE);
  if (max == 0) max = 0x10000;
  if (load<u32>(pred, FPR_FLAGS) & FPF_DATA_LOC) {
    const loc = load<u32>(p);
    p = rec + (loc & 0xffff);
    max = loc >>> 16;
  }
  let n: u32 = 0;
  while (n < max && load<u8>(p + n) != 0) n++;
  return (<u64>n << 32) | <u64>p;
}

// One predicate (filter_pred_*): numbers compare as the field's type; strings by strncmp or glob
function predMatch(pred: usize, rec: usize): bool {
  const op = load<u32>(pred, FPR_OP);
  const flags = load<u32>(pred, FPR_FLAGS);
  let r = false;
  if (op == FOP_TRUE) return true;
  if (op == FOP_STR_EQ || op == FOP_GLOB) {
    const f = strField(rec, pred);
    const s = <usize>(f & 0xffffffff);
    const slen = <u32>(f >> 32);
    const pat = <usize>load<u32>(pred, FPR_VAL);
    const plen = load<u32>(pred, FPR_VAL + 4);
    if (op == FOP_GLOB) r = globMatch(pat, plen, s, slen);
    else r = plen == slen && memory.compare(pat, s, slen) == 0;
  } else {
    const signed = (flags & FPF_SIGNED) != 0;
    const v = fieldValue(rec, load<u32>(pred, FPR_OFFSET), load<u32>(pred, FPR_FIELD_SIZE), signed);
    const x = load<u64>(pred, FPR_VAL);
    if (op == FOP_EQ) r = v == x;
    else if (op == FOP_BAND) r = (v & x) != 0;
    else if (signed) {
      const a = <i64>v;
      const b = <i64>x;
      r = op == FOP_LT ? a < b : op == FOP_LE ? a <= b : op == FOP_GT ? a > b : a >= b;
    } else {
      r = op == FOP_LT ? v < x : op == FOP_LE ? v <= x : op == FOP_GT ? v > x : v >= x;
    }
  }
  return (flags & FPF_NOT) != 0 ? !r : r;
}

// filter_match_preds(): walk the program; a predicate whose result equals its `when` jumps
export function filterMatch(prog: usize, rec: usize): bool {
  const n = load<u32>(prog, FP_COUNT);
  let i: u32 = 0;
  let r = true;
  while (i < n) {
    const pred = prog + FP_PREDS + <usize>i * FPR_SIZE;
    r = predMatch(pred, rec);
    if (<u32>(r ? 1 : 0) == load<u32>(pred, FPR_WHEN)) i = load<u32>(pred, FPR_TARGET);
    else i++;
  }
  return r;
}

// event_triggers_call(): each trigger whose filter takes the record; without a record (the
// unconditional call of trace_trigger_soft_disabled) every trigger runs
function triggersCall(list: usize, rec: usize): void {
  const n = load<u32>(list, TRG_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const t = list + TRG_ENTRIES + <usize>i * TRG_SIZE;
    const filter = load<u32>(t, TRG_FILTER);
    if (filter != 0 && rec != 0 && !filterMatch(filter, rec)) continue;
    const kind = load<u32>(t, TRG_KIND);
    const tb = load<u32>(t, TRG_TB);
    if (kind == TRIG_TRACEON || kind == TRIG_TRACEOFF) {
      // traceon_count_trigger(): only a real change of state uses up the count
      const on = kind == TRIG_TRACEON;
      const isOn = (atomic.load<i32>(tb, TB_RECORD_DISABLED) & RB_BUFFER_OFF) == 0;
      if (isOn == on) continue;
      if (!takeCount(t)) continue;
      if (on) atomic.and<i32>(tb + TB_RECORD_DISABLED, ~RB_BUFFER_OFF);
      else atomic.or<i32>(tb + TB_RECORD_DISABLED, RB_BUFFER_OFF);
    } else if (kind == TRIG_STACKTRACE) {
      if (takeCount(t)) traceStackHere(tb);
    } else if (kind == TRIG_SNAPSHOT) {
      // snapshot_trigger() with event_trigger_count()
      if (takeCount(t)) requestSnapshot(tb);
    }
  }
}

// the trigger's count: -1 is unlimited, 0 is used up
@inline function takeCount(t: usize): bool {
  while (true) {
    const c = atomic.load<i64>(t, TRG_COUNTER);
    if (c < 0) return true;
    if (c == 0) return false;
    if (atomic.cmpxchg<i64>(t + TRG_COUNTER, c, c - 1) == c) return true;
  }
}

// trace_event_raw_event_<call>() for one trace_event_file: trace_trigger_soft_disabled(), the pid
// filter, trace_event_buffer_reserve(), the fields, then trace_event_buffer_commit() with the
// conditional triggers and the discard of a soft-disabled or filtered-out record
function eventWrite(file: usize, type: u32, src: usize, len: u32): void {
  const flags = atomic.load<u32>(file, EF_FLAGS);
  const triggers = atomic.load<u32>(file, EF_TRIGGERS);
  const cond = triggers != 0 && load<u32>(triggers, TRG_COND) != 0;
  if (!cond) {
    if (triggers != 0) triggersCall(triggers, 0);
    if (flags & EVENT_FILE_FL_SOFT_DISABLED) return;
  }
  const pids = atomic.load<u32>(file, EF_PIDS);
  if (pids != 0 && !pidListed(pids, currentPid())) return;
  const tb = load<u32>(file, EF_TB);
  const ev = lockReserve(tb, ENT_SIZE + len);
  if (ev == 0) return;
  const d = eventData(ev);
  traceEntryInit(d, type);
  memory.copy(d + ENT_SIZE, src, len);
  if (cond) triggersCall(triggers, d);
  const filter = atomic.load<u32>(file, EF_FILTER);
  if ((flags & EVENT_FILE_FL_SOFT_DISABLED) != 0 || (filter != 0 && !filterMatch(filter, d))) {
    rbDiscardCommit(tb, ev);
    return;
  }
  unlockCommit(tb);
}

// The tracepoint: every trace_event_file on the call's probe list. Returns false when the event is not
// enabled anywhere (what a user_events write reports as EBADF).
export function tracepoint(call: usize, src: usize, len: u32): bool {
  const files = atomic.load<u32>(call, EC_FILES);
  if (files == 0) return false;
  const type = load<u32>(call, EC_TYPE);
  const n = load<u32>(files, EFL_COUNT);
  for (let i: u32 = 0; i < n; i++) eventWrite(load<u32>(files + EFL_FILES + (<usize>i << 2)), type, src, len);
  return true;
}

// OP_EVENT call, length, payload: a tracepoint site. Disabled, it costs a load and a test.
export function evOpEvent(pc: usize): void {
  tracepoint(load<u32>(pc, 4), pc + 12, load<u32>(pc, 8));
}

// OP_TRACE_WRITE tb, type, length, result, file, newline, payload: one entry into one buffer
// (tracing_mark_write). The triggers of `file` (ftrace/print's) see the entry before its added newline.
export function evOpTraceWrite(pc: usize): void {
  const tb = load<u32>(pc, 4);
  const type = load<u32>(pc, 8);
  const len = load<u32>(pc, 12);
  const res = load<u32>(pc, 16);
  const file = load<u32>(pc, 20);
  const nl = load<u32>(pc, 24);
  const ev = lockReserve(tb, ENT_SIZE + len);
  if (ev == 0) {
    store<u64>(res, load<u64>(res, RES_FAILED) + 1, RES_FAILED);
    return;
  }
  const d = eventData(ev);
  traceEntryInit(d, type);
  memory.copy(d + ENT_SIZE, pc + 28, len);
  const triggers = file != 0 ? atomic.load<u32>(file, EF_TRIGGERS) : 0;
  if (triggers != 0) {
    if (nl != 0) store<u8>(d + ENT_SIZE + nl, 0);
    triggersCall(triggers, d);
    if (nl != 0) store<u8>(d + ENT_SIZE + nl, 0x0a);
  }
  unlockCommit(tb);
  store<u64>(res, load<u64>(res, RES_WRITTEN) + 1, RES_WRITTEN);
  store<u64>(res, load<u64>(res, RES_BYTES) + <u64>len, RES_BYTES);
}
