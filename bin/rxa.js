#!/bin/sh
//bin/true; export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-262144}"; exec node "$0" "$@"
// The line above is for sh, which runs this file first (its first line): it runs //bin/true, sets
// the variable and starts Node on this file, for which the line is a comment. It starts Node with
// glibc told to map buffers of 256 KB and more and return them when freed, instead of keeping them
// resident in its heap: a pipeline's peak RSS was 20-35 MB lower for the same CPU
// (docs/internals.md, "Memory"). A value already set is kept; run with `node bin/rxa.js` (as
// docker-compose does, which sets it itself) and the line is skipped.
//
// Entry point: runs the CLI compiled to JavaScript (built on first start after an edit, see
// compiled.js); user pipeline files (TypeScript) are compiled as they are loaded.
import { pathToFileURL } from 'node:url';
import { compiledPath } from './compiled.js';

await import(pathToFileURL(await compiledPath('cli/main.ts')).href);
