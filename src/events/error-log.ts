// tracefs error_log (kernel/trace/trace.c: tracing_log_err, tracing_err_log_seq_show): the last
// TRACING_LOG_ERRS_MAX errors of a trace_array's commands, each with the command and a caret under the
// position of the error.
export const TRACING_LOG_ERRS_MAX = 16;
const CMD_PREFIX = '  Command: ';

export interface ErrorLogEntry {
  tsNs: number;
  loc: string; // e.g. "event filter parse error"
  cmd: string;
  errText: string;
  pos: number;
}

export class ErrorLog {
  private readonly entries: ErrorLogEntry[] = [];

  // tracing_log_err(): the oldest entry goes once the log is full
  log(e: ErrorLogEntry): void {
    this.entries.push(e);
    if (this.entries.length > TRACING_LOG_ERRS_MAX) this.entries.shift();
  }

  clear(): void {
    this.entries.length = 0;
  }

  // tracing_err_log_seq_show(): "[%5llu.%06u] LOC: error: TEXT", "\n  Command: CMD\n", then the caret
  // (tracing_err_log_show_pos)
  read(): string {
    let s = '';
    for (const e of this.entries) {
      const us = Math.floor(e.tsNs / 1000);
      const sec = Math.floor(us / 1_000_000);
      s += `[${String(sec).padStart(5)}.${String(us % 1_000_000).padStart(6, '0')}] ${e.loc}: error: ${e.errText}`;
      s += `\n${CMD_PREFIX}${e.cmd}\n`;
      s += `${' '.repeat(CMD_PREFIX.length + e.pos)}^\n`;
    }
    return s;
  }
}
