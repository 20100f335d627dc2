#!/usr/bin/env node
// Entry point: registers tsx so the CLI and user pipeline files (TypeScript) load directly.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
