import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's chromium for the browser tests, driven by playwright-core (which downloads no browser).
 * Installed with apt-get when missing, so CI needs nothing beforehand.
 */
export const CHROMIUM = '/usr/bin/chromium';

export function ensureChromium(log: (message: string) => void = console.info): void {
  if (existsSync(CHROMIUM)) return;
  const root = process.getuid?.() === 0;
  const apt = (...args: string[]): void => {
    log(`${CHROMIUM} is missing: ${root ? '' : 'sudo '}apt-get ${args.join(' ')}`);
    const [command, argv] = root ? ['apt-get', args] : ['sudo', ['-n', 'apt-get', ...args]];
    execFileSync(command, argv, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 15 * 60_000 });
  };
  try {
    apt('install', '-y', 'chromium');
  } catch {
    // A fresh image has no package lists yet.
    apt('update');
    apt('install', '-y', 'chromium');
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get install chromium did not provide ${CHROMIUM}`);
}

/** Headless chromium with what a container and a quiet test need (no sandbox, GPU or background traffic). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
