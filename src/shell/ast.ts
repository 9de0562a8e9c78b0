// Building and rewriting just-bash syntax trees for the shell's transforms (jobs, redirect-status,
// cond-resched).
import type { StatementNode, WordNode } from 'just-bash';

type Node = Record<string, unknown>;

// Every node of a tree, children first, each with a chance to be replaced; the tree is copied.
export function rewrite(node: unknown, fn: (n: Node) => Node): unknown {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, fn));
  if (!node || typeof node !== 'object') return node;
  const copy: Node = {};
  for (const [k, v] of Object.entries(node)) copy[k] = rewrite(v, fn);
  return fn(copy);
}

export function literalWord(value: string): WordNode {
  return { type: 'Word', parts: [{ type: 'Literal', value }] };
}

// `$NAME` (or `$?`)
export function parameterWord(name: string): WordNode {
  return { type: 'Word', parts: [{ type: 'ParameterExpansion', parameter: name, operation: null }] };
}

// The arguments `$? $-` of an inserted command that keeps $? as it found it (keptStatus() of them):
// it exits with that status, except under `set -e`, where a nonzero one would end the shell although
// nothing failed (bash keeps $? there without a command): then 0.
export function statusArgs(): WordNode[] {
  return [parameterWord('?'), parameterWord('-')];
}

export function keptStatus(args: readonly string[]): number {
  const status = Number(args[0]);
  return (args[1] ?? '').includes('e') ? 0 : status;
}

// A statement of one simple command: NAME ARGS...
export function commandStatement(name: string, args: WordNode[], line?: number): StatementNode {
  return {
    type: 'Statement',
    pipelines: [{ type: 'Pipeline', commands: [{ type: 'SimpleCommand', assignments: [], name: literalWord(name), args, redirections: [], line }], negated: false }],
    operators: [],
    background: false,
    line,
  };
}

// A word the shell reads back as exactly s
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
