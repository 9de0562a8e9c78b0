// The shell language and builtins of `ringtrace sh`, against an in-memory file system that fails like
// tracefs does (EINVAL on bad values, EACCES on read-only files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Shell } from '../src/shell/shell.ts';
import type { KernelFs } from '../src/shell/kernel-fs.ts';
import { RingtraceError } from '../src/errors.ts';

function memFs() {
  const files = new Map<string, string>([
    ['/t/tracing_on', '1\n'],
    ['/t/buffer_size_kb', '1410\n'],
    ['/t/trace', 'line one\nline two\n'],
    ['/t/ro', 'x\n'],
  ]);
  const dirs = new Set(['/', '/t', '/t/instances']);
  const writes: string[] = [];
  const fs: KernelFs = {
    read(path) {
      if (dirs.has(path)) throw new RingtraceError('EISDIR', path);
      const v = files.get(path);
      if (v === undefined) throw new RingtraceError('ENOENT', path);
      return v;
    },
    async write(path, data, append) {
      writes.push(`${path}${append ? ' >>' : ' >'} ${JSON.stringify(data)}`);
      if (path === '/t/ro') throw new RingtraceError('EACCES', 'read-only');
      // tracefs has no ->create
      if (!files.has(path)) throw new RingtraceError(dirs.has(path.slice(0, path.lastIndexOf('/')) || '/') ? 'EACCES' : 'ENOENT', path);
      if (path === '/t/tracing_on') {
        if (!/^\s*\d+\s*$/.test(data)) throw new RingtraceError('EINVAL', 'not a number');
        files.set(path, `${Number(data)}\n`);
        return;
      }
      files.set(path, append ? (files.get(path) ?? '') + data : data);
    },
    list(path) {
      const prefix = path === '/' ? '/' : path + '/';
      return [...new Set([...files.keys(), ...dirs].filter((p) => p.startsWith(prefix) && p !== path).map((p) => p.slice(prefix.length).split('/')[0]))];
    },
    isDir: (path) => dirs.has(path),
    exists: (path) => dirs.has(path) || files.has(path),
    async mkdir(path) {
      if (dirs.has(path) || files.has(path)) throw new RingtraceError('EEXIST', path);
      dirs.add(path);
    },
    async rmdir(path) {
      if (!dirs.has(path)) throw new RingtraceError('ENOENT', path);
      if (path.endsWith('busy')) throw new RingtraceError('EBUSY', path);
      dirs.delete(path);
    },
  };
  return { fs, files, dirs, writes };
}

async function sh(script: string, args?: string[]) {
  const m = memFs();
  let out = '';
  let err = '';
  const shell = new Shell({ fs: m.fs, mounts: ['/t'], stdout: (t) => (out += t), stderr: (t) => (err += t), args, commands: { modprobe: (c) => (c.args[0] === 'uinput' ? 0 : (c.err(`modprobe: FATAL: Module ${c.args[0]} not found.\n`), 1)) } });
  const status = await shell.run(script);
  return { status, out, err, ...m, shell };
}

test('cd, echo > and >>, cat, and a relative path', async () => {
  const r = await sh('cd /t\necho 0 > tracing_on\ncat tracing_on\necho hello >> trace\ncat /t/trace');
  assert.equal(r.status, 0);
  assert.equal(r.out, '0\nline one\nline two\nhello\n');
  // each redirection opens its target first (O_TRUNC, or O_APPEND for >>), then writes the command's output
  assert.deepEqual(r.writes, ['/t/tracing_on > ""', '/t/tracing_on > "0\\n"', '/t/trace >> ""', '/t/trace >> "hello\\n"']);
});

test('a failed write is reported like bash and gives a non-zero status; the script goes on', async () => {
  const r = await sh('cd /t\necho abc > tracing_on\necho $?\necho 1 > ro\necho 2 > nothere\necho 3 > /nodir/x\ntrue');
  assert.equal(r.status, 0);
  assert.equal(r.out, '1\n');
  assert.match(r.err, /^sh: echo: write error: Invalid argument$/m);
  assert.match(r.err, /^sh: line 4: ro: Permission denied$/m);
  // tracefs has no ->create: a new name in an existing directory is EACCES, in a missing one ENOENT
  assert.match(r.err, /^sh: line 5: nothere: Permission denied$/m);
  assert.match(r.err, /^sh: line 6: \/nodir\/x: No such file or directory$/m);
  assert.equal(r.files.get('/t/tracing_on'), '1\n');
});

test('the exit status is that of the last command', async () => {
  assert.equal((await sh('true; false')).status, 1);
  assert.equal((await sh('false; true')).status, 0);
  assert.equal((await sh('nosuchcmd')).status, 127);
  assert.equal((await sh('exit 3; true')).status, 3);
  assert.equal((await sh('modprobe nope')).status, 1);
});

test('&&, ||, pipelines, grep, wc, quoting and variables', async () => {
  const r = await sh(`cd /t; F=trace; cat $F | grep -c line; grep -q two "$F" && echo found || echo missing
echo 'a  b' "c $F" \\$F; cat trace | grep one | wc -l; echo \${F}x; cat trace | tail -n 1; cat trace | head -n 1`);
  assert.equal(r.out, '2\nfound\na  b c trace $F\n1\ntracex\nline two\nline one\n');
});

test('redirections: 2>/dev/null, 2>&1, an empty > truncates (opens with O_TRUNC)', async () => {
  const r = await sh('cat /nope 2>/dev/null; echo $?; cat /nope > /t/trace 2>&1; cat /t/trace; : > /t/trace');
  assert.equal(r.out, '1\ncat: /nope: No such file or directory\n');
  assert.equal(r.files.get('/t/trace'), '');
});

test('mkdir/rmdir, ls, test, set -e', async () => {
  const r = await sh('cd /t/instances && mkdir foo && ls; mkdir foo; rmdir busy; [ -d foo ] && echo dir; test -e bar || echo nobar');
  assert.equal(r.out, 'foo\ndir\nnobar\n');
  assert.match(r.err, /mkdir: cannot create directory 'foo': File exists/);
  assert.match(r.err, /rmdir: failed to remove 'busy': No such file or directory/);
  const e = await sh('set -e; true; false; echo not reached');
  assert.equal(e.status, 1);
  assert.equal(e.out, '');
  const e2 = await sh('set -e; false || true; echo reached');
  assert.equal(e2.out, 'reached\n');
});

test('syntax errors and comments; positional arguments', async () => {
  const r = await sh("echo 'unterminated");
  assert.equal(r.status, 2);
  assert.match(r.err, /unexpected EOF while looking for matching `'/);
  const c = await sh('# a comment\necho $1 $# # trailing\n', ['arg']);
  assert.equal(c.out, 'arg 1\n');
});
