/**
 * Shared by the lab page's browser tests: Debian's chromium driven by playwright-core (never a
 * downloaded browser), a page that records console errors, page errors and every request it
 * makes, axe-core's serious and critical violations, and screenshots for the README when
 * GRADLAB_SCREENSHOTS names a folder (`GRADLAB_SCREENSHOTS=docs/images`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';

export const CHROMIUM = '/usr/bin/chromium';
/** The skip reason when the browser is absent (CI installs it: .ci/run). */
export const NO_CHROMIUM = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (Debian package chromium; .ci/run installs it): browser tests skipped`;

export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
  /** Every URL the page requested. */
  requests: string[];
}

export async function launch(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  t.after(() => browser.close());
  return browser;
}

export async function watchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1180, height: 860 }, deviceScaleFactor: 1 });
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const page = await context.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => requests.push(r.url()));
  return { page, errors, requests };
}

const require = createRequire(import.meta.url);

/** axe-core's serious and critical violations on the page as it is now, one line each. */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol rather than page.addScriptTag: the page's CSP forbids
  // inline scripts, and the test must not switch the CSP off to check the page.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(require.resolve('axe-core'), 'utf8'));
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run();
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

/** Saves a screenshot (of the viewport, or of `part`) for the README when GRADLAB_SCREENSHOTS is set. */
export async function screenshot(page: Page, name: string, part?: Locator): Promise<void> {
  const dir = process.env.GRADLAB_SCREENSHOTS;
  if (!dir) return;
  // A 64-colour palette keeps the committed PNGs a fraction of the size of full-colour ones.
  const png = part ? await part.screenshot() : await page.screenshot({ fullPage: false });
  await sharp(png).png({ palette: true, colours: 64, effort: 10 }).toFile(path.join(dir, `lab-${name}.png`));
}
