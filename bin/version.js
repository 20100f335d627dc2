// The package's version, for `rxa --version`, read from the package.json beside bin/. Plain
// JavaScript outside the build: the compiled CLI imports this very file (compiled.js points imports
// of the project's .js files at them), where a compiled copy would look for package.json in the
// build's cache directory.
import { readFileSync } from 'node:fs';

export const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
