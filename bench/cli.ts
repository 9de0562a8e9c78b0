// The CLI's start-up (issue 8: `ringtrace sh` must start in under a second): wall time of a whole
// `ringtrace sh -c true` process, as an installed package runs it (the compiled dist/ entry; the living
// kernel on, its default): Node's start, the imports, booting a 2-CPU machine, the shell, exit. A sample
// is the median of a few processes.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { median } from './stats.ts';
import { BenchUsageError, type BenchContext, type OpenSuite, type Suite } from './suite.ts';

const PROCESSES = 3;

export const cliSuite: Suite = {
  name: 'cli',
  figures: ['cli.sh_startup'],
  open: openCli,
};

// dist/src/cli/main.js seen from bench/ in a checkout, or from dist/bench/ once compiled
function compiledMain(): string {
  for (const rel of ['../dist/src/cli/main.js', '../src/cli/main.js']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new BenchUsageError('cli.sh_startup needs the compiled CLI (dist/src/cli/main.js): run "npm run build" first');
}

async function openCli(ctx: BenchContext): Promise<OpenSuite> {
  const main = compiledMain();
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const t = performance.now();
      execFile(process.execPath, [main, 'sh', '-c', 'true'], (err) => (err ? reject(err) : resolve(performance.now() - t)));
    });
  const sample = async () => {
    const xs: number[] = [];
    for (let i = 0; i < PROCESSES; i++) xs.push(await once());
    return median(xs);
  };
  return {
    phases: [{
      label: `cli.sh_startup: ringtrace sh -c true, a whole process (${PROCESSES} per sample)`,
      figures: ['cli.sh_startup'],
      slots: 0,
      estimateMs: PROCESSES * 800,
      warm: async () => void (await once()),
      sample: async () => ({ 'cli.sh_startup': await sample() }),
      extra: () => [`node dist/src/cli/main.js sh -c true (the living kernel on), wall time from spawn to exit; median of ${PROCESSES} processes per sample`, ctx.runsLine, ctx.machineLine],
    }],
    close: async () => {},
  };
}
