// The shell language `ringtrace sh` understands: the part of POSIX sh that kernel reproducers and the
// ftrace selftests' simple steps use. Lists joined by `;`, newlines, `&&`, `||`; pipelines with `|`;
// words with '...' and "..." quoting, backslash escapes and $VAR / $? / ${VAR} expansion; redirections
// `>`, `>>`, `<`, `2>`, `2>&1`; `#` comments; `NAME=value` assignments.
import { RingtraceError } from '../errors.ts';

export interface Redirect {
  fd: number; // 0, 1 or 2
  op: '>' | '>>' | '<' | '>&';
  target: Word; // a file, or the fd number for >&
}

// A word is kept as parts so that expansion happens when the command runs ($? changes between commands).
export type WordPart = { text: string; quoted: boolean } | { variable: string; quoted: boolean };
export type Word = WordPart[];

export interface SimpleCommand {
  assignments: { name: string; value: Word }[];
  words: Word[];
  redirects: Redirect[];
  line: number;
}

export type Pipeline = SimpleCommand[];
export interface AndOr {
  first: Pipeline;
  rest: { op: '&&' | '||'; pipeline: Pipeline }[];
}

type Token =
  | { kind: 'word'; word: Word; line: number }
  | { kind: 'op'; op: string; line: number }
  | { kind: 'redir'; fd: number; op: '>' | '>>' | '<' | '>&'; line: number }
  | { kind: 'newline'; line: number };

function syntaxError(line: number, msg: string): RingtraceError {
  return new RingtraceError('EINVAL', `line ${line}: syntax error: ${msg}`);
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const isSpace = (c: string) => c === ' ' || c === '\t';
  while (i < src.length) {
    const c = src[i];
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === '\\' && src[i + 1] === '\n') {
      i += 2;
      line++;
      continue;
    }
    if (c === '\n') {
      out.push({ kind: 'newline', line });
      line++;
      i++;
      continue;
    }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      out.push({ kind: 'op', op: two, line });
      i += 2;
      continue;
    }
    if (c === ';' || c === '|') {
      out.push({ kind: 'op', op: c, line });
      i++;
      continue;
    }
    // redirections, with an optional single-digit fd in front
    const m = /^([012])?(>>|>&|>|<)/.exec(src.slice(i, i + 3));
    if (m) {
      const fd = m[1] !== undefined ? Number(m[1]) : m[2] === '<' ? 0 : 1;
      out.push({ kind: 'redir', fd, op: m[2] as '>' | '>>' | '<' | '>&', line });
      i += m[0].length;
      continue;
    }
    // a word
    const word: Word = [];
    const pushText = (text: string, quoted: boolean) => {
      const last = word[word.length - 1];
      if (last && 'text' in last && last.quoted === quoted) last.text += text;
      else word.push({ text, quoted });
    };
    const readVar = (quoted: boolean): boolean => {
      if (src[i] !== '$') return false;
      const rest = src.slice(i + 1);
      const braced = /^\{([A-Za-z_][A-Za-z0-9_]*|[?#0-9])\}/.exec(rest);
      const plain = /^([A-Za-z_][A-Za-z0-9_]*|[?#0-9])/.exec(rest);
      const mm = braced ?? plain;
      if (!mm) return false;
      word.push({ variable: mm[1], quoted });
      i += 1 + mm[0].length;
      return true;
    };
    while (i < src.length) {
      const ch = src[i];
      if (isSpace(ch) || ch === '\n' || ch === ';' || ch === '|' || ch === '&' || ch === '<' || ch === '>') break;
      if (ch === '#' && word.length === 0) break;
      if (ch === "'") {
        const end = src.indexOf("'", i + 1);
        if (end < 0) throw syntaxError(line, 'unterminated quoted string');
        pushText(src.slice(i + 1, end), true);
        line += (src.slice(i + 1, end).match(/\n/g) ?? []).length;
        i = end + 1;
        if (word.length === 0) word.push({ text: '', quoted: true });
        continue;
      }
      if (ch === '"') {
        i++;
        let any = false;
        while (i < src.length && src[i] !== '"') {
          if (src[i] === '\\' && '"\\$`\n'.includes(src[i + 1] ?? '')) {
            if (src[i + 1] !== '\n') pushText(src[i + 1], true);
            i += 2;
          } else if (!readVar(true)) {
            if (src[i] === '\n') line++;
            pushText(src[i], true);
            i++;
          }
          any = true;
        }
        if (src[i] !== '"') throw syntaxError(line, 'unterminated quoted string');
        i++;
        if (!any) pushText('', true);
        continue;
      }
      if (ch === '\\') {
        if (i + 1 < src.length) pushText(src[i + 1], true);
        i += 2;
        continue;
      }
      if (readVar(false)) continue;
      pushText(ch, false);
      i++;
    }
    if (word.length === 0) throw syntaxError(line, `unexpected "${src[i]}"`);
    out.push({ kind: 'word', word, line });
  }
  return out;
}

export function wordText(word: Word): string | null {
  let s = '';
  for (const p of word) {
    if ('variable' in p) return null;
    s += p.text;
  }
  return s;
}

// Parse a script into and-or lists (each run in turn, like lines separated by ';').
export function parseScript(src: string): AndOr[] {
  const tokens = tokenize(src);
  let pos = 0;
  const lists: AndOr[] = [];
  const peek = () => tokens[pos];

  const parseCommand = (): SimpleCommand | null => {
    const t = peek();
    if (!t || t.kind === 'newline' || t.kind === 'op') return null;
    const cmd: SimpleCommand = { assignments: [], words: [], redirects: [], line: t.line };
    for (;;) {
      const tok = peek();
      if (!tok || tok.kind === 'newline' || tok.kind === 'op') break;
      pos++;
      if (tok.kind === 'redir') {
        const target = peek();
        if (!target || target.kind !== 'word') throw syntaxError(tok.line, `redirection ${tok.op} needs a target`);
        pos++;
        cmd.redirects.push({ fd: tok.fd, op: tok.op, target: target.word });
        continue;
      }
      const text = wordText(tok.word);
      const assign = cmd.words.length === 0 && text !== null && tok.word[0] && 'text' in tok.word[0] && !tok.word[0].quoted
        ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec((tok.word[0] as { text: string }).text)
        : null;
      if (assign) {
        const first = tok.word[0] as { text: string; quoted: boolean };
        const value: Word = [{ text: first.text.slice(assign[0].length), quoted: false }, ...tok.word.slice(1)];
        cmd.assignments.push({ name: assign[1], value });
        continue;
      }
      cmd.words.push(tok.word);
    }
    return cmd;
  };

  const parsePipeline = (): Pipeline | null => {
    const first = parseCommand();
    if (!first) return null;
    const cmds = [first];
    while (peek()?.kind === 'op' && (peek() as { op: string }).op === '|') {
      const line = peek().line;
      pos++;
      while (peek()?.kind === 'newline') pos++;
      const next = parseCommand();
      if (!next) throw syntaxError(line, 'expected a command after "|"');
      cmds.push(next);
    }
    return cmds;
  };

  while (pos < tokens.length) {
    const t = peek();
    if (t.kind === 'newline' || (t.kind === 'op' && t.op === ';')) {
      pos++;
      continue;
    }
    const first = parsePipeline();
    if (!first) throw syntaxError(t.line, `unexpected "${t.kind === 'op' ? t.op : 'token'}"`);
    const list: AndOr = { first, rest: [] };
    while (peek()?.kind === 'op' && ((peek() as { op: string }).op === '&&' || (peek() as { op: string }).op === '||')) {
      const op = (peek() as { op: '&&' | '||' }).op;
      const line = peek().line;
      pos++;
      while (peek()?.kind === 'newline') pos++;
      const next = parsePipeline();
      if (!next) throw syntaxError(line, `expected a command after "${op}"`);
      list.rest.push({ op, pipeline: next });
    }
    lists.push(list);
  }
  return lists;
}
