// `&`, `$!`, `wait` and `kill` for just-bash, which runs a background statement to its end before going
// on. A background job is a forked subshell: a copy of the shell's functions and variables running
// beside it. Here it is a concurrent run of the same shell (its own interpreter state; the same file
// systems and machine) started with the script's function definitions and the variables of the moment:
//
//   instance_slam &     →     __bg "$(declare -p)" 'f() {…}\ng() {…}\ninstance_slam'
//   p1=$!               →     p1=$__bgpid
//   wait $p1            →     __wait $p1
//
// The job's output joins the shell's when the job ends (bash interleaves it as it comes). `kill -SIG
// PID` stops a job at its next command; `wait` then gives 128 + SIG, as bash does for a killed job.
import type { CommandNode, ScriptNode, StatementNode, TransformPlugin, WordNode } from 'just-bash';

type FunctionDefNode = Extract<CommandNode, { type: 'FunctionDef' }>;
import { commandStatement, literalWord, parameterWord, rewrite } from './ast.ts';
import { defineCommand, serialize, type CustomCommand } from 'just-bash';
import { TASK_VAR, type Processes } from './process.ts';

export const BG_COMMAND = '__bg';
export const WAIT_COMMAND = '__wait';
export const BG_PID = '__bgpid';
export const FORK_COMMAND = '__fork';
export const FORK_DONE = '__fork_done';

// bash's signal numbers for kill -NAME
const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, USR1: 10, USR2: 12, TERM: 15, CONT: 18, STOP: 19 };

interface Job {
  abort: AbortController;
  done: Promise<number>;
  killedBy?: number;
}

export type JobRunner = (script: string, cwd: string, signal: AbortSignal, pid?: number) => Promise<number>;

export class Jobs {
  private nextPid: number;
  private readonly jobs = new Map<number, Job>();

  constructor(shellPid: number) {
    this.nextPid = shellPid + 1;
  }

  // pid: the job's task when the kernel's processes give it one
  start(run: (signal: AbortSignal) => Promise<number>, pid = this.nextPid++): number {
    const abort = new AbortController();
    const job: Job = { abort, done: Promise.resolve(0) };
    job.done = run(abort.signal).then(
      (status) => (job.killedBy !== undefined ? 128 + job.killedBy : status),
      () => 128 + (job.killedBy ?? SIGNALS.TERM),
    );
    this.jobs.set(pid, job);
    return pid;
  }

  // kill(2): false for a pid that is no job of this shell (or has been waited for)
  kill(pid: number, sig: number): boolean {
    const job = this.jobs.get(pid);
    if (!job) return false;
    if (sig !== 0) {
      job.killedBy ??= sig;
      job.abort.abort();
    }
    return true;
  }

  // waitpid(): the job's status, once; undefined for a pid that is no job of this shell
  async wait(pid: number): Promise<number | undefined> {
    const job = this.jobs.get(pid);
    if (!job) return undefined;
    const status = await job.done;
    this.jobs.delete(pid);
    return status;
  }

  pids(): number[] {
    return [...this.jobs.keys()];
  }

  // At the end of the script: what is still running is stopped (the machine goes away with the shell).
  async stopAll(): Promise<void> {
    for (const pid of this.pids()) this.kill(pid, SIGNALS.HUP);
    for (const pid of this.pids()) await this.wait(pid);
  }
}

function functionDefs(ast: ScriptNode): FunctionDefNode[] {
  const defs: FunctionDefNode[] = [];
  rewrite(ast, (n) => {
    if (n.type === 'FunctionDef') defs.push(n as unknown as FunctionDefNode);
    return n;
  });
  return defs;
}

export function jobsPlugin(): TransformPlugin {
  return {
    name: 'jobs',
    transform: ({ ast }) => {
      const defs = functionDefs(ast);
      const defsText = defs.length ? serialize({ type: 'Script', statements: defs.map((d) => ({ type: 'Statement', pipelines: [{ type: 'Pipeline', commands: [d], negated: false }], operators: [], background: false })) }) + '\n' : '';
      const out = rewrite(ast, (n) => {
        if (n.type === 'ParameterExpansion' && n.parameter === '!') return { ...n, parameter: BG_PID };
        if (n.type === 'SimpleCommand') {
          const name = n.name as { parts?: { type: string; value?: string }[] } | null;
          const only = name?.parts?.length === 1 ? name.parts[0] : undefined;
          if (only?.type === 'Literal' && only.value === 'wait') return { ...n, name: literalWord(WAIT_COMMAND) };
        }
        if (n.type === 'Statement' && n.background) {
          const job = serialize({ type: 'Script', statements: [{ ...(n as unknown as StatementNode), background: false }] });
          const vars = { type: 'Word', parts: [{ type: 'DoubleQuoted', parts: [{ type: 'CommandSubstitution', body: { type: 'Script', statements: [commandStatement('declare', [literalWord('-p')])] }, legacy: false }] }] };
          return commandStatement(BG_COMMAND, [vars as WordNode, { type: 'Word', parts: [{ type: 'SingleQuoted', value: defsText + job }] }], n.line as number | undefined) as unknown as Record<string, unknown>;
        }
        return n;
      });
      return { ast: out as ScriptNode };
    },
  };
}

// The variables a subshell inherits, from `declare -p`: not the read-only ones or the shell's own
// ($?, PIPESTATUS, ...), which the job's shell sets itself.
function inheritedVariables(declared: string): string {
  return declared
    .split('\n')
    .filter((l) => /^declare -[-aAix]* [A-Za-z_][A-Za-z0-9_]*=/.test(l) && !/^declare -\S* (PWD|OLDPWD|PIPESTATUS|BASH\w*|SHELLOPTS|BASHOPTS)=/.test(l))
    .join('\n');
}

// A subshell forks: `( … )`, `$( … )` and a compound command in a pipeline of several (which bash runs
// in a forked child) start with FORK_COMMAND, the shell's fork hook, keeping $?. `&& FORK_DONE` keeps
// set -e from acting on that status, as nothing in the script failed.
export function forkPlugin(): TransformPlugin {
  const fork = (): StatementNode => {
    const hook = commandStatement(FORK_COMMAND, [parameterWord('?')]);
    const done = commandStatement(FORK_DONE, []);
    return { ...hook, pipelines: [...hook.pipelines, ...done.pipelines], operators: ['&&'] };
  };
  return {
    name: 'fork',
    transform: ({ ast }) => ({
      ast: rewrite(ast, (n) => {
        if (n.type === 'Subshell') return { ...n, body: [fork(), ...(n.body as StatementNode[])] };
        if (n.type === 'CommandSubstitution') {
          const body = n.body as ScriptNode;
          return { ...n, body: { ...body, statements: [fork(), ...body.statements] } };
        }
        if (n.type === 'Pipeline' && (n.commands as CommandNode[]).length > 1) {
          const commands = (n.commands as CommandNode[]).map((c) => {
            if (c.type === 'SimpleCommand' || c.type === 'Subshell') return c;
            const self: StatementNode = { type: 'Statement', pipelines: [{ type: 'Pipeline', commands: [c], negated: false }], operators: [], background: false };
            return { type: 'Group', body: [fork(), self], redirections: [] } as CommandNode;
          });
          return { ...n, commands };
        }
        return n;
      }) as ScriptNode,
    }),
  };
}

function parseSignal(arg: string): number | undefined {
  const s = arg.replace(/^SIG/, '');
  if (/^\d+$/.test(s)) return Number(s);
  return SIGNALS[s];
}

export function jobCommands(jobs: Jobs, run: JobRunner, processes?: Processes): CustomCommand[] {
  const ok = (stdout = '') => ({ stdout, stderr: '', exitCode: 0 });
  return [
    // the rest of the subshell runs as the forked child
    defineCommand(FORK_COMMAND, async (args, ctx) => {
      if (processes) {
        const child = await processes.fork(processes.taskOf(ctx.env), 'subshell');
        await ctx.assignShellVariable?.(TASK_VAR, String(child.pid));
        processes.enter(child.pid);
      }
      return { stdout: '', stderr: '', exitCode: Number(args[0]) };
    }),
    defineCommand(FORK_DONE, async () => ok()),
    defineCommand(BG_COMMAND, async (args, ctx) => {
      const child = processes && (await processes.fork(processes.taskOf(ctx.env), 'job'));
      const [declared, job] = args;
      const cwd = ctx.cwd;
      const task = child ? `${TASK_VAR}=${child.pid}\n` : '';
      const pid = jobs.start((signal) => run(`${inheritedVariables(declared)}\n${task}${job}`, cwd, signal, child?.pid), child?.pid);
      await ctx.assignShellVariable?.(BG_PID, String(pid));
      return ok();
    }),
    // wait [PID...]: bash's exit statuses: the last PID's, 127 for one that is no child
    defineCommand(WAIT_COMMAND, async (args, ctx) => {
      const pids = args.length ? args : jobs.pids().map(String);
      let status = 0;
      let stderr = '';
      for (const p of pids) {
        const s = /^\d+$/.test(p) ? await jobs.wait(Number(p)) : undefined;
        if (s !== undefined) await processes?.reap(processes.taskOf(ctx.env), Number(p));
        if (s === undefined) {
          if (args.length) stderr += `sh: wait: pid ${p} is not a child of this shell\n`;
          status = 127;
        } else status = s;
      }
      return { stdout: '', stderr, exitCode: args.length ? status : 0 };
    }),
    // kill [-SIG | -s SIG | -n NUM] PID...
    defineCommand('kill', async (args) => {
      let sig: number | undefined = SIGNALS.TERM;
      const rest = [...args];
      if (rest[0] === '-s' || rest[0] === '-n') {
        rest.shift();
        sig = parseSignal(rest.shift() ?? '');
      } else if (rest[0]?.startsWith('-') && rest[0] !== '--') sig = parseSignal(rest.shift()!.slice(1));
      if (rest[0] === '--') rest.shift();
      if (sig === undefined) return { stdout: '', stderr: `sh: kill: ${args[0]}: invalid signal specification\n`, exitCode: 1 };
      if (rest.length === 0) return { stdout: '', stderr: 'kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]\n', exitCode: 2 };
      let stderr = '';
      for (const p of rest) if (!/^\d+$/.test(p) || !jobs.kill(Number(p), sig)) stderr += `sh: kill: (${p}) - No such process\n`;
      return { stdout: '', stderr, exitCode: stderr ? 1 : 0 };
    }),
  ];
}
