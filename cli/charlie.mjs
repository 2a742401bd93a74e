#!/usr/bin/env node
// The `charlie` bin: loads the TypeScript CLI through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('./charlie.ts');
process.exitCode = await runCli(process.argv.slice(2));
