/** Types of bin/version.js. */

/** The package's root directory (the one holding package.json), with a trailing separator. */
export const packageRoot: string;

/** The package's package.json. */
export const manifest: {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
};

/** The package's version, from package.json. */
export const version: string;
