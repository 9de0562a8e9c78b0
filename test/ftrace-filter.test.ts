// The filter-file grammar of src/ftrace/filter.ts against kernel/trace/ftrace.c semantics. The glob cases
// follow tools/testing/selftests/ftrace/test.d/ftrace/func-filter-glob.tc (each pattern written to
// set_ftrace_filter must select exactly the functions of available_filter_functions that the grep expression
// selects).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FTRACE_BUFF_MAX,
  FUNCTION_COMMANDS,
  FilterWriteParser,
  cacheMod,
  formatAvailableFilterFunction,
  formatAvailableFilterFunctions,
  formatFilterFile,
  globMatch,
  matchGlob,
  matchRecords,
  parseFilterWord,
  parseFilterWrite,
  parseGlob,
  takeCachedMods,
  type FilterRecord,
} from '../src/ftrace/filter.ts';
import { RingtraceError } from '../src/errors.ts';

const CORE = [
  'schedule', '__schedule', 'preempt_schedule', 'preempt_schedule_irq', 'schedule_timeout', 'schedule_hrtimeout',
  'io_schedule', 'yield_to', 'sys_read', 'SyS_read', 'sYs_write', 'sys_', 'SYS_open', 'raw_spin_lock',
  '_raw_spin_lock', '_raw_spin_unlock', 'spin_lock_bh', 'pin_user_pages', 'mutex_trylock', 'mutex_lock',
  'mutex_lock_interruptible', 'mutex_try_to_wake', 'ww_mutex_trylock', 'scheduler_tick', 'sch_direct_xmit',
  'do_sys_open', 'vfs_read', 'vfs_write',
];
const RECORDS: FilterRecord[] = [
  ...CORE.map((name) => ({ name })),
  { name: 'uinput_release', module: 'uinput' },
  { name: 'uinput_open', module: 'uinput' },
  { name: 'uinput_schedule', module: 'uinput' },
  { name: 'snd_timer_open', module: 'snd_timer' },
  { name: 'snd_timer_close', module: 'snd_timer' },
  { name: 'vlan_dev_open', module: '8021q' },
];
const names = (idx: number[]) => idx.map((i) => RECORDS[i].name);

function einval(fn: () => unknown, re?: RegExp) {
  assert.throws(fn, (e: unknown) => e instanceof RingtraceError && e.code === 'EINVAL' && (!re || re.test(e.message)));
}

test('filter_parse_regex classification', () => {
  const cases: [string, string, string][] = [
    ['schedule', 'full', 'schedule'],
    ['schedule*', 'front', 'schedule'],
    ['*schedule', 'end', 'schedule'],
    ['*schedule*', 'middle', 'schedule'],
    ['*', 'end', ''],
    ['**', 'middle', ''],
    ['sch*ule', 'glob', 'sch*ule'],
    ['*pin*lock', 'glob', '*pin*lock'],
    ['mutex*try*', 'glob', 'mutex*try*'],
    ['sch?dule', 'glob', 'sch?dule'],
    ['[Ss]y[Ss]_*', 'glob', '[Ss]y[Ss]_*'],
    ['*a?', 'glob', '*a?'],
    ['foo\\*', 'glob', 'foo\\*'],
    ['5', 'index', '5'],
    ['1*', 'index', '1*'],
  ];
  for (const [text, type, search] of cases) {
    const g = parseGlob(text);
    assert.equal(g.type, type, text);
    assert.equal(g.search, search, text);
    assert.equal(g.original, text);
    assert.equal(g.negate, false);
  }
  const n = parseGlob('!*sched*');
  assert.deepEqual([n.type, n.search, n.original, n.negate], ['middle', 'sched', '*sched*', true]);
  assert.deepEqual([parseGlob('!').type, parseGlob('!').search, parseGlob('!').negate], ['full', '', true]);
  assert.equal(parseGlob('!!x').search, '!x');
});

test('ftrace_match for every kind', () => {
  const m = (p: string, s: string) => matchGlob(parseGlob(p), s);
  assert.ok(m('schedule', 'schedule'));
  assert.ok(!m('schedule', 'schedule_timeout'));
  assert.ok(m('sched*', 'schedule') && m('sched*', 'sched') && !m('sched*', '__schedule'));
  assert.ok(m('*lock', '_raw_spin_lock') && m('*lock', 'lock') && !m('*lock', 'lock_acquire'));
  assert.ok(m('*spin*', 'raw_spin_lock') && m('*spin*', 'spin') && !m('*spin*', 'spi'));
  assert.ok(m('*', 'anything') && m('*', '') && m('**', 'x'));
  assert.ok(m('sch*ule', 'schedule') && m('sch*ule', 'schule') && !m('sch*ule', 'schedule_timeout'));
  assert.ok(!m('7', 'schedule'), 'an index never matches a name');
});

test('glob_match (lib/glob.c) details', () => {
  assert.ok(globMatch('sch?dule', 'schedule'));
  assert.ok(!globMatch('sch?dule', 'schdule'));
  assert.ok(globMatch('[a-c]x', 'bx') && !globMatch('[a-c]x', 'dx'));
  assert.ok(globMatch('[!a-c]x', 'dx') && !globMatch('[!a-c]x', 'ax'));
  // '^' is not a negation in the kernel's glob: it is a member of the class
  assert.ok(globMatch('[^a]x', '^x') && globMatch('[^a]x', 'ax') && !globMatch('[^a]x', 'bx'));
  // ']' first in a class is literal; '-' last is literal
  assert.ok(globMatch('[]a]', ']') && globMatch('[]a]', 'a'));
  assert.ok(globMatch('[a-]', '-') && globMatch('[a-]', 'a') && !globMatch('[a-]', 'b'));
  // an unclosed '[' is matched literally
  assert.ok(globMatch('a[b', 'a[b') && !globMatch('a[b', 'ab'));
  // '\' escapes a metacharacter
  assert.ok(globMatch('a\\*b', 'a*b') && !globMatch('a\\*b', 'axb'));
  assert.ok(globMatch('a\\?', 'a?') && !globMatch('a\\?', 'ab'));
  // '*' backtracking
  assert.ok(globMatch('*aaaaa', 'aaaaaaaaaa') && globMatch('a*b*c', 'aXbYbZc') && !globMatch('a*b*c', 'aXbYbZ'));
  assert.ok(globMatch('*', '') && globMatch('*x*', 'x') && !globMatch('?', ''));
});

// tools/testing/selftests/ftrace/test.d/ftrace/func-filter-glob.tc: ftrace_filter_check GLOB GREP
test('func-filter-glob.tc cases', () => {
  const check = (glob: string, grep: RegExp) => {
    const cmds = parseFilterWrite(`${glob}\n`);
    assert.equal(cmds.length, 1);
    const got = names(matchRecords(RECORDS, cmds[0].glob));
    const expected = RECORDS.map((r) => r.name).filter((n) => grep.test(n));
    assert.ok(expected.length > 0, `${glob}: the fixture must have matches`);
    assert.deepEqual(got, expected, glob);
  };
  check('*schedule', /^.*schedule$/);
  check('*schedule*', /^.*schedule.*$/);
  check('schedule*', /^schedule.*$/);
  check('*pin*lock', /.*pin.*lock$/);
  check('mutex*try*', /^mutex.*try.*/);
  check('sch*ule', /^sch.*ule$/);
  check('[Ss]y[Ss]_*', /^[Ss]y[Ss]_.*$/);
  assert.deepEqual(names(matchRecords(RECORDS, parseGlob('sch?dule'))), ['schedule']);
});

test('a leading digit is a 1-based index into available_filter_functions', () => {
  assert.deepEqual(names(matchRecords(RECORDS, parseGlob('1'))), ['schedule']);
  assert.deepEqual(names(matchRecords(RECORDS, parseGlob('5'))), ['schedule_timeout']);
  assert.deepEqual(matchRecords(RECORDS, parseGlob('0')), [], 'index 0 selects nothing');
  assert.deepEqual(matchRecords(RECORDS, parseGlob(String(RECORDS.length + 1))), []);
  // simple_strtoul base 0: hex, octal, trailing junk ignored
  assert.deepEqual(names(matchRecords(RECORDS, parseGlob('0x2'))), ['__schedule']);
  assert.deepEqual(names(matchRecords(RECORDS, parseGlob('010'))), [RECORDS[7].name]);
  assert.deepEqual(names(matchRecords(RECORDS, parseGlob('3abc'))), ['preempt_schedule']);
  assert.deepEqual(matchRecords(RECORDS, parseGlob('18446744073709551615')), [], 'wraps to -1');
  const c = parseFilterWord('!2');
  assert.equal(c.negate, true);
  assert.equal(c.index, 2);
  // an index ignores the module part and disabled records
  const recs: FilterRecord[] = [{ name: 'a' }, { name: 'b', module: 'm', disabled: true }];
  assert.deepEqual(matchRecords(recs, parseGlob('2'), parseFilterWord('2:mod:zzz').module), [1]);
  assert.deepEqual(matchRecords(recs, parseGlob('b')), [], 'patterns skip disabled records');
});

test('words: whitespace splitting, continuation across writes, the last word at close', () => {
  assert.deepEqual(parseFilterWrite('a  b\tc\n').map((c) => [c.word, c.atClose]), [['a', false], ['b', false], ['c', false]]);
  assert.deepEqual(parseFilterWrite('a b').map((c) => [c.word, c.atClose]), [['a', false], ['b', true]]);
  assert.deepEqual(parseFilterWrite('   \n'), []);
  assert.deepEqual(parseFilterWrite('a\0b\n').map((c) => c.word), ['a', 'b']);

  const p = new FilterWriteParser();
  assert.deepEqual(p.write('sched'), { words: [], error: null });
  assert.deepEqual(p.write('ule vfs_'), { words: ['schedule'], error: null });
  assert.deepEqual(p.write('read\n'), { words: ['vfs_read'], error: null });
  assert.equal(p.close(), null);
  const q = new FilterWriteParser();
  q.write('x y');
  assert.equal(q.close(), 'y');

  // trace_get_user: at most FTRACE_BUFF_MAX - 1 bytes a word
  const ok = 'a'.repeat(FTRACE_BUFF_MAX - 1);
  assert.deepEqual(new FilterWriteParser().write(`${ok}\n`).words, [ok]);
  const r = new FilterWriteParser().write(`first ${ok}b second\n`);
  assert.deepEqual(r.words, ['first']);
  assert.ok(r.error instanceof RingtraceError && r.error.code === 'EINVAL');
  einval(() => parseFilterWrite(`${ok}b\n`));
});

test('! removal and plain patterns', () => {
  const c = parseFilterWord('!schedule*');
  assert.equal(c.negate, true);
  assert.equal(c.glob?.type, 'front');
  assert.equal(c.glob?.search, 'schedule');
  assert.equal(c.command, undefined);
  assert.equal(c.module, undefined);
  assert.deepEqual(names(matchRecords(RECORDS, c.glob)), ['schedule', 'schedule_timeout', 'schedule_hrtimeout', 'scheduler_tick']);
});

test(':mod: forms and ftrace_match_record module semantics', () => {
  const sel = (word: string) => {
    const c = parseFilterWord(word);
    return names(matchRecords(RECORDS, c.glob, c.module));
  };
  const m = parseFilterWord(':mod:uinput');
  assert.equal(m.glob, null);
  assert.deepEqual(m.command, { name: 'mod', param: 'uinput' });
  assert.deepEqual(m.module, { text: 'uinput', negate: false, glob: parseGlob('uinput') });
  assert.deepEqual(sel(':mod:uinput'), ['uinput_release', 'uinput_open', 'uinput_schedule']);
  assert.deepEqual(sel('*:mod:uinput'), ['uinput_release', 'uinput_open', 'uinput_schedule']);
  assert.deepEqual(sel('*open:mod:uinput'), ['uinput_open']);
  assert.deepEqual(sel('*open:mod:snd_*'), ['snd_timer_open']);
  // blank module: every module's functions; with '!' only the core kernel's
  assert.deepEqual(sel('*open:mod:*'), ['uinput_open', 'snd_timer_open', 'vlan_dev_open']);
  assert.deepEqual(sel('*open:mod:'), ['uinput_open', 'snd_timer_open', 'vlan_dev_open']);
  assert.deepEqual(sel('*open:mod:!*'), ['SYS_open', 'do_sys_open']);
  assert.deepEqual(sel('*open:mod:!'), ['SYS_open', 'do_sys_open']);
  // '!' module: all but that module, the core kernel included
  assert.deepEqual(sel('*open:mod:!uinput'), ['SYS_open', 'do_sys_open', 'snd_timer_open', 'vlan_dev_open']);
  // a module name starting with a digit parses as an index and never matches (filter_parse_regex)
  assert.deepEqual(sel(':mod:8021q'), []);
  // '!' on the function part removes; the module part is separate
  const r = parseFilterWord('!*open:mod:uinput');
  assert.equal(r.negate, true);
  assert.equal(r.module?.negate, false);
  // no module part: the function matches like a plain pattern
  const nm = parseFilterWord('schedule:mod');
  assert.equal(nm.module, undefined);
  assert.deepEqual(sel('schedule:mod'), ['schedule']);
  // the module text is not split further
  assert.equal(parseFilterWord('f:mod:a:b').module?.text, 'a:b');
});

test('cached :mod: entries (cache_mod, process_mod_list)', () => {
  const loaded = new Set(['uinput']);
  const isLoaded = (m: string) => loaded.has(m);
  let list = cacheMod([], parseFilterWord(':mod:snd_seq'), isLoaded);
  list = cacheMod(list, parseFilterWord('*open:mod:snd_seq'), isLoaded);
  list = cacheMod(list, parseFilterWord('foo:mod:kvm'), isLoaded);
  assert.deepEqual(list, [
    { func: 'foo', module: 'kvm' },
    { func: '*open', module: 'snd_seq' },
    { func: '', module: 'snd_seq' },
  ]);
  // a loaded module whose functions did not match is not cached
  einval(() => cacheMod(list, parseFilterWord('nosuch:mod:uinput'), isLoaded));
  // removal: exact func, or '*' for all of that module; nothing removed -> EINVAL
  assert.deepEqual(cacheMod(list, parseFilterWord('!*open:mod:snd_seq'), isLoaded), [
    { func: 'foo', module: 'kvm' },
    { func: '', module: 'snd_seq' },
  ]);
  assert.deepEqual(cacheMod(list, parseFilterWord('!*:mod:snd_seq'), isLoaded), [{ func: 'foo', module: 'kvm' }]);
  einval(() => cacheMod(list, parseFilterWord('!bar:mod:kvm'), isLoaded));
  assert.throws(() => cacheMod(list, parseFilterWord('nosuch:mod'), isLoaded), (e: unknown) => e instanceof RingtraceError && e.code === 'ENOMEM');

  const t = takeCachedMods(list, 'snd_seq');
  assert.deepEqual(t.apply, ['*open', '']);
  assert.deepEqual(t.remaining, [{ func: 'foo', module: 'kvm' }]);
  // applied on load with the module name: "" selects every function of the module
  const recs: FilterRecord[] = [{ name: 'snd_seq_open', module: 'snd_seq' }, { name: 'snd_seq_close', module: 'snd_seq' }, { name: 'x_open' }];
  const modSpec = parseFilterWord(':mod:snd_seq').module;
  assert.deepEqual(matchRecords(recs, parseGlob('*open'), modSpec), [0]);
  assert.deepEqual(matchRecords(recs, null, modSpec), [0, 1]);
});

test('function commands with and without counts', () => {
  const on = parseFilterWord('schedule:traceon');
  assert.deepEqual(on.command, { name: 'traceon', count: null, probeOps: 'traceon' });
  assert.deepEqual(parseFilterWord('schedule:traceoff:5').command, { name: 'traceoff', param: '5', count: 5n, probeOps: 'traceoff_count' });
  assert.equal(parseFilterWord('schedule:traceoff:0x10').command?.count, 16n);
  assert.equal(parseFilterWord('schedule:traceoff:010').command?.count, 8n);
  assert.equal(parseFilterWord('schedule:traceoff:+3').command?.count, 3n);
  assert.equal(parseFilterWord('schedule:traceoff:3:junk').command?.count, 3n, 'only the text up to the next ":" is the count');
  assert.equal(parseFilterWord('schedule:stacktrace:').command?.count, -1n, 'empty count stores -1');
  assert.equal(parseFilterWord('schedule:stacktrace:18446744073709551615').command?.count, -1n);
  assert.deepEqual(parseFilterWord('schedule:dump').command, { name: 'dump', count: 1n, probeOps: 'dump' });
  assert.deepEqual(parseFilterWord('schedule:dump:7').command, { name: 'dump', param: '7', count: 1n, probeOps: 'dump' });
  assert.deepEqual(parseFilterWord('schedule:cpudump:7').command, { name: 'cpudump', param: '7', count: null, probeOps: 'cpudump' });
  // removal: no count parsing; the ops are chosen by the presence of a parameter
  const off = parseFilterWord('!schedule:traceoff');
  assert.equal(off.negate, true);
  assert.equal(off.command?.probeOps, 'traceoff');
  assert.equal(off.command?.count, undefined);
  assert.equal(parseFilterWord('!schedule:traceoff:abc').command?.probeOps, 'traceoff_count');
  assert.equal(parseFilterWord('!*:traceon').glob, null, "'*' removes every function of the probe");
  assert.equal(parseFilterWord('!:traceon').glob, null);
  assert.equal(parseFilterWord('!sched*:traceon').glob?.type, 'front');
  assert.deepEqual(FUNCTION_COMMANDS, ['mod', 'traceon', 'traceoff', 'stacktrace', 'dump', 'cpudump', 'enable_event', 'disable_event', 'snapshot']);
});

test('a count beyond 64 bits is ERANGE, as kstrtoul returns', () => {
  assert.throws(() => parseFilterWord('schedule:traceoff:18446744073709551616'), (e: unknown) => e instanceof RingtraceError && e.code === 'ERANGE');
});

test('malformed input is EINVAL', () => {
  einval(() => parseFilterWord('schedule:traceoff:abc'), /invalid count/);
  einval(() => parseFilterWord('schedule:traceoff:-1'));
  einval(() => parseFilterWord('schedule:traceoff:0x'));
  einval(() => parseFilterWord('schedule:traceoff:08'));
  einval(() => parseFilterWord('schedule:traceoff:+'));
  einval(() => parseFilterWord('schedule:nosuchcmd'), /unknown command/);
  einval(() => parseFilterWord('schedule:'));
  einval(() => parseFilterWord('schedule::5'));
  einval(() => parseFilterWord('schedule:snapshot', { commands: ['mod', 'traceon'] }), /unknown command/);
  // ftrace_trace_snapshot_callback(): counted as traceon is, set_ftrace_filter only
  assert.deepEqual(parseFilterWord('schedule:snapshot:3').command, { name: 'snapshot', param: '3', count: 3n, probeOps: 'snapshot_count' });
  assert.deepEqual(parseFilterWord('schedule:snapshot').command, { name: 'snapshot', count: null, probeOps: 'snapshot' });
  einval(() => parseFilterWord('schedule:snapshot', { file: 'notrace' }));
  einval(() => parseFilterWord('schedule:traceon', { file: 'notrace' }));
  einval(() => parseFilterWord('!schedule:traceon', { file: 'notrace' }));
  assert.equal(parseFilterWord(':mod:uinput', { file: 'notrace' }).command?.name, 'mod');
  einval(() => parseFilterWord('!!schedule:traceon'));
  // a parse error in the word processed at close is ignored, like ftrace_regex_release does
  assert.deepEqual(parseFilterWrite('a b:nosuch').map((c) => c.word), ['a']);
  einval(() => parseFilterWrite('a b:nosuch c'));
});

test('printing: banner, functions, cached mod lines, probes', () => {
  assert.equal(formatFilterFile([], { file: 'filter' }), '#### all functions enabled ####\n');
  assert.equal(formatFilterFile([], { file: 'notrace' }), '#### no functions disabled ####\n');
  assert.equal(
    formatFilterFile([{ name: 'schedule' }, { name: 'uinput_release', module: 'uinput' }], { file: 'filter' }),
    'schedule\nuinput_release [uinput]\n',
  );
  const cachedMods = [{ func: '', module: 'snd_seq' }, { func: '*open', module: 'kvm' }];
  assert.equal(
    formatFilterFile([], { file: 'filter', cachedMods, probes: [{ func: 'schedule', cmd: 'traceoff', count: 3 }] }),
    '#### all functions enabled ####\n:mod:snd_seq\n*open:mod:kvm\nschedule:traceoff:count=3\n',
  );
  // FTRACE_HASH_FL_MOD: no banner for an empty hash while cached entries exist
  assert.equal(formatFilterFile([], { file: 'filter', hashModFlag: true, cachedMods }), ':mod:snd_seq\n*open:mod:kvm\n');
  const probes = [
    { func: 'schedule', cmd: 'traceon', count: null },
    { func: 'vfs_read', cmd: 'stacktrace', count: 0n },
    { func: 'uinput_open', module: 'uinput', cmd: 'traceoff', count: -1n },
  ];
  assert.equal(
    formatFilterFile([{ name: 'vfs_read' }], { file: 'filter', probes }),
    'vfs_read\nschedule:traceon:unlimited\nvfs_read:stacktrace:count=0\nuinput_open [uinput]:traceoff:count=-1\n',
  );
  // set_ftrace_notrace never lists probes
  assert.equal(formatFilterFile([{ name: 'vfs_read' }], { file: 'notrace', probes, cachedMods }), 'vfs_read\n:mod:snd_seq\n*open:mod:kvm\n');
  assert.equal(formatAvailableFilterFunction('schedule'), 'schedule');
  assert.equal(formatAvailableFilterFunction('uinput_release', 'uinput'), 'uinput_release [uinput]');
  assert.equal(formatAvailableFilterFunctions([{ name: 'a' }, { name: 'b', module: 'm' }]), 'a\nb [m]\n');
});
