import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { AppProcess } from '../support/app-process';
import { launchChromium } from '../support/browser';
import { freePort } from '../support/ports';
import { ADMIN_KEY, STOREFRONT_KEY } from '../support/test-env';

/**
 * The live storm page (/demo) in a real browser: Debian's chromium driven by playwright-core,
 * against two real app processes that share PostgreSQL and the lock's Redis. The page runs a
 * naive and a locked hot-coupon storm (limit 50, 1000 redeems) through the load harness, and
 * what it shows is checked against the database.
 *
 * UPDATE_SCREENSHOTS=1 also saves the page after each storm as docs/demo-page-naive.png and
 * docs/demo-page-locked.png (the README's pictures).
 */
const LIMIT = 50;
const ATTEMPTS = 1000;
const STORM_TIMEOUT_MS = 240_000;
const screenshot = (name: string): string =>
  join(__dirname, '..', '..', 'docs', `demo-page-${name}.png`);

async function saveScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS !== '1') return;
  mkdirSync(dirname(screenshot(name)), { recursive: true });
  await page.screenshot({ path: screenshot(name), fullPage: true });
}

jest.setTimeout(600_000);

describe('live storm page (/demo)', () => {
  let pageServer: AppProcess;
  let second: AppProcess;
  let browser: Browser;

  beforeAll(async () => {
    second = await AppProcess.start({ NAIVE_ROUTES_ENABLED: 'true' });
    const port = await freePort();
    pageServer = await AppProcess.start({
      PORT: String(port),
      NAIVE_ROUTES_ENABLED: 'true',
      DEMO_BASE_URLS: `http://127.0.0.1:${port},${second.url}`,
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([pageServer?.stop(), second?.stop()]);
  });

  it('serves the page, and its API only to an admin key', async () => {
    const html = await fetch(`${pageServer.url}/demo/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toContain('<title>couponlock · live storm</title>');
    const bare = await fetch(`${pageServer.url}/demo`, { redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/demo/');

    const anonymous = pageServer.api.withKey(undefined);
    const storefront = pageServer.api.withKey(STOREFRONT_KEY);
    const storm = { scenario: 'hot-coupon', strategy: 'locked', concurrency: 8 };
    try {
      expect((await anonymous.get('/v1/demo/scenarios')).status).toBe(401);
      expect((await storefront.get('/v1/demo/scenarios')).status).toBe(403);
      expect((await anonymous.post('/v1/demo/storms', storm)).status).toBe(401);
      expect((await storefront.post('/v1/demo/storms', storm)).status).toBe(403);
      const bad = await pageServer.admin.post('/v1/demo/storms', { ...storm, strategy: 'yolo' });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('VALIDATION_FAILED');
    } finally {
      await Promise.all([anonymous.close(), storefront.close()]);
    }

    // The strategy-picking redeem: atomic writes without a lock (no fence), locked with one.
    const code = `DEMO-API-${Date.now().toString(36)}`.toUpperCase();
    const created = await pageServer.admin.post('/v1/coupons', {
      code,
      discountType: 'fixed',
      discountValue: 100,
      maxRedemptions: 2,
    });
    expect(created.status).toBe(201);
    const redeem = (strategy: string, n: number) =>
      pageServer.api.post(`/v1/demo/coupons/${code}/redeem?strategy=${strategy}`, {
        customerId: `demo-api-${n}`,
        orderId: `demo-api-order-${n}`,
        orderAmount: 1000,
      });
    const atomic = await redeem('atomic', 1);
    expect(atomic.status).toBe(201);
    expect(atomic.body.fence).toBeNull();
    const locked = await redeem('locked', 2);
    expect(locked.status).toBe(201);
    expect(locked.body.fence).toMatch(/^\d+$/);
    const exhausted = await redeem('atomic', 3);
    expect(exhausted.status).toBe(409);
    expect(exhausted.body.code).toBe('COUPON_EXHAUSTED');
    const unknown = await redeem('naive', 4);
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe('VALIDATION_FAILED');
    expect((await pageServer.api.get(`/v1/coupons/${code}`)).body.redeemedCount).toBe(2);

    const listed = await pageServer.admin.get('/v1/demo/scenarios');
    expect(listed.status).toBe(200);
    expect(listed.body.instances).toEqual([pageServer.url, second.url]);
    expect(listed.body.scenarios).toEqual([
      expect.objectContaining({
        name: 'hot-coupon',
        strategies: ['naive', 'atomic', 'locked', 'pessimistic', 'optimistic'],
      }),
      expect.objectContaining({ name: 'hot-sku', strategies: ['locked'] }),
    ]);
  });

  it('shows the naive storm over-redeeming in red, and the locked one holding exactly the limit', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    try {
      await page.goto(`${pageServer.url}/demo`);
      await page.fill('#key', ADMIN_KEY);
      await page.dispatchEvent('#key', 'change');
      await page.waitForSelector('#strategy option[value="naive"]', { state: 'attached' });

      // Naive: read, check, write with no lock: far more than the limit get through.
      const naive = await runStorm(page, 'naive', 64);
      expect(naive.outcome).toBe('over');
      const over = /^OVER-REDEEMED: (\d+) redemptions for a limit of 50 \(\+(\d+)\)$/.exec(
        naive.verdict,
      );
      expect(over).not.toBeNull();
      const shown = Number(over![1]);
      expect(shown).toBeGreaterThan(LIMIT);
      expect(Number(over![2])).toBe(shown - LIMIT);
      expect(naive.verdictColor).toBe('rgb(198, 40, 40)');
      expect(naive.successesClass).toContain('over');
      expect(naive.answered).toBe(String(ATTEMPTS));
      // What the page shows is what the database holds.
      const naiveState = await pageServer.api.get(`/v1/naive/coupons/${naive.resource}`);
      expect(naiveState.body.maxRedemptions).toBe(LIMIT);
      expect(naiveState.body.ledgerCount).toBe(shown);
      expect(naive.successes).toBe(String(shown));
      expect(naive.fenceNote).toMatch(/^No fencing tokens/);
      await saveScreenshot(page, 'naive');

      // Locked: the lease orders the writers, each write carries its fence: exactly 50.
      // 16 in flight still race across both instances, and keep a waiter's queue well inside
      // LOCK_WAIT_MS on a loaded 2-core machine (64 waiters saw 503 LOCK_TIMEOUT there).
      const locked = await runStorm(page, 'locked', 16);
      expect({ outcome: locked.outcome, refusals: locked.refusals, detail: locked.detail }).toEqual(
        {
          outcome: 'exact',
          refusals: [['409 COUPON_EXHAUSTED', String(ATTEMPTS - LIMIT)]],
          detail: `${LIMIT} successful answers; ledger: ${LIMIT} active redemptions; counter redeemedCount: ${LIMIT}; 0 unexpected answers.`,
        },
      );
      expect(locked.verdict).toBe(`Exactly the limit: ${LIMIT} of ${LIMIT} redemptions`);
      expect(locked.verdictColor).toBe('rgb(27, 127, 59)');
      expect(locked.successes).toBe(String(LIMIT));
      expect(locked.successesClass).not.toContain('over');
      expect(locked.answered).toBe(String(ATTEMPTS));
      expect(locked.refusals).toEqual([['409 COUPON_EXHAUSTED', String(ATTEMPTS - LIMIT)]]);
      // Each lock hold has its own token; the redeems one instance combined share their batch's.
      const holds =
        /^(\d+) writes carried a fencing token, (?:each a different one|from (\d+) lock holds)/.exec(
          locked.fenceNote,
        );
      expect(holds?.[1]).toBe(String(LIMIT));
      const distinct = Number(holds?.[2] ?? LIMIT);
      expect(distinct).toBeGreaterThan(0);
      expect(distinct).toBeLessThanOrEqual(LIMIT);
      // The holders table lists fences: decimal tokens.
      expect(locked.fences.length).toBeGreaterThan(0);
      for (const fence of locked.fences) expect(fence).toMatch(/^\d+$/);
      const coupon = await pageServer.api.get(`/v1/coupons/${locked.resource}`);
      expect(coupon.body.redeemedCount).toBe(LIMIT);
      expect(Number(locked.p99)).toBeGreaterThanOrEqual(Number(locked.p50));
      expect(pageErrors).toEqual([]);
      await saveScreenshot(page, 'locked');
    } finally {
      await page.close();
    }
  });

  it('is not mounted without the naive routes, nor in production', async () => {
    const environments: Array<Record<string, string>> = [
      { NAIVE_ROUTES_ENABLED: 'false' },
      { NAIVE_ROUTES_ENABLED: 'true', NODE_ENV: 'production' },
    ];
    for (const env of environments) {
      const app = await AppProcess.start(env);
      try {
        expect((await fetch(`${app.url}/demo/`)).status).toBe(404);
        expect((await fetch(`${app.url}/demo/demo.js`)).status).toBe(404);
        expect((await app.admin.get('/v1/demo/scenarios')).status).toBe(404);
        expect((await app.admin.post('/v1/demo/storms', {})).status).toBe(404);
      } finally {
        await app.stop();
      }
    }
  });
});

interface Shown {
  outcome: string;
  verdict: string;
  verdictColor: string;
  successes: string;
  successesClass: string;
  answered: string;
  resource: string;
  refusals: string[][];
  fences: string[];
  fenceNote: string;
  detail: string;
  p50: string;
  p99: string;
}

/** Picks the hot coupon and `strategy`, presses run, waits for the verdict, reads the page. */
async function runStorm(page: Page, strategy: string, concurrency: number): Promise<Shown> {
  await page.selectOption('#scenario', 'hot-coupon');
  await page.selectOption('#strategy', strategy);
  await page.fill('#concurrency', String(concurrency));
  await page.click('#run');
  // Browser-side code as strings: the test project has no DOM types.
  await page.waitForFunction(
    "document.getElementById('verdict').dataset.outcome !== '' && !document.getElementById('run').disabled",
    undefined,
    { timeout: STORM_TIMEOUT_MS, polling: 250 },
  );
  const text = async (selector: string): Promise<string> =>
    ((await page.locator(selector).textContent()) ?? '').trim();
  const rows = async (selector: string): Promise<string[][]> =>
    Promise.all(
      (await page.locator(`${selector} tbody tr`).all()).map((row) =>
        row.locator('td').allTextContents(),
      ),
    );
  return {
    outcome: (await page.locator('#verdict').getAttribute('data-outcome')) ?? '',
    verdict: await text('#verdict'),
    verdictColor: await page.evaluate<string>(
      "getComputedStyle(document.getElementById('verdict')).color",
    ),
    successes: await text('#successes'),
    successesClass: (await page.locator('#successes').getAttribute('class')) ?? '',
    answered: await text('#answered'),
    resource: await text('#resource'),
    refusals: await rows('#refusals'),
    fences: (await rows('#holders')).map((cells) => cells[2]),
    fenceNote: await text('#fence-note'),
    detail: await text('#detail'),
    p50: await text('#p50'),
    p99: await text('#p99'),
  };
}
