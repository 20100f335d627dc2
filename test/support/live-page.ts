import type { Browser, Page } from 'playwright-core';
import { waitFor } from './helpers.ts';

/** A panel of the live page as it shows in the browser (its `data-*` attributes). */
export interface PanelState {
  id: number;
  title: string;
  state: string;
  rows: number;
  error: string;
}

/** A page of the live server at `url`; browser errors (but expected 502s) are printed when it closes. */
export async function openPage(browser: Browser, url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 502/.test(message.text())) problems.push(message.text());
  });
  page.on('close', () => {
    if (problems.length > 0) console.warn(`browser errors on ${url}:\n${problems.join('\n')}`);
  });
  await page.goto(url);
  return page;
}

export function panelStates(page: Page): Promise<PanelState[]> {
  return page.$$eval('.panel', (elements) =>
    elements.map((el) => {
      const e = el as HTMLElement;
      return {
        id: Number(e.dataset.panelId),
        title: e.querySelector('h2')?.textContent ?? '',
        state: e.dataset.state ?? '',
        rows: Number(e.dataset.rows),
        error: e.querySelector('.panel-error')?.textContent ?? '',
      };
    }),
  );
}

/**
 * Wait until the page shows `count` panels and each satisfies `ok`; on timeout, say which did not
 * (and `context()`, e.g. the pipeline's figures).
 */
export async function waitForPanels(
  page: Page,
  count: number,
  ok: (p: PanelState) => boolean,
  what: string,
  timeoutMs: number,
  context: () => string = () => '',
): Promise<void> {
  let last: PanelState[] = [];
  try {
    await waitFor(
      async () => {
        last = await panelStates(page);
        return last.length === count && last.every(ok);
      },
      timeoutMs,
      what,
    );
  } catch (error) {
    const pending = last.filter((p) => !ok(p)).map((p) => `${p.title}: ${p.state}, ${p.rows} rows ${p.error}`);
    throw new Error(`${String(error)} ${context()}; not yet:\n${pending.join('\n')}`);
  }
}
