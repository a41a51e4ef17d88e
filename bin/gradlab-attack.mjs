#!/usr/bin/env node
// The gradlab-attack command: runs src/client/cli.ts through tsx (the repo ships TypeScript).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/client/cli.ts');
process.exitCode = await main(process.argv.slice(2));
