// trace_find_filtered_pid() over a host-built sorted pid list (PID_COUNT, then the pids)
import { PID_COUNT, PID_LIST } from "./abi";

export function pidListed(list: usize, pid: i32): bool {
  let lo: i32 = 0;
  let hi: i32 = <i32>load<u32>(list, PID_COUNT) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = load<i32>(list + PID_LIST + (<usize>mid << 2));
    if (v == pid) return true;
    if (v < pid) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
