import { readFileSync } from 'node:fs';

/** The last `lines` lines of a server's log file, for a failed start's error message. */
export function logTail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}
