// ringtrace's command-line entry: `node --import tsx src/cli/main.ts COMMAND ...` (npm start runs
// `bench`), or bin/ringtrace.mjs. The exit status is set, not forced: every command closes its machines,
// so the process ends by itself once the output is flushed.
import { runCli } from './cli.ts';
import { commands } from './commands.ts';

process.exitCode = await runCli(process.argv.slice(2), commands);
