// The benchmark's suites, in the order their phases run within a round. A new benchmark is one more
// entry here (and its figures in bench/figures.ts).
import type { Suite } from './suite.ts';
import { calibrationSuite } from './calibrate.ts';
import { ringSuite } from './ring.ts';
import { ftraceSuite } from './ftrace.ts';
import { smpSuite } from './smp.ts';
import { embedSuite } from './embed.ts';
import { eventsSuite } from './events.ts';
import { cliSuite } from './cli.ts';

export const SUITES: Suite[] = [calibrationSuite, ringSuite, ftraceSuite, smpSuite, embedSuite, eventsSuite, cliSuite];
