// The modelled upstream fixes. Each is on by default; a machine created without one behaves like the
// kernel before that commit, so the bug and its fix can both be shown.
import { RingtraceError } from './errors.ts';

export interface Fix {
  commit: string; // the first 12 digits of the upstream commit
  subject: string;
  summary: string;
}

export const FIXES: readonly Fix[] = [
  {
    commit: '20ad8b0888be',
    subject: 'ring-buffer: Enforce read ordering of trace_buffer cpumask and buffers',
    summary:
      'trace_rb_cpu_prepare() sends an IPI to every online CPU (rb_cpu_sync: smp_rmb) before it sets the ' +
      "new CPU's bit in buffer->cpumask, so no reader sees the bit with a NULL buffers[cpu] on a weakly ordered CPU",
  },
  {
    commit: '8c4f3c3fa968',
    subject: 'ftrace: Check module functions being traced on reload',
    summary:
      'records of a (re)loaded module start with the count of enabled ftrace_ops whose filter hashes reference ' +
      'them (referenced_filters), so a module reloaded at the same address cannot underflow a count and kill ftrace',
  },
];

// Resolve a commit id or unique prefix (at least 7 hex digits, like git) to a modelled fix.
export function findFix(id: string): Fix {
  const want = id.trim().toLowerCase();
  if (!/^[0-9a-f]{7,40}$/.test(want)) throw new RingtraceError('EINVAL', `"${id}" is not a commit id (7 to 40 hex digits)`);
  const fix = FIXES.find((f) => want.startsWith(f.commit) || f.commit.startsWith(want));
  if (!fix) throw new RingtraceError('EINVAL', `commit ${id} is not a modelled fix (known: ${FIXES.map((f) => f.commit).join(', ')})`);
  return fix;
}

export class FixSet {
  private readonly off: Set<string>;

  constructor(without: readonly string[] = []) {
    this.off = new Set(without.map((id) => findFix(id).commit));
  }

  has(commit: string): boolean {
    return !this.off.has(findFix(commit).commit);
  }

  get disabled(): string[] {
    return [...this.off];
  }
}
