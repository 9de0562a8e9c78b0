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
  // one open (O_TRUNC, or O_APPEND for >>), one write of the command's output, close
  assert.deepEqual(r.writes, ['/t/tracing_on > "0\\n"', '/t/trace >> "hello\\n"']);
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

// the commands the shell inserts at a subshell's and a loop body's start keep $?, but under set -e
// a failed condition before them must not end the script (reset_ftrace_filter's `if [..] else x=`..``)
test('set -e: a subshell or an until loop after a failed condition does not end the script; $? reaches subshells', async () => {
  const r = await sh('set -e; if [ a = b ]; then :; else x=`echo sub`; fi; echo $x; false || (echo sub2); until false; do echo in; break; done; set +e; false; (echo "st=$?"); false; echo "st=$(echo $?)"');
  assert.equal(r.out, 'sub\nsub2\nin\nst=1\nst=1\n');
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

test('kernel-script constructs: functions, if/for/while/case, $(…), backticks, $((…)), subshells, !, local, eval, read', async () => {
  const r = await sh(`fail() { echo "fail: $1"; return 3; }
count() { local n=0; for f in "$@"; do n=$((n + 1)); done; echo $n; }
if ! fail x > /dev/null; then echo negated; fi
echo "$(count a b c) \`count d e\`"
i=0; while [ $i -lt 3 ]; do i=$((i + 1)); done; echo i=$i
case tracing_on in tracing*) echo glob-case;; *) echo other;; esac
( cd /t; echo sub: $(pwd) ); echo top: $(pwd)
eval 'echo evaluated'
printf 'a b\\n' > /tmp/in; read x y < /tmp/in; echo "read $y $x"
test -d /t -a -f /t/trace && echo and; test -f /nope -o -f /t/trace && echo or
for c in /t/*_on; do echo $c; done`);
  assert.equal(r.err, '');
  assert.equal(r.out, 'negated\n3 2\ni=3\nglob-case\nsub: /t\ntop: /\nevaluated\nread b a\nand\nor\n/t/tracing_on\n');
});

test('silently wrong before: result=$? assigns, wc -l FILE and head -n N FILE read the file, a bad test is status 2', async () => {
  const r = await sh(`false; result=$?; echo result=$result
wc -l /t/trace; head -n 1 /t/trace; tail -n 1 /t/trace
test a = b c; echo test=$?`);
  assert.equal(r.out, 'result=1\n2 /t/trace\nline one\nline two\ntest=2\n');
});

test('a function body runs when called, not where it is defined (exit_pass () { exit 0; } does not end the script)', async () => {
  const r = await sh('exit_pass () { exit 0; }\necho defined\nfalse\n');
  assert.equal(r.out, 'defined\n');
  assert.equal(r.status, 1);
});

test('set -x traces commands on stderr; set -e stops at a failure; exit abc is status 2 like bash', async () => {
  const x = await sh('set -x; echo hi');
  assert.equal(x.out, 'hi\n');
  assert.match(x.err, /^\+ echo hi$/m);
  const e = await sh('set -e; f() { false; }; f; echo not reached');
  assert.equal(e.out, '');
  assert.equal(e.status, 1);
  const bad = await sh('exit abc');
  assert.equal(bad.status, 2);
  assert.match(bad.err, /exit: abc: numeric argument required/);
});

test('set -e and forks: a subshell or $(…) entered with a failed $? goes on, and set -x does not show the fork hooks', async () => {
  const r = await sh('set -e; set -x; if [ a = b ]; then :; else x=$(echo forked); fi; ( false ) || y=$(echo $?); echo "$x $y"');
  assert.equal(r.status, 0, r.err);
  assert.equal(r.out, 'forked 1\n');
  assert.ok(!/__fork/.test(r.err), r.err);
});

test('grep with several -e patterns keeps each one\'s anchors (GNU grep: any of them matches)', async () => {
  const r = await sh("printf '#a\\nb\\nxschedule\\nc#\\n' > /tmp/f; grep -v -e '^#' -e schedule /tmp/f; grep -e 'a$' -e '^x' /tmp/f; grep -c -e b -e c /tmp/f");
  assert.equal(r.out, 'b\nc#\n#a\nxschedule\n3\n', r.err);
});

test('& runs a job beside the script: $!, kill -SIG PID and wait give 128+SIG; the job sees the variables and functions', async () => {
  const r = await sh(`loop() { while :; do : > /t/trace; done; }
loop &
p=$!
v=7; ( sleep 0.1; echo "job v=$v" ) &
q=$!
sleep 0.3
kill -1 $p; wait $p; echo "killed=$?"
wait $q; echo "done=$?"
kill $p; echo "again=$?"`);
  assert.equal(r.out, 'job v=7\nkilled=129\ndone=0\nagain=1\n');
  assert.match(r.err, /kill: \(\d+\) - No such process/);
});

test('the host files are out of reach: / is in memory, /tmp is writable, nothing leaves it', async () => {
  const r = await sh(`cat /etc/passwd; ls /home /root /work 2>&1 | wc -l; echo secret > /tmp/x; cat /tmp/x; cd /..; pwd; ls /`);
  assert.match(r.err, /cat: \/etc\/passwd: No such file or directory/);
  assert.equal(r.out.split('\n').slice(1).join('\n'), 'secret\n/\ndev\nt\ntmp\n');
});

test('a time limit or Ctrl-C stops the script; sleep of a huge value waits without overflowing', async () => {
  const m = memFs();
  let out = '';
  let err = '';
  const shell = new Shell({ fs: m.fs, mounts: ['/t'], stdout: (t) => (out += t), stderr: (t) => (err += t) });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  const status = await shell.run('sleep 3000000; echo never', { signal: ac.signal });
  process.off('warning', onWarning);
  assert.notEqual(status, 0);
  assert.equal(out, '');
  assert.deepEqual(warnings, []);
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 200);
  await shell.run('while :; do :; done', { signal: ac2.signal });
  assert.match(err, /aborted/);
});

test('grep, sed and awk match in linear time: a catastrophic pattern returns at once', async () => {
  const r = await sh(`printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\\n' > /tmp/a
grep -cE '(a+)+$' /tmp/a; sed -E 's/(a+)+$/X/' /tmp/a; awk '/(a+)+$/ { print "m" }' /tmp/a; echo end`);
  assert.equal(r.out, '0\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\nend\n');
});

test('utilities kernel scripts use: printf seq tr cut sort expr basename md5sum diff dd cp mv rm nproc-free', async () => {
  const r = await sh(`printf '%d-%s\\n' 3 x; seq 2 3; echo abc | tr a-c A-C; echo a:b | cut -d: -f2; printf 'b\\na\\n' | sort
expr 2 \\* 3; basename /x/y.tc .tc; echo hi | md5sum
cp /t/trace /tmp/copy; diff /t/trace /tmp/copy && echo same; mv /tmp/copy /tmp/moved; rm /tmp/moved; ls /tmp
dd if=/t/trace bs=4 count=1 2>/dev/null; echo`);
  assert.equal(r.out, '3-x\n2\n3\nABC\nb\na\nb\n6\ny\n764efa883dda1e11db47671c4a3bbd9e  -\nsame\nline\n');
});
