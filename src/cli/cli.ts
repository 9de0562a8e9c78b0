// The command line: a table of commands, each with its options, so later commands (sh, repro) are one
// more entry. Usage errors (unknown command or option, a bad value) print a clear message on stderr and
// exit with status 2; failures while running exit with 1. Commands always close what they create.
import { writeFile } from 'node:fs/promises';
import { RingtraceError } from '../errors.ts';

export interface Io {
  out(text: string): void; // stdout, a line (the newline is added when missing)
  err(text: string): void; // stderr: progress and errors, likewise
  // Raw output, exactly the bytes given (`ringtrace sh` passes its scripts' output through). Without
  // them, commands fall back to out/err.
  write?(text: string): void;
  writeErr?(text: string): void;
  // All of standard input (`ringtrace sh -`).
  readStdin?(): Promise<string>;
  // stderr is a terminal: progress may rewrite a status line in place
  errIsTTY?: boolean;
}

export const processIo: Io = {
  errIsTTY: process.stderr.isTTY === true,
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
  write: (t) => {
    if (t) process.stdout.write(t);
  },
  writeErr: (t) => {
    if (t) process.stderr.write(t);
  },
  async readStdin() {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

export class UsageError extends Error {}

// a failure worth one line on stderr (exit status 1), not a stack trace
export class CliError extends Error {}

type OptionValue = string | number | boolean | (string | number)[];

export interface OptionSpec {
  name: string; // long name without the dashes
  short?: string; // a one-letter alias: -c VALUE
  value?: 'int' | 'number' | 'string'; // absent: a flag
  metavar?: string;
  help: string;
  default?: OptionValue;
  min?: number; // for numbers: the smallest accepted value
  repeat?: boolean; // may be given more than once: the values are collected in an array
  last?: boolean; // the arguments after this option and its value are operands (sh -c CMDS NAME ARGS...)
}

export interface Command {
  name: string;
  summary: string;
  usage: string; // after "ringtrace NAME"
  description?: string;
  options: OptionSpec[];
  // Options end at the first argument that is not one (like sh: `ringtrace sh SCRIPT -x` gives -x to
  // the script).
  optionsFirst?: boolean;
  run(opts: Record<string, OptionValue>, args: string[], io: Io): Promise<number>;
}

// Parse --name VALUE, --name=VALUE and --flag / --no-flag (for flags that default to true).
export function parseOptions(cmd: Command, argv: string[]): { opts: Record<string, OptionValue>; args: string[] } {
  const opts: Record<string, OptionValue> = {};
  for (const o of cmd.options) if (o.default !== undefined) opts[o.name] = o.default;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (cmd.optionsFirst) {
        args.push(...argv.slice(i));
        break;
      }
      args.push(a);
      continue;
    }
    if (a === '-h') {
      opts.help = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    const short = a.startsWith('--') ? undefined : cmd.options.find((o) => o.short !== undefined && a.startsWith(`-${o.short}`));
    if (short) {
      // -cVALUE or -c VALUE
      name = short.name;
      inline = a.length > 2 ? a.slice(2) : undefined;
      if (!short.value && inline !== undefined) throw new UsageError(`unknown option '${a}' for '${cmd.name}'`);
    } else {
      if (!a.startsWith('--')) throw new UsageError(`unknown option '${a}' for '${cmd.name}'`);
      const eq = a.indexOf('=');
      name = a.slice(2, eq < 0 ? undefined : eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    }
    if (name === 'help') {
      opts.help = true;
      continue;
    }
    let spec = cmd.options.find((o) => o.name === name);
    let negated = false;
    if (!spec && name.startsWith('no-')) {
      spec = cmd.options.find((o) => o.name === name.slice(3) && !o.value);
      negated = !!spec;
    }
    if (!spec) throw new UsageError(`unknown option '--${name}' for '${cmd.name}'`);
    name = spec.name;
    if (!spec.value) {
      if (inline !== undefined) throw new UsageError(`option '${a.slice(0, a.indexOf('='))}' takes no value`);
      opts[name] = !negated;
      continue;
    }
    if (inline === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`option '--${name}' needs a value (${spec.metavar ?? spec.value})`);
      inline = argv[++i];
    }
    const value = parseValue(spec, inline) as string | number;
    if (spec.repeat) opts[name] = [...((opts[name] as (string | number)[] | undefined) ?? []), value];
    else opts[name] = value;
    if (spec.last) {
      args.push(...argv.slice(i + 1));
      break;
    }
  }
  return { opts, args };
}

function parseValue(spec: OptionSpec, text: string): OptionValue {
  if (spec.value === 'string') {
    if (text === '') throw new UsageError(`option '--${spec.name}' needs a non-empty value`);
    return text;
  }
  const s = text.trim();
  const n = spec.value === 'int' ? (/^[+]?\d+$/.test(s) ? Number(s) : NaN) : /^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(n)) {
    throw new UsageError(`option '--${spec.name}' needs ${spec.value === 'int' ? 'a whole number' : 'a number'}, not '${text}'`);
  }
  if (spec.min !== undefined && n < spec.min) throw new UsageError(`option '--${spec.name}' must be at least ${spec.min}, not ${text}`);
  return n;
}

export function commandHelp(cmd: Command): string {
  const lines = [`usage: ringtrace ${cmd.name} ${cmd.usage}`.trimEnd(), '', cmd.summary];
  if (cmd.description) lines.push('', cmd.description);
  if (cmd.options.length) {
    lines.push('', 'options:');
    const left = cmd.options.map((o) => `  ${o.short ? `-${o.short}, ` : ''}--${o.name}${o.value ? ` ${o.metavar ?? o.value.toUpperCase()}` : ''}`);
    const w = Math.max(...left.map((l) => l.length)) + 2;
    cmd.options.forEach((o, i) => {
      const def = o.default !== undefined && o.value ? ` (default ${o.default})` : '';
      const rep = o.repeat ? ' (repeatable)' : '';
      lines.push(`${left[i].padEnd(w)}${o.help}${def}${rep}`);
    });
  }
  return lines.join('\n');
}

export function mainHelp(commands: Command[]): string {
  const w = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'usage: ringtrace COMMAND [OPTIONS]',
    '',
    "ringtrace: the Linux kernel's tracing ring buffer, emulated on WebAssembly threads.",
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}${c.summary}`),
    '',
    "Run 'ringtrace help COMMAND' for a command's options.",
  ].join('\n');
}

// Run the command line; returns the exit status.
export async function runCli(argv: string[], commands: Command[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    (name === undefined ? io.err : io.out)(mainHelp(commands));
    return name === undefined ? 2 : 0;
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) {
    io.err(`ringtrace: unknown command '${name}' (commands: ${commands.map((c) => c.name).join(', ')}; see 'ringtrace help')`);
    return 2;
  }
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(cmd, rest);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ringtrace ${cmd.name}: ${err.message}\n(see 'ringtrace help ${cmd.name}')`);
      return 2;
    }
    throw err;
  }
  if (parsed.opts.help) {
    io.out(commandHelp(cmd));
    return 0;
  }
  try {
    return await cmd.run(parsed.opts, parsed.args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ringtrace ${cmd.name}: ${err.message}`);
      return 2;
    }
    if (err instanceof RingtraceError || err instanceof CliError) {
      io.err(`ringtrace ${cmd.name}: ${err.message}`);
      return 1;
    }
    io.err(`ringtrace ${cmd.name}: ${(err as Error)?.stack ?? err}`);
    return 1;
  }
}

export async function writeTextFile(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (err) {
    throw new CliError(`cannot write ${path}: ${(err as Error).message}`);
  }
}
