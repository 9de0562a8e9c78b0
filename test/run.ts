// Runs every test/**/*.test.ts with node:test's run(), one file at a time (tests start worker threads;
// the target machine has 2 cores), spec reporter to stdout, exit code 1 on any failure.
//   node --import tsx test/run.ts [name-filter ...]
// Optional arguments keep only the files whose path contains one of them.
//
// Loader: each file runs in a child process. Node 20.20's run() has no `execArgv` option (it is ignored
// there), but the children inherit this process's execArgv, so `--import tsx` reaches them. If the runner
// was started some other way without the tsx loader, it is added through NODE_OPTIONS instead.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';

const testDir = fileURLToPath(new URL('.', import.meta.url));

function findTests(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) findTests(path, out);
    } else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
      out.push(path);
    }
  }
  return out;
}

const filters = process.argv.slice(2);
const files = findTests(testDir)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();

if (files.length === 0) {
  console.error(`test/run.ts: no *.test.ts files found under ${testDir}${filters.length ? ` matching ${filters.join(', ')}` : ''}`);
  process.exit(1);
}

const hasTsx = (args: readonly string[]) => args.some((a) => /tsx/.test(a));
if (!hasTsx(process.execArgv) && !hasTsx((process.env.NODE_OPTIONS ?? '').split(/\s+/))) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import tsx`.trim();
}

console.log(`test/run.ts: ${files.length} file(s): ${files.map((f) => relative(process.cwd(), f)).join(' ')}`);

let failed = 0;
const stream = run({ files, concurrency: 1 });
stream.on('test:fail', (event) => {
  // A file that fails to load is reported as a failure of the file itself; todo tests do not count.
  if (!event.todo) failed++;
});
stream.once('end', () => {
  if (failed > 0) process.exitCode = 1;
});
stream.compose(spec).pipe(process.stdout);
