// A failed write(2) through a redirection fails the command, as in bash: `echo abc > tracing_on`
// prints "sh: echo: write error: Invalid argument" and its status is 1, so `! echo ... > file` and
// `echo ... > file || exit_unsupported` work. just-bash writes a redirection's output after the command
// and has no place for that failure, so this transform rewrites commands with output redirections.
// A stateless command with one `>`/`>>` becomes one REDIRECT command, which runs it, writes its output
// and fails like bash when the write fails:
//
//   echo abc > tracing_on 2>/dev/null    →    __redirect '>' tracing_on 0 LINE echo abc 2>/dev/null
//
// Any other command is followed by REDIRECT_STATUS, which reports what the kernel's files refused
// (WriteErrors) and turns the status into 1, or passes the command's own status through:
//
//   myfunc > tracing_on     →     { myfunc > tracing_on; __redirect_status $? LINE myfunc tracing_on; }
//
// (just-bash applies set -e to each command inside a { } group even where the group is in a `||` list
// or under `!`, which bash does not: the group form is kept for what REDIRECT cannot run.)
//
// A group runs in the current shell, so assignments, `exit`, `return` and set -e behave as before.
// Scripts that `.`/`source` or `eval` are not transformed (just-bash parses those itself): a failed
// write there is reported by the next transformed command, or at the end of the script.
import type { CommandNode, PipelineNode, ScriptNode, StatementNode, TransformPlugin, WordNode } from 'just-bash';
import { defineCommand, latin1FromBytes } from 'just-bash';
import { RingtraceError } from '../errors.ts';
import { errnoText, type WriteErrors, type WriteFailure } from './kernel-fs.ts';
import { commandStatement, literalWord, parameterWord, shellQuote } from './ast.ts';

type RedirectionNode = Extract<CommandNode, { type: 'SimpleCommand' }>['redirections'][number];

export const REDIRECT_STATUS = '__redirect_status';
export const REDIRECT = '__redirect';

// Commands that keep no shell state, which REDIRECT may run in a shell of their own: most writes to
// the kernel's files are one of these with a single `> FILE` or `>> FILE`.
const STATELESS = new Set(['echo', 'printf', 'cat', 'grep', 'sed', 'awk', 'cut', 'sort', 'uniq', 'head', 'tail', 'tr', 'wc', 'seq', 'ls', 'true', 'false', ':', 'expr', 'basename', 'dirname', 'md5sum', 'diff']);

const OUTPUT_OPS = new Set(['>', '>>', '>|', '&>', '&>>']);

function literal(word: WordNode): string | null {
  let s = '';
  for (const p of word.parts) {
    if (p.type === 'Literal' || p.type === 'SingleQuoted' || p.type === 'Escaped') s += p.value;
    else return null;
  }
  return s;
}

function writesFile(r: RedirectionNode): boolean {
  if (r.target.type !== 'Word') return false;
  if (OUTPUT_OPS.has(r.operator)) return true;
  // `>& FILE` is `&> FILE`; `>&2` and `>&-` duplicate or close a descriptor
  if (r.operator === '>&') return !/^(\d+|-)$/.test(literal(r.target) ?? '0');
  return false;
}

function statusCommand(line: number, name: string, target: WordNode): StatementNode {
  return commandStatement(REDIRECT_STATUS, [parameterWord('?'), literalWord(String(line)), literalWord(name), { type: 'Word', parts: [{ type: 'DoubleQuoted', parts: target.parts }] }], line);
}

// The name bash would put in "NAME: write error": the command's, or sh for a compound command.
function commandName(cmd: CommandNode): string {
  if (cmd.type === 'SimpleCommand' && cmd.name) return literal(cmd.name) ?? 'sh';
  return 'sh';
}

function statements(list: StatementNode[]): StatementNode[] {
  return list.map(statement);
}

function statement(s: StatementNode): StatementNode {
  return { ...s, pipelines: s.pipelines.map(pipeline) };
}

function pipeline(p: PipelineNode): PipelineNode {
  return { ...p, commands: p.commands.map(command) };
}

function inner(cmd: CommandNode): CommandNode {
  switch (cmd.type) {
    case 'If':
      return { ...cmd, clauses: cmd.clauses.map((c) => ({ condition: statements(c.condition), body: statements(c.body) })), elseBody: cmd.elseBody && statements(cmd.elseBody) };
    case 'For':
    case 'CStyleFor':
    case 'Subshell':
    case 'Group':
      return { ...cmd, body: statements(cmd.body) };
    case 'While':
    case 'Until':
      return { ...cmd, condition: statements(cmd.condition), body: statements(cmd.body) };
    case 'Case':
      return { ...cmd, items: cmd.items.map((i) => ({ ...i, body: statements(i.body) })) };
    case 'FunctionDef':
      return { ...cmd, body: inner(cmd.body) as typeof cmd.body };
    default:
      return cmd;
  }
}

function isDevNull(r: RedirectionNode): boolean {
  return r.fd === 2 && r.operator === '>' && r.target.type === 'Word' && literal(r.target) === '/dev/null';
}

function isStderrToStdout(r: RedirectionNode): boolean {
  return r.fd === 2 && r.operator === '>&' && r.target.type === 'Word' && literal(r.target) === '1';
}

// `NAME ARGS > FILE` (and 2>/dev/null or a later 2>&1) of a stateless command, as one REDIRECT
function asRedirect(c: CommandNode): CommandNode | undefined {
  if (c.type !== 'SimpleCommand' || !c.name || c.assignments.length) return undefined;
  const name = literal(c.name);
  if (!name || !STATELESS.has(name)) return undefined;
  const out = c.redirections.findIndex((r) => (r.fd === null || r.fd === 1) && (r.operator === '>' || r.operator === '>>') && r.target.type === 'Word');
  if (out < 0) return undefined;
  const others = c.redirections.filter((_, i) => i !== out);
  if (!others.every((r) => isDevNull(r) || isStderrToStdout(r))) return undefined;
  const merge = others.some((r, i) => isStderrToStdout(r) && c.redirections.indexOf(r) > out);
  if (others.some(isStderrToStdout) && !merge) return undefined;
  const r = c.redirections[out];
  const target = r.target as WordNode;
  const line = c.line ?? 0;
  const args = [literalWord(r.operator), { type: 'Word', parts: [{ type: 'DoubleQuoted', parts: target.parts }] } as WordNode, literalWord(merge ? '1' : '0'), literalWord(String(line)), c.name, ...c.args];
  return { type: 'SimpleCommand', assignments: [], name: literalWord(REDIRECT), args, redirections: others.filter(isDevNull), line };
}

function command(cmd: CommandNode): CommandNode {
  const c = inner(cmd);
  const single = asRedirect(c);
  if (single) return single;
  const target = c.type === 'FunctionDef' ? undefined : c.redirections.find(writesFile)?.target;
  if (!target || target.type !== 'Word') return c;
  const line = c.line ?? 0;
  const self: StatementNode = { type: 'Statement', pipelines: [{ type: 'Pipeline', commands: [c], negated: false }], operators: [], background: false, line };
  return { type: 'Group', body: [self, statusCommand(line, commandName(c), target)], redirections: [], line };
}

export function redirectStatusPlugin(): TransformPlugin {
  return {
    name: 'redirect-status',
    transform: ({ ast }) => ({ ast: { ...ast, statements: statements(ast.statements) } as ScriptNode }),
  };
}

// open(2) failures name the file, as bash does ("sh: line 4: ro: Permission denied"); a refused
// write(2) names the command ("sh: echo: write error: Invalid argument").
export function writeFailureText(f: WriteFailure, line: string, name: string, target: string): string {
  const code = f.error instanceof RingtraceError ? f.error.code : '';
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR') return `sh: line ${line}: ${target}: ${errnoText(f.error)}\n`;
  return `sh: ${name}: write error: ${errnoText(f.error)}\n`;
}

// __redirect OP FILE MERGE LINE NAME ARGS...: run NAME ARGS in a shell of its own (given the shell
// variables named in `inherit`), then open FILE (O_TRUNC for >, O_APPEND for >>), write all it printed
// (with its stderr when MERGE is 1) and close
export function redirectCommand(writeErrors: WriteErrors, inherit: readonly string[] = []) {
  return defineCommand(REDIRECT, async (args, ctx) => {
    const [op, target, merge, line, name, ...rest] = args;
    const env = Object.fromEntries(inherit.flatMap((v) => (ctx.env.has(v) ? [[v, ctx.env.get(v)!]] : [])));
    const r = await ctx.exec!([name, ...rest].map(shellQuote).join(' '), { cwd: ctx.cwd, stdin: latin1FromBytes(ctx.stdin), stdinKind: 'bytes', env });
    const data = merge === '1' ? r.stdout + r.stderr : r.stdout;
    const stderr = merge === '1' ? '' : r.stderr;
    const path = ctx.fs.resolvePath(ctx.cwd, target);
    try {
      if (op === '>>') await ctx.fs.appendFile(path, data);
      else await ctx.fs.writeFile(path, data);
    } catch (error) {
      writeErrors.record({ path, error });
    }
    const failures = writeErrors.take();
    if (failures.length) return { stdout: '', stderr: stderr + writeFailureText(failures[0], line, name, target), exitCode: 1 };
    return { stdout: '', stderr, exitCode: r.exitCode };
  });
}

export function redirectStatusCommand(writeErrors: WriteErrors) {
  return defineCommand(REDIRECT_STATUS, async (args) => {
    const [status, line, name, target] = args;
    const failures = writeErrors.take();
    // one message per command, as bash gives up on the first failed write
    if (failures.length === 0) return { stdout: '', stderr: '', exitCode: Number(status) };
    return { stdout: '', stderr: writeFailureText(failures[0], line, name, target), exitCode: 1 };
  });
}
