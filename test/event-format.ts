// What the event-layer tests share: the common fields as every format file prints them, and the event
// lines of a trace.
export const COMMON =
  '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n' +
  '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n' +
  '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n' +
  '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n';

export function lines(trace: string): string[] {
  return trace.split('\n').filter((l) => l && !l.startsWith('#'));
}
