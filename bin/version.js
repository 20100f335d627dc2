// The package's version, for `rxa --version`, read from the package.json beside bin/, and the
// package's root directory (where `rxa init` finds templates/). Plain JavaScript outside the build:
// the compiled CLI imports this very file (compiled.js points imports of the project's .js files at
// them), where a compiled copy would look for package.json in the build's cache directory.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package's root directory, with a trailing separator. */
export const packageRoot = fileURLToPath(new URL('..', import.meta.url));

/** The package's package.json. */
export const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

export const version = manifest.version;
