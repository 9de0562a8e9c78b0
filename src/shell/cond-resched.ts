// cond_resched() for scripts: just-bash runs a loop like `while :; do :; done` as a chain of promise
// continuations that never gives the event loop a turn, so no timer fires — not the time limit, not
// `sleep` in the script beside an `&` job, not Ctrl-C. Every loop body starts with COND_RESCHED, which
// yields to the event loop when the shell has held it for a while (a few milliseconds).
import type { ScriptNode, StatementNode, TransformPlugin } from 'just-bash';
import { defineCommand, type CustomCommand } from 'just-bash';
import { commandStatement, keptStatus, rewrite, statusArgs } from './ast.ts';

export const COND_RESCHED = '__cond_resched';

const SLICE_MS = 5;

const LOOPS = new Set(['While', 'Until', 'For', 'CStyleFor']);

// `__cond_resched $? $-`: $? stays what the loop condition left (see keptStatus)
function withResched(n: Record<string, unknown>): Record<string, unknown> {
  if (!LOOPS.has(n.type as string)) return n;
  return { ...n, body: [commandStatement(COND_RESCHED, statusArgs()), ...(n.body as StatementNode[])] };
}

export function condReschedPlugin(): TransformPlugin {
  return { name: 'cond-resched', transform: ({ ast }) => ({ ast: rewrite(ast, withResched) as ScriptNode }) };
}

export function condReschedCommand(): CustomCommand {
  let last = Date.now();
  return defineCommand(COND_RESCHED, async (args) => {
    if (Date.now() - last >= SLICE_MS) {
      await new Promise((r) => setImmediate(r));
      last = Date.now();
    }
    return { stdout: '', stderr: '', exitCode: keptStatus(args) };
  });
}
