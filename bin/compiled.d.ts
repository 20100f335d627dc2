/** Types of bin/compiled.js (plain JavaScript: it runs before anything is compiled). */

/** The directory of the compiled project for the sources as they were when this process first asked, built if needed. */
export function compiledProject(): Promise<string>;
/** The compiled twin of a project source file (absolute, or relative to the project root). */
export function compiledPath(sourceFile: string): Promise<string>;
/** Import a TypeScript file that may live anywhere, sharing the project's modules with the compiled CLI. */
export function importBundled(file: string): Promise<unknown>;
