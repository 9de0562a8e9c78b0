#!/usr/bin/env node
// The `ringtrace` command. The installed package runs its compiled JavaScript (dist/); a checkout runs
// the TypeScript sources through tsx (a devDependency), so an edit needs no rebuild of dist/.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/src/cli/main.js');
}
