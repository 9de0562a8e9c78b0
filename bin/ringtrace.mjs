#!/usr/bin/env node
// The `ringtrace` command: registers tsx's loader (the sources are TypeScript), then runs the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
