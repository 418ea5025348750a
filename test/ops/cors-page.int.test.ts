import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { waitFor } from '@whitepay/testkit';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeeperHandle, type SoloKeeper, startSoloKeeper } from '../harness/index.js';

// Issue 16, "an API that dashboards can use": a static page opened from
// file:// in headless Chromium reads two services' read endpoints — which
// works only because those services allow the page's origin (CORS_ORIGINS
// includes `null`, the origin of file:// pages) — and renders them. A third
// service without CORS is refused by the browser, as it must be.

const root = join(import.meta.dirname, '..', '..');
const PAGE = join(root, 'deploy/examples/status-page/index.html');
const SCREENSHOT = process.env.WHITEPAY_SCREENSHOT ?? join(root, '.tmp', 'status-page.png');
const CHROMIUM = process.env.WHITEPAY_CHROMIUM ?? '/usr/bin/chromium';

describe('a dashboard page in a browser reads the services with CORS', () => {
  let keeper: KeeperHandle;
  let browser: Browser;
  let solo: SoloKeeper | undefined;

  beforeAll(async () => {
    solo = await startSoloKeeper({
      env: {
        'challenge-store': { CHALLENGE_STORE_CORS_ORIGINS: 'null' },
        'chain-submitter': { CHAIN_SUBMITTER_CORS_ORIGINS: 'null' },
      },
    });
    ({ keeper } = solo);
    // A payment landed, so that the page has one to show.
    await waitFor(
      'a confirmed payment',
      async () => {
        const res = await fetch(`${keeper.urls['chain-submitter']!.http}/v1/payments`);
        const { payments } = (await res.json()) as { payments: { status: string }[] };
        return payments.some((p) => p.status === 'confirmed');
      },
      120_000,
      500,
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await solo?.stop();
  });

  const open = async (store: string, submitter: string) => {
    const page = await browser.newPage({ viewport: { width: 900, height: 520 } });
    const url = pathToFileURL(PAGE);
    url.search = new URLSearchParams({ store, submitter }).toString();
    await page.goto(url.toString());
    await page.waitForFunction(
      "[...document.querySelectorAll('section')].every((s) => s.dataset.ready)",
      undefined,
      { timeout: 20_000 },
    );
    return page;
  };

  it('renders the chain-submitter payments and the challenge-store accounts, and saves a screenshot', async () => {
    const page = await open(keeper.urls['challenge-store']!.http, keeper.urls['chain-submitter']!.http);
    const ready = await Promise.all(
      ['submitter', 'store'].map(async (id) => [id, await page.getAttribute(`#${id}`, 'data-ready')]),
    );
    expect(ready).toEqual([
      ['submitter', 'true'],
      ['store', 'true'],
    ]);
    expect(await page.textContent('#submitter .state')).toMatch(
      /^chain head \d+ · [1-9]\d* recent payments$/,
    );
    expect(await page.textContent('#submitter tbody')).toContain('confirmed');
    expect(await page.textContent('#store .state')).toBe('1 accounts');
    expect(Number(await page.getAttribute('#store', 'data-rows'))).toBe(1);
    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.close();
  });

  it('is refused by the browser where a service allows no origin (the challenger, CORS off by default)', async () => {
    // The challenger answers /v1/... without CORS headers: the page's fetch fails, the section says so.
    const page = await open(keeper.urls.challenger!.http, keeper.urls['chain-submitter']!.http);
    expect(await page.getAttribute('#store', 'data-ready')).toBe('error');
    expect(await page.textContent('#store .state')).toMatch(/Failed to fetch/);
    expect(await page.getAttribute('#submitter', 'data-ready')).toBe('true');
    await page.close();
  });
});
