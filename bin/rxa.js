#!/usr/bin/env node
// Entry point: runs the CLI compiled to JavaScript (built on first start after an edit, see
// compiled.js); user pipeline files (TypeScript) are compiled as they are loaded.
import { pathToFileURL } from 'node:url';
import { compiledPath } from './compiled.js';

await import(pathToFileURL(await compiledPath('cli/main.ts')).href);
