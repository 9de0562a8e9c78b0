// The grammar of set_ftrace_filter / set_ftrace_notrace, as kernel/trace/ftrace.c parses, matches and prints it.
//
// A pure module: no machine state. It splits what write() delivers into words (trace_get_user), parses each word
// (ftrace_process_regex, filter_parse_regex, the :mod: command and the function-probe commands of
// trace_functions.c), matches patterns against function names (ftrace_match, lib/glob.c glob_match), selects
// records (match_records, ftrace_match_record, add_rec_by_index), keeps the list of cached :mod: entries
// (cache_mod, process_mod_list) and prints the files (t_show, t_mod_show, ftrace_probe_print).
//
// What stays with the caller: the hashes (enter_record adds/removes what matchRecords selects), the probes
// (register/unregister_ftrace_function_probe), FTRACE_HASH_FL_MOD, and committing at close.
import { RingtraceError } from '../errors.ts';

// ---------------------------------------------------------------------------------------------------------
// Words: trace_parser / trace_get_user (kernel/trace/trace.c)
// ---------------------------------------------------------------------------------------------------------

/** KSYM_SYMBOL_LEN with KSYM_NAME_LEN 512, 64-bit longs, MODULE_NAME_LEN 56, BUILD_ID_SIZE_MAX 20. */
export const KSYM_SYMBOL_LEN = 21 + 511 + 38 + 55 + 40 + 1;
/** FTRACE_BUFF_MAX (ftrace.c): the parser buffer size; a word may hold at most FTRACE_BUFF_MAX - 1 bytes. */
export const FTRACE_BUFF_MAX = KSYM_SYMBOL_LEN + 4;

// The kernel's isspace() (lib/ctype.c): \t \n \v \f \r, space, and Latin-1 NBSP (0xa0). NUL also ends a word.
function isSpaceByte(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d) || b === 0xa0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What one write() delivered to the parser: the words completed by it, in order, and an error after them. */
export interface ParsedWrite {
  /** Complete words (ended by whitespace or NUL), each processed by ftrace_regex_write in order. */
  words: string[];
  /**
   * Set when a word outgrew the parser buffer (trace_get_user: -EINVAL). The kernel fails the write after
   * processing the words before it; the first FTRACE_BUFF_MAX - 1 bytes stay in the parser (see close()).
   */
  error: RingtraceError | null;
}

/**
 * The parser of one open file (struct trace_parser, filled by trace_get_user). Words are split on the kernel's
 * isspace() and NUL; a word not yet followed by whitespace continues into the next write() (parser->cont) and,
 * if the file is closed first, ftrace_regex_release processes it then (ignoring any error it gives).
 */
export class FilterWriteParser {
  private buf: number[] = [];
  private cont = false;
  private readonly size: number;

  constructor(size: number = FTRACE_BUFF_MAX) {
    this.size = size;
  }

  // trace_get_user: the kernel returns after each word and the writer calls write() again with the rest; the
  // loop here is that sequence of calls.
  write(chunk: string): ParsedWrite {
    const bytes = encoder.encode(chunk);
    const words: string[] = [];
    let i = 0;
    while (i < bytes.length) {
      if (!this.cont) {
        while (i < bytes.length && isSpaceByte(bytes[i])) i++;
        this.buf = [];
        if (i >= bytes.length) break;
        if (bytes[i] === 0) {
          i++;
          continue;
        }
      }
      while (i < bytes.length && !isSpaceByte(bytes[i]) && bytes[i] !== 0) {
        if (this.buf.length >= this.size - 1) {
          const error = new RingtraceError(
            'EINVAL',
            `set_ftrace_filter: word longer than ${this.size - 1} bytes: '${decoder.decode(new Uint8Array(this.buf.slice(0, 32)))}...'`,
          );
          return { words, error };
        }
        this.buf.push(bytes[i]);
        i++;
      }
      if (i < bytes.length) {
        // ended by whitespace or NUL: the word is complete (the terminator is consumed)
        i++;
        this.cont = false;
        words.push(decoder.decode(new Uint8Array(this.buf)));
        this.buf = [];
      } else {
        this.cont = true; // the word goes on in the next write(), or is processed at close
      }
    }
    return { words, error: null };
  }

  /** At close (ftrace_regex_release): the word still in the parser, or null when nothing is loaded. */
  close(): string | null {
    const word = this.buf.length > 0 ? decoder.decode(new Uint8Array(this.buf)) : null;
    this.buf = [];
    this.cont = false;
    return word;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Patterns: filter_parse_regex (kernel/trace/trace_events_filter.c), ftrace_match, glob_match (lib/glob.c)
// ---------------------------------------------------------------------------------------------------------

/** enum regex_type: MATCH_FULL, MATCH_FRONT_ONLY, MATCH_MIDDLE_ONLY, MATCH_END_ONLY, MATCH_GLOB, MATCH_INDEX. */
export type GlobType = 'full' | 'front' | 'middle' | 'end' | 'glob' | 'index';

export interface Glob {
  type: GlobType;
  /** What ftrace_match compares: the pattern with the '!' and the stripped leading/trailing '*' removed. */
  search: string;
  /** The pattern as written, without its leading '!'. */
  original: string;
  /** The pattern began with '!' (filter_parse_regex's *not). */
  negate: boolean;
  /**
   * For type 'index': the 1-based position in available_filter_functions, as add_rec_by_index computes it
   * (simple_strtoul base 0 of the leading digits, taken as a signed long). 0 when it selects nothing.
   */
  index?: number;
}

// filter_parse_regex: '!' negates; a leading digit is an index; '*' first -> end match, '*' last -> front match
// (middle when both); any other '*', or '?', '[' or '\' -> full glob; otherwise a full-name match.
export function parseGlob(text: string): Glob {
  let negate = false;
  let buff = text;
  if (buff.startsWith('!')) {
    negate = true;
    buff = buff.slice(1);
  }
  const original = buff;
  if (buff.length > 0 && buff.charCodeAt(0) >= 0x30 && buff.charCodeAt(0) <= 0x39) {
    return { type: 'index', search: buff, original, negate, index: simpleStrtoulIndex(buff) };
  }
  let type: GlobType = 'full';
  let end = buff.length;
  for (let i = 0; i < buff.length; i++) {
    const c = buff[i];
    if (c === '*') {
      if (i === 0) {
        type = 'end';
      } else if (i === buff.length - 1) {
        type = type === 'end' ? 'middle' : 'front';
        end = i;
        break;
      } else {
        return { type: 'glob', search: buff, original, negate };
      }
    } else if (c === '[' || c === '?' || c === '\\') {
      return { type: 'glob', search: buff, original, negate };
    }
  }
  const start = buff.startsWith('*') ? 1 : 0;
  return { type, search: buff.slice(start, Math.max(start, end)), original, negate };
}

// add_rec_by_index: simple_strtoul(search, NULL, 0) (hex after 0x, octal after 0, stops at the first non-digit,
// wraps modulo 2^64), stored in a long; "The index starts at 1", so anything below 1 selects nothing.
function simpleStrtoulIndex(s: string): number {
  let base = 10;
  let i = 0;
  if (s[0] === '0') {
    if ((s[1] === 'x' || s[1] === 'X') && /[0-9a-fA-F]/.test(s[2] ?? '')) {
      base = 16;
      i = 2;
    } else {
      base = 8;
    }
  }
  let v = 0n;
  for (; i < s.length; i++) {
    const d = digitValue(s.charCodeAt(i));
    if (d < 0 || d >= base) break;
    v = (v * BigInt(base) + BigInt(d)) & 0xffffffffffffffffn;
  }
  const signed = BigInt.asIntN(64, v);
  if (signed < 1n) return 0;
  return signed > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(signed);
}

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

// ftrace_match: strcmp / strncmp / strstr / suffix memcmp / glob_match; an index never matches a name.
export function matchGlob(g: Glob, name: string): boolean {
  switch (g.type) {
    case 'full':
      return name === g.search;
    case 'front':
      return name.startsWith(g.search);
    case 'middle':
      return name.includes(g.search);
    case 'end':
      return name.endsWith(g.search);
    case 'glob':
      return globMatch(g.search, name);
    case 'index':
      return false;
  }
}

// lib/glob.c glob_match: '*', '?', '[...]' with ranges and a leading '!' (no '^'), '\' escapes, an unclosed '['
// is literal; a '*' never needs more than one level of backtracking. Reads past the end of str see NUL
// (glob_match_len), so an inverted class can match the terminating NUL.
export function globMatch(pat: string, str: string): boolean {
  const P = (k: number): number => (k < pat.length ? pat.charCodeAt(k) : 0);
  const S = (k: number): number => (k < str.length ? str.charCodeAt(k) : 0);
  let p = 0;
  let s = 0;
  let backPat = -1;
  let backStr = 0;
  for (;;) {
    const c = S(s++);
    let d = P(p++);
    let literal = true;
    let mismatch = false;
    if (d === 0x3f /* ? */) {
      if (c === 0) return false;
      literal = false;
    } else if (d === 0x2a /* * */) {
      if (P(p) === 0) return true;
      backPat = p;
      backStr = --s;
      literal = false;
    } else if (d === 0x5b /* [ */) {
      const inverted = P(p) === 0x21; /* ! */
      let cls = p + (inverted ? 1 : 0);
      let a = P(cls++);
      let match = false;
      let unclosed = false;
      do {
        let b = a;
        if (a === 0) {
          unclosed = true;
          break;
        }
        if (P(cls) === 0x2d /* - */ && P(cls + 1) !== 0x5d /* ] */) {
          b = P(cls + 1);
          if (b === 0) {
            unclosed = true;
            break;
          }
          cls += 2;
        }
        if (a <= c && c <= b) match = true;
        a = P(cls++);
      } while (a !== 0x5d /* ] */);
      if (!unclosed) {
        literal = false;
        if (match === inverted) mismatch = true;
        else p = cls;
      }
    } else if (d === 0x5c /* \ */) {
      d = P(p++);
    }
    if (literal && !mismatch) {
      if (c === d) {
        if (d === 0) return true;
        continue;
      }
      mismatch = true;
    }
    if (mismatch) {
      if (c === 0 || backPat < 0) return false;
      p = backPat;
      s = ++backStr;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Words -> commands: ftrace_process_regex, ftrace_mod_callback, ftrace_trace_probe_callback (trace_functions.c)
// ---------------------------------------------------------------------------------------------------------

/** The commands the kernel registers with register_ftrace_command (ftrace.c: mod; trace_functions.c: the rest). */
export const FUNCTION_COMMANDS: readonly string[] = ['mod', 'traceon', 'traceoff', 'stacktrace', 'dump', 'cpudump', 'enable_event', 'disable_event', 'snapshot'];
/** The probe commands whose parameter this module parses (trace_functions.c, and trace.c's snapshot). */
export const PROBE_COMMANDS: readonly string[] = ['traceon', 'traceoff', 'stacktrace', 'dump', 'cpudump', 'snapshot'];

/** The module part of `func:mod:MODULE` (ftrace_match_record's mod_g and exclude_mod). */
export interface ModuleSpec {
  /** The text after "mod:" as written (it may itself contain ':'; the kernel does not split it). */
  text: string;
  /** Leading '!': every record NOT in the matching modules (the core kernel included). */
  negate: boolean;
  /**
   * null when the module pattern is blank after parsing ("", "*", "!", "!*", "**": mod_g.len == 0): then it
   * selects every module's records, or with negate only the core kernel's.
   */
  glob: Glob | null;
}

export interface FilterCommand {
  /** The word as written. */
  word: string;
  /** The word was still in the parser at close: the kernel processes it then and ignores any error. */
  atClose: boolean;
  /** Leading '!': remove (from the hash, the cached :mod: list, or unregister a probe). */
  negate: boolean;
  /** The function pattern; null when the function part is empty (e.g. ':mod:foo', '!:mod:foo'). */
  glob: Glob | null;
  /** 1-based index into available_filter_functions when the function part starts with a digit (0: none). */
  index?: number;
  /**
   * For `func:mod:NAME`. Absent for `func:mod` with no module part: the kernel then matches func over all
   * records like a plain pattern (match_records with mod NULL), and caching it fails (see cacheMod).
   */
  module?: ModuleSpec;
  command?: {
    name: string;
    /** Everything after "cmd:" as written; undefined when the word has no ':' after the command name. */
    param?: string;
    /**
     * Probe commands only (not for '!' removals): the count the probe stores, as the kernel reads it back
     * (a signed long); null for an unlimited probe. `func:traceon:` (empty count) stores -1, printed
     * "count=-1", which never fires; `dump` always stores 1; `cpudump` has no counter (prints unlimited).
     */
    count?: bigint | null;
    /**
     * Probe commands: which ftrace_probe_ops the command uses. Counted and unlimited probes of one command are
     * different ops (traceon vs traceon_count): `!f:traceon` removes only the unlimited one, `!f:traceon:N`
     * (any N, even empty) only the counted one.
     */
    probeOps?: string;
  };
}

export interface ParseOptions {
  /** Registered command names (default FUNCTION_COMMANDS). Others are EINVAL, as ftrace_process_regex. */
  commands?: readonly string[];
  /** Which file: probe commands are EINVAL on set_ftrace_notrace ("hash funcs only work with set_ftrace_filter"). */
  file?: 'filter' | 'notrace';
}

function einval(message: string): RingtraceError {
  return new RingtraceError('EINVAL', message);
}

// kstrtoul(number, 0): optional '+', base from the prefix (0x hex, 0 octal), digits to the end; overflow of
// 64 bits is -ERANGE in the kernel.
function kstrtoul(text: string): bigint {
  let s = text.startsWith('+') ? text.slice(1) : text;
  let base = 10;
  if (s[0] === '0') {
    if ((s[1] === 'x' || s[1] === 'X') && /[0-9a-fA-F]/.test(s[2] ?? '')) base = 16;
    else base = 8;
  }
  if (base === 16) s = s.slice(2);
  let v = 0n;
  let n = 0;
  for (; n < s.length; n++) {
    const d = digitValue(s.charCodeAt(n));
    if (d < 0 || d >= base) break;
    v = v * BigInt(base) + BigInt(d);
  }
  if (n === 0 || n !== s.length) throw einval(`invalid count '${text}'`);
  if (v > 0xffffffffffffffffn) throw new RingtraceError('ERANGE', `count '${text}' does not fit in 64 bits`);
  return v;
}

// One word, as ftrace_process_regex hands it on: func = text before the first ':'; no ':' -> a plain pattern;
// else command = text up to the next ':' and param = the rest (absent when there is no second ':').
export function parseFilterWord(word: string, opts: ParseOptions = {}, atClose = false): FilterCommand {
  const commands = opts.commands ?? FUNCTION_COMMANDS;
  const colon = word.indexOf(':');
  const func = colon < 0 ? word : word.slice(0, colon);
  const negate = func.startsWith('!');
  const glob = func.length > (negate ? 1 : 0) ? parseGlob(func) : null;
  const out: FilterCommand = { word, atClose, negate, glob };
  if (glob?.type === 'index') out.index = glob.index;
  if (colon < 0) return out;

  const rest = word.slice(colon + 1);
  const colon2 = rest.indexOf(':');
  const name = colon2 < 0 ? rest : rest.slice(0, colon2);
  const param = colon2 < 0 ? undefined : rest.slice(colon2 + 1);
  if (!commands.includes(name)) {
    throw einval(name === '' ? `'${word}': empty command` : `'${word}': unknown command '${name}'`);
  }
  out.command = { name };
  if (param !== undefined) out.command.param = param;

  if (name === 'mod') {
    // ftrace_mod_callback -> match_records(hash, func, len, module): module parsed by filter_parse_regex
    if (param !== undefined) {
      const mg = parseGlob(param);
      out.module = { text: param, negate: mg.negate, glob: mg.search.length === 0 ? null : mg };
    }
    return out;
  }
  if (!PROBE_COMMANDS.includes(name)) return out; // registered elsewhere: the parameter is its business

  // ftrace_trace_probe_callback
  if (opts.file === 'notrace') throw einval(`'${word}': function commands only work with set_ftrace_filter`);
  const counted = name === 'dump' || (name !== 'cpudump' && param !== undefined);
  out.command.probeOps = counted && name !== 'dump' ? `${name}_count` : name;
  if (negate) {
    // unregister_ftrace_function_probe_func(glob + 1): "" or "*" means all; a second '!' is a WARN_ON + EINVAL
    const g = func.slice(1);
    if (g.startsWith('!')) {
      const err = einval(`'${word}': '!' is not supported inside a function probe pattern`);
      (err as RingtraceError & { kernelWarnOn?: boolean }).kernelWarnOn = true;
      throw err;
    }
    if (g === '' || g === '*') out.glob = null;
    return out;
  }
  if (name === 'dump') {
    out.command.count = 1n; // ftrace_dump_callback: "Only dump once."
  } else if (name === 'cpudump') {
    out.command.count = null; // cpudump_probe_ops has no init: no counter, printed as unlimited
  } else if (param === undefined) {
    out.command.count = null;
  } else {
    const number = param.split(':')[0];
    out.command.count = number === '' ? -1n : BigInt.asIntN(64, kstrtoul(number));
  }
  return out;
}

/**
 * Everything one `write(text)` followed by close does: every word, in order, the last one flagged atClose when
 * no whitespace followed it. Throws the first error a word not at close gives (an error at close is ignored by
 * the kernel: such a word is dropped). For the exact partial effect of a failing write (the words before the
 * failing one DO apply), drive FilterWriteParser and parseFilterWord yourself.
 */
export function parseFilterWrite(text: string, opts: ParseOptions = {}): FilterCommand[] {
  const parser = new FilterWriteParser();
  const { words, error } = parser.write(text);
  const out = words.map((w) => parseFilterWord(w, opts, false));
  if (error) throw error;
  const last = parser.close();
  if (last !== null) {
    try {
      out.push(parseFilterWord(last, opts, true));
    } catch {
      // ftrace_regex_release ignores the return of ftrace_process_regex
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Selecting records: match_records, ftrace_match_record, add_rec_by_index
// ---------------------------------------------------------------------------------------------------------

export interface FilterRecord {
  name: string;
  /** Owning module; absent/null for the core kernel. */
  module?: string | null;
  /** FTRACE_FL_DISABLED (a module's records before it is enabled): skipped by pattern matches. */
  disabled?: boolean;
}

// ftrace_match_record with mod_g: blank module -> module records (core only with '!'); otherwise the module
// must match (or, with '!', must not: core records then pass); then a blank function pattern matches all.
export function matchModuleRecord(rec: FilterRecord, glob: Glob | null, module: ModuleSpec): boolean {
  const modname = rec.module ?? null;
  if (module.glob === null) {
    if (module.negate === (modname !== null)) return false;
  } else {
    const modMatches = modname !== null && matchGlob(module.glob, modname);
    if (modMatches === module.negate) return false;
  }
  if (glob === null || glob.search.length === 0) return true;
  return matchGlob(glob, rec.name);
}

/**
 * match_records: positions (into `records`, which must be the full record list in available_filter_functions
 * order) of the records the pattern selects. The caller adds them to the hash, or removes them when the
 * pattern began with '!' (enter_record). An empty result is the kernel's "nothing found" -> EINVAL (for
 * :mod:, first try cacheMod). An index pattern selects that one record, disabled or not, whatever the module.
 */
export function matchRecords(records: readonly FilterRecord[], glob: Glob | null, module?: ModuleSpec): number[] {
  const g: Glob = glob ?? { type: 'full', search: '', original: '', negate: false };
  if (g.type === 'index') {
    const i = (g.index ?? 0) - 1;
    return i >= 0 && i < records.length ? [i] : [];
  }
  const out: number[] = [];
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    if (rec.disabled) continue;
    if (module ? matchModuleRecord(rec, g, module) : matchGlob(g, rec.name)) out.push(i);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Cached :mod: entries: cache_mod, ftrace_add_mod, process_mod_list
// ---------------------------------------------------------------------------------------------------------

/** struct ftrace_mod_load: func as written (without '!', may be "" or a pattern), module as written. */
export interface CachedMod {
  func: string;
  module: string;
}

/**
 * cache_mod, called by the :mod: command when match_records found nothing. `list` is newest first (list_add).
 * Returns the new list or throws:
 * - '!func': removes the entries of exactly that module whose func equals func, or all of them for '*';
 *   EINVAL when none was removed;
 * - otherwise EINVAL when the module (its text, compared exactly) is loaded; else the entry is added first.
 * `func:mod` without a module: ENOMEM (the kernel's kstrdup(NULL) fails; with '!' and a non-empty list the
 * kernel would dereference NULL; here EINVAL).
 */
export function cacheMod(list: readonly CachedMod[], cmd: FilterCommand, isLoaded: (module: string) => boolean): CachedMod[] {
  const funcOrig = cmd.word.slice(0, cmd.word.indexOf(':') < 0 ? cmd.word.length : cmd.word.indexOf(':'));
  const module = cmd.module?.text;
  if (funcOrig.startsWith('!')) {
    const func = funcOrig.slice(1);
    if (module === undefined) throw einval(`'${cmd.word}': no module to remove`);
    const kept = list.filter((m) => !(m.module === module && (func === '*' || m.func === func)));
    if (kept.length === list.length) throw einval(`'${cmd.word}': no cached entry for module '${module}'`);
    return kept;
  }
  if (module === undefined) throw new RingtraceError('ENOMEM', `'${cmd.word}': no module name to cache`);
  if (isLoaded(module)) throw einval(`'${cmd.word}': no function of module '${module}' matches`);
  return [{ func: funcOrig, module }, ...list];
}

/**
 * process_mod_list when module `mod` loads: the cached entries of exactly that name leave the list and their
 * patterns are applied with match_records(hash, func, mod) (`apply`: the func texts, "" meaning all). For
 * set_ftrace_filter the kernel clears FTRACE_HASH_FL_MOD when `remaining` is empty.
 */
export function takeCachedMods(list: readonly CachedMod[], mod: string): { apply: string[]; remaining: CachedMod[] } {
  const apply: string[] = [];
  const remaining: CachedMod[] = [];
  for (const m of list) {
    if (m.module === mod) apply.push(m.func);
    else remaining.push(m);
  }
  return { apply, remaining };
}

// ---------------------------------------------------------------------------------------------------------
// Printing: t_show / print_rec, t_mod_show, t_probe_show -> ftrace_probe_print
// ---------------------------------------------------------------------------------------------------------

/** One line of available_filter_functions (print_rec): `name`, or `name [module]`; no newline. */
export function formatAvailableFilterFunction(name: string, module?: string | null): string {
  return module ? `${name} [${module}]` : name;
}

/** available_filter_functions: every record in order, one line each. */
export function formatAvailableFilterFunctions(records: readonly { name: string; module?: string | null }[]): string {
  let s = '';
  for (const r of records) s += formatAvailableFilterFunction(r.name, r.module) + '\n';
  return s;
}

export interface FilterProbeLine {
  func: string;
  /** The function's module: %ps prints `name [module]` for module text. */
  module?: string | null;
  /** The command name the probe's print callback uses (traceon, traceoff, stacktrace, dump, cpudump). */
  cmd: string;
  /** Current count (signed long), or null for a probe without a counter: printed `unlimited`. */
  count: bigint | number | null;
}

export interface FilterFileOptions {
  /** set_ftrace_filter or set_ftrace_notrace: chooses the banner, and only set_ftrace_filter lists probes. */
  file: 'filter' | 'notrace';
  /**
   * FTRACE_HASH_FL_MOD is set on the hash: ftrace_hash_empty() is then false even with no entries, so no
   * banner. The kernel sets it on the filter hash at close when cached :mod: entries exist, and clears it only
   * when a module load consumes the last one (process_mod_list) or the file is opened with O_TRUNC.
   */
  hashModFlag?: boolean;
  /** Cached :mod: entries, in list order (newest first). */
  cachedMods?: readonly CachedMod[];
  /** Function probes (set_ftrace_filter only), in the order the caller iterates them. */
  probes?: readonly FilterProbeLine[];
}

/**
 * The text of set_ftrace_filter / set_ftrace_notrace (t_start, t_show, t_mod_show, t_probe_show): the banner
 * when the hash is empty ("#### all functions enabled ####" / "#### no functions disabled ####"), else the
 * hashed functions in record order (`name` or `name [module]`); then the cached :mod: entries
 * (`func:mod:module`); then, for set_ftrace_filter, the probes (`func:cmd:unlimited` / `func:cmd:count=N`).
 */
export function formatFilterFile(entries: readonly { name: string; module?: string | null }[], opts: FilterFileOptions): string {
  let s = '';
  if (entries.length === 0 && !opts.hashModFlag) {
    s += opts.file === 'notrace' ? '#### no functions disabled ####\n' : '#### all functions enabled ####\n';
  } else {
    for (const e of entries) s += formatAvailableFilterFunction(e.name, e.module) + '\n';
  }
  for (const m of opts.cachedMods ?? []) s += `${m.func}:mod:${m.module}\n`;
  if (opts.file === 'filter') {
    for (const p of opts.probes ?? []) s += formatProbeLine(p);
  }
  return s;
}

/** ftrace_probe_print: `%ps:%s` then `:count=%ld` or `:unlimited`, newline. */
export function formatProbeLine(p: FilterProbeLine): string {
  const where = formatAvailableFilterFunction(p.func, p.module);
  return p.count === null ? `${where}:${p.cmd}:unlimited\n` : `${where}:${p.cmd}:count=${p.count}\n`;
}
