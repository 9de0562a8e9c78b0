// The package as a user gets it: `npm pack`, installed from the tarball into a fresh project with no
// registry (npm --offline), then run the ways a user would: plain node, node with
// tsx, the consumer's tsc (strict, NodeNext and bundler), deno run on the installed package and on this
// checkout by path, the bin, and every example in examples/. Each process must end by itself after
// close() (a bounded wait: a timeout is a failure). Needs the build (npm test builds first).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, symlinkSync, readFileSync, writeFileSync, cpSync, rmSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const deno = join(root, 'node_modules', '.bin', 'deno');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// The npm installed beside node: under `npm test`, PATH starts with node_modules/.bin, where
// @as-pect/cli's npm 6 is (no --pack-destination, other lockfile rules).
const besideNode = join(dirname(process.execPath), 'npm');
const npm = existsSync(besideNode) ? [besideNode] : ['npm'];
const EXIT_BOUND_MS = 120_000; // far beyond any run here: reaching it means the process did not end
// npm pack and install are no test of exiting, and take over a minute on a busy machine
const INSTALL_BOUND_MS = 600_000;
let dir = '';

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd = dir, bound = EXIT_BOUND_MS): Ran {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: bound, env: { ...process.env, NO_COLOR: '1' } });
  // a process killed at the bound may still exit with a status of its own (npm does, on SIGTERM)
  const timedOut = (r.error as { code?: string } | undefined)?.code === 'ETIMEDOUT';
  if (r.error && !timedOut) throw r.error;
  assert.ok(!timedOut && r.signal === null, `${cmd} ${args.join(' ')} did not exit by itself within ${bound} ms\n${r.stdout}\n${r.stderr}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(cmd: string, args: string[], cwd = dir, bound = EXIT_BOUND_MS): string {
  const r = run(cmd, args, cwd, bound);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// The README's API example, as a user copies it.
function readmeApiExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const m = /<!-- api-example[^>]*-->\s*```ts\n([\s\S]*?)```/.exec(readme);
  assert.ok(m, 'README.md has the marked API example');
  return m[1];
}

before(() => {
  assert.ok(existsSync(join(root, 'dist', 'src', 'index.js')), 'dist/ is built (npm run build)');
  dir = mkdtempSync(join(tmpdir(), 'ringtrace-consumer-'));
  const packed = JSON.parse(ok(npm[0], [...npm.slice(1), 'pack', '--json', '--ignore-scripts', '--pack-destination', dir], root, INSTALL_BOUND_MS));
  const tarball = join(dir, packed[0].filename);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2));
  // the package's runtime dependencies come from this checkout's node_modules, packed likewise
  const deps = Object.keys(pkg.dependencies ?? {}).map((name) => {
    const out = JSON.parse(ok(npm[0], [...npm.slice(1), 'pack', '--json', '--ignore-scripts', '--pack-destination', dir, join(root, 'node_modules', name)], root, INSTALL_BOUND_MS));
    return join(dir, out[0].filename);
  });
  ok(npm[0], [...npm.slice(1), 'install', '--offline', '--no-audit', '--no-fund', tarball, ...deps], dir, INSTALL_BOUND_MS);
  // the consumer's own tools, linked from this checkout: npm --offline cannot resolve a package by
  // name without its registry metadata, which `npm ci` does not cache
  mkdirSync(join(dir, 'node_modules', '@types'), { recursive: true });
  for (const tool of ['tsx', 'typescript', '@types/node']) symlinkSync(join(root, 'node_modules', tool), join(dir, 'node_modules', tool), 'dir');
  writeFileSync(join(dir, 'app.mjs'), readmeApiExample());
  writeFileSync(join(dir, 'app.ts'), readmeApiExample());
  cpSync(join(root, 'examples'), join(dir, 'examples'), { recursive: true });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the compiled package, the Wasm module, README, CHANGELOG and LICENSE, and no sources or tests', () => {
  const files = JSON.parse(ok(npm[0], [...npm.slice(1), 'pack', '--dry-run', '--json', '--ignore-scripts'], root))[0].files.map((f: { path: string }) => f.path);
  for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/machine/cpu-worker.js', 'dist/build/ringtrace.wasm', 'bin/ringtrace.mjs', 'README.md', 'CHANGELOG.md', 'LICENSE', 'package.json']) {
    assert.ok(files.includes(f), `${f} is in the tarball`);
  }
  for (const f of files) assert.ok(/^(dist|bin)\/|^[A-Z]+(\.md)?$|^package\.json$/.test(f), `${f} does not belong in the tarball`);
});

test("import 'ringtrace' statically loads no dependency and no CLI module (a dependency loads when a feature needs it)", () => {
  // the static import graph of the compiled entry: relative modules and node: builtins only
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    assert.ok(!file.includes('/dist/src/cli/'), `${file} is a CLI module`);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/^(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^import\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] ?? m[2];
      if (spec.startsWith('node:')) continue;
      assert.ok(spec.startsWith('.'), `${file} imports the package '${spec}'`);
      visit(fileURLToPath(new URL(spec, pathToFileURL(file))));
    }
  };
  visit(join(root, 'dist', 'src', 'index.js'));
  assert.ok(seen.size > 10, `the graph was walked (${seen.size} modules)`);
});

test("the README's API example runs with plain node and with node --import tsx, and exits by itself", () => {
  const plain = ok('node', ['app.mjs']);
  assert.match(plain, /entries:/, 'the stats of per_cpu/cpu0/stats were printed');
  ok('node', ['--import', 'tsx', 'app.ts']);
});

test("a consumer's tsc --noEmit (strict, no skipLibCheck, target ES2022 with its default lib) passes under NodeNext and bundler", () => {
  const base = { target: 'ES2022', strict: true, skipLibCheck: false, noEmit: true, allowImportingTsExtensions: true, types: ['node'] };
  for (const [module, moduleResolution] of [['NodeNext', 'NodeNext'], ['ESNext', 'bundler']]) {
    const config = `tsconfig.${moduleResolution}.json`;
    writeFileSync(join(dir, config), JSON.stringify({ compilerOptions: { ...base, module, moduleResolution }, include: ['app.ts', 'examples'] }));
    const r = run('node', [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', config]);
    assert.equal(r.status, 0, `tsc (${moduleResolution}):\n${r.stdout}${r.stderr}`);
  }
});

test('deno run on the installed package and on this checkout by path, each exiting by itself', () => {
  ok(deno, ['run', '--node-modules-dir=manual', '--allow-read', 'app.ts']);
  const byPath = readmeApiExample().replace("from 'ringtrace'", `from '${new URL('../src/index.ts', import.meta.url).href}'`);
  writeFileSync(join(dir, 'checkout-app.ts'), byPath);
  ok(deno, ['run', '--allow-read', 'checkout-app.ts']);
});

test('deno run without --allow-read reports the missing permission', () => {
  const r = run(deno, ['run', '--node-modules-dir=manual', 'app.ts']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /EACCES: ringtrace needs read access to .*ringtrace\.wasm \(Deno: run with --allow-read\)/);
});

test('the installed bin runs the compiled CLI with no loader', () => {
  assert.match(ok(npm[0], [...npm.slice(1), 'exec', '--offline', '--', 'ringtrace', 'repro', '--list']), /20ad8b0888be/);
});

test('every example runs against the installed package, in Node and in Deno', () => {
  const ex = (...p: string[]) => join('examples', ...p);
  assert.deepEqual(readdirSync(join(root, 'examples')).filter((f) => !f.startsWith('ci')).sort(), ['deno-app.ts', 'node-app.mjs', 'worker-reader', 'worker-writer', 'worker-writer-ts']);
  assert.match(ok('node', [ex('node-app.mjs')]), /read 300 events/);
  assert.match(ok(deno, ['run', '--node-modules-dir=manual', '--allow-read', ex('deno-app.ts')]), /CPU 1 recorded 8 events/);
  for (const cmd of [['node'], [deno, 'run', '--node-modules-dir=manual', '--allow-read']]) {
    assert.match(ok(cmd[0], [...cmd.slice(1), ex('worker-writer', 'main.mjs')]), /worker wrote 2000 events as CPU 1; read back 2000 in order/);
    assert.match(ok(cmd[0], [...cmd.slice(1), ex('worker-reader', 'main.mjs')]), /a worker wrote 2000 events as CPU 1, another read 2000 of them in order; entries 0, overrun 0, read 2000/);
  }
  assert.match(ok('node', ['--import', 'tsx', ex('worker-writer-ts', 'main.ts')]), /wrote 1000 events as CPU 2; read back 1000 in order/);
  assert.match(ok(deno, ['run', '--node-modules-dir=manual', '--allow-read', ex('worker-writer-ts', 'main.ts')]), /wrote 1000 events as CPU 2; read back 1000 in order/);
});
