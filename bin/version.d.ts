/** Types of bin/version.js. */

/** The package's version, from package.json. */
export const version: string;
