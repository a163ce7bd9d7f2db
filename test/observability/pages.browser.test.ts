import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { poolSpecsFromConfig } from '../../src/domain/pool-spec';
import { LEASE_STORE, type LeaseStore } from '../../src/repositories/lease-store';
import { api, PORTS, repoRoot, startBroker, type RunningBroker } from './support/broker';
import { requireChromium } from './support/tools';

/**
 * Both pages in a real browser: Debian's chromium driven by playwright-core, against the broker with
 * the sample capacity model (config/broker.yaml) on the embedded store. Screenshots go to
 * test-artifacts/; with UPDATE_DOC_SCREENSHOTS=1 also to docs/images/ for the README.
 */
const ARTIFACTS = join(repoRoot, 'test-artifacts');
const DOC_IMAGES = join(repoRoot, 'docs', 'images');

async function screenshot(page: Page, name: string, forReadme = false): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, name), fullPage: true });
  if (forReadme && process.env.UPDATE_DOC_SCREENSHOTS === '1') {
    mkdirSync(DOC_IMAGES, { recursive: true });
    await page.screenshot({ path: join(DOC_IMAGES, name), fullPage: false });
  }
}

/** Debian's chromium, headless, with a fresh profile and no background traffic. */
function launchChromium(userDataDir: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: requireChromium(),
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
    viewport: { width: 1600, height: 1000 },
  });
}

/** Sessions held by agencies, as a busy morning would leave them (both pools of config/broker.yaml). */
async function seed(store: LeaseStore): Promise<void> {
  const load: [string, string, number][] = [
    ['vpn-statenet', 'justice', 9_200],
    ['vpn-statenet', 'education', 8_700],
    ['vpn-statenet', 'interior', 5_900],
    ['vpn-statenet', 'social-affairs', 4_800],
    ['vpn-statenet', 'economy', 3_100],
    ['vpn-statenet', 'environment', 2_600],
    ['vpn-statenet', 'pensions-office', 2_200],
    ['vpn-statenet', 'land-survey', 1_500],
    // Every agency above its guaranteed share: what is left may be borrowed (docs/admission.md rule 10).
    ...(
      [
        ['state-chancellery', 60],
        ['interior', 210],
        ['justice', 240],
        ['education', 300],
        ['science', 70],
        ['economy', 150],
        ['social-affairs', 200],
        ['environment', 130],
        ['agriculture', 90],
        ['statistics-office', 40],
        ['land-survey', 70],
        ['pensions-office', 100],
      ] as const
    ).map(([agency, count]): [string, string, number] => ['vdi-desktop', agency, count]),
  ];
  let n = 0;
  for (const [pool, agency, count] of load) {
    for (let i = 0; i < count; i++, n++) {
      const r = await store.grant({ pool, owner: `seed-${n}`, agency, clientId: 'c', newGrantId: `${pool}.${String(n).padStart(16, '0')}` });
      if (!r.ok || r.value.outcome !== 'created') throw new Error(`seeding ${pool}/${agency} #${i} failed: ${JSON.stringify(r)}`);
    }
  }
}

describe('pages in a real browser (chromium + playwright-core)', () => {
  let b: RunningBroker;
  let context: BrowserContext;
  let userDataDir: string;

  beforeAll(async () => {
    // The sample capacity model without its admission-rate cap: these tests seed thousands of leases at once
    // past the API (the cap would queue that burst); the cap itself is tested with the waiting room.
    const sample = readFileSync(join(repoRoot, 'config', 'broker.yaml'), 'utf8');
    const uncapped = join(mkdtempSync(join(tmpdir(), 'pages-config-')), 'broker.yaml');
    writeFileSync(uncapped, sample.replace(/^\s*admissionsPerSecond:.*$/m, ''));
    expect(readFileSync(uncapped, 'utf8')).not.toContain('admissionsPerSecond');
    b = await startBroker({ port: PORTS.browser, file: uncapped, feed: { flushMs: 50, refreshMs: 200 } });
    await seed(b.app.get<LeaseStore>(LEASE_STORE));
    userDataDir = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
    context = await launchChromium(userDataDir);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await b?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('ops wall screen: fills up live, shows drains and waiting lines', async () => {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    const operator = await b.token({ sub: 'wall-screen', agency: 'interior', roles: ['operator'] });

    await page.goto(`${b.url}/ops#token=${operator}`);
    const vpn = page.locator('[data-pool="vpn-statenet"]');
    await vpn.locator('[data-field="active"]', { hasText: '38,000' }).waitFor();
    // The token left the address bar at once (it stays in the tab's session storage).
    expect(new URL(page.url()).hash).toBe('');
    await page.locator('#status[data-state="live"]').waitFor();
    expect(await page.locator('#total-active').textContent()).toBe('39,660');
    expect(await page.locator('[data-pool="vdi-desktop"] [data-field="capacity"]').textContent()).toBe('1,800');

    // A grant through the API shows up on the page without a reload.
    const employee = await b.token({ sub: 'e-4711', agency: 'justice' });
    expect((await api(b.url, employee, 'POST', '/v1/grants', { pool: 'vpn-statenet' })).status).toBe(201);
    await vpn.locator('[data-field="active"]', { hasText: '38,001' }).waitFor();
    expect(await vpn.locator('[data-agency="justice"]').textContent()).toContain('9,201');

    // An operator drains a gateway and takes a session host out of service; the waiting room reports a line.
    const cfg = b.config.broker;
    const specs = poolSpecsFromConfig(cfg).map((p) => ({
      ...p,
      members: p.members.map((m) => (m.id === 'gw-07' ? { ...m, state: 'drain' as const } : m.id === 'sh-40' ? { ...m, state: 'out-of-service' as const } : m)),
    }));
    await b.app.get<LeaseStore>(LEASE_STORE).syncPools(specs);
    const store = b.app.get<LeaseStore>(LEASE_STORE);
    const real = store.snapshot.bind(store);
    // The waiting room's figure as the store reports it (37 employees in line for a desktop).
    store.snapshot = async (pool) => {
      const r = await real(pool);
      return r.ok && pool === 'vdi-desktop' ? { ok: true, value: { ...r.value, waiting: 37 } } : r;
    };
    await vpn.locator('[data-member="gw-07"][data-state="drain"]').waitFor();
    await page.locator('[data-pool="vdi-desktop"] [data-member="sh-40"][data-state="out-of-service"]').waitFor();
    await page.locator('[data-pool="vdi-desktop"] [data-field="waiting"]', { hasText: '37' }).waitFor();
    expect(await vpn.locator('[data-field="capacity"]').textContent()).toBe('55,000');
    expect(await page.locator('#total-waiting').textContent()).toBe('37');

    await screenshot(page, 'ops.png', true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('ops wall screen: a bad token brings back the sign-in form', async () => {
    const page = await context.newPage();
    await page.goto(`${b.url}/ops#token=not.a.token`);
    await page.locator('#signin').waitFor({ state: 'visible' });
    await page.locator('#status[data-state="rejected"]').waitFor();
    await page.close();
  });

  it('self-service: sign in with a token, request a session, see member and expiry, end it', async () => {
    const page = await context.newPage();
    await page.setViewportSize({ width: 1100, height: 900 });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    const token = await b.token({ sub: 'e-1234', agency: 'justice' });

    await page.goto(`${b.url}/`);
    await page.locator('#signin').waitFor({ state: 'visible' });
    await page.fill('#token', token);
    await page.click('#signin button[type="submit"]');
    await page.locator('#who', { hasText: 'e-1234 · justice' }).waitFor();
    const vpnCard = page.locator('.pool-card[data-pool="vpn-statenet"]');
    await vpnCard.waitFor();

    await vpnCard.locator('[data-action="request"]').click();
    const grant = page.locator('.grant').first();
    await grant.waitFor();
    const mine = await api(b.url, token, 'GET', '/v1/grants');
    expect(mine.json).toHaveLength(1);
    const g = mine.json[0];
    expect(await grant.getAttribute('data-grant')).toBe(g.id);
    expect(await grant.locator('[data-field="host"]').textContent()).toBe(g.memberHost);
    expect(g.memberHost).toMatch(/^vpn-gw-\d\d\..*statenet\.example$/);
    expect(await grant.locator('[data-field="expires"]').textContent()).toMatch(/^in (\d+ s|\d+ min)$/);
    await page.locator('#info', { hasText: `Granted: connect to ${g.memberHost}` }).waitFor();
    await screenshot(page, 'self-service.png', true);

    await grant.locator('[data-action="end"]').click();
    await page.locator('#no-sessions').waitFor({ state: 'visible' });
    expect((await api(b.url, token, 'GET', '/v1/grants')).json).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('self-service: shows why a request was refused, and when to try again', async () => {
    // Statistics office at its maximum of 100 virtual desktops.
    const store = b.app.get<LeaseStore>(LEASE_STORE);
    for (let i = 0; i < 60; i++) {
      const r = await store.grant({ pool: 'vdi-desktop', owner: `stat-${i}`, agency: 'statistics-office', clientId: 'c', newGrantId: `vdi-desktop.stat${String(i).padStart(12, '0')}` });
      expect(r.ok && r.value.outcome).toBe('created');
    }
    const page = await context.newPage();
    await page.setViewportSize({ width: 1100, height: 700 });
    const token = await b.token({ sub: 'e-9', agency: 'statistics-office' });
    await page.goto(`${b.url}/#token=${token}`);
    await page.locator('.pool-card[data-pool="vdi-desktop"] [data-action="request"]').click();
    const error = page.locator('#error[data-code="agency-at-maximum"]');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/Your agency has reached its maximum in this pool.*\(retry in 2 min\)/);
    expect((await api(b.url, token, 'GET', '/v1/grants')).json).toEqual([]);
    await screenshot(page, 'self-service-refused.png');
    await page.close();
  });

  it("self-service: offers only the pools of the employee's agency", async () => {
    const page = await context.newPage();
    await page.goto(`${b.url}/#token=${await b.token({ sub: 'e-10', agency: 'not-configured' })}`);
    const card = page.locator('.pool-card[data-pool="vpn-statenet"]');
    await card.locator('.not-entitled').waitFor();
    expect(await card.locator('[data-action="request"]').count()).toBe(0);
    await page.close();
  });
});

describe('pages in a real browser on the Redis store (several replicas share it)', () => {
  let b: RunningBroker;
  let context: BrowserContext;
  let userDataDir: string;

  beforeAll(async () => {
    b = await startBroker({ port: PORTS.browserRedis, redis: true, feed: { flushMs: 50, refreshMs: 200 } });
    userDataDir = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
    context = await launchChromium(userDataDir);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await b?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('a session requested on the self-service page shows up live on the ops page, and goes when it ends', async () => {
    const ops = await context.newPage();
    await ops.goto(`${b.url}/ops#token=${await b.token({ sub: 'wall', agency: 'alpha', roles: ['operator'] })}`);
    const vpn = ops.locator('[data-pool="vpn-a"]');
    await vpn.locator('[data-field="active"]', { hasText: /^0$/ }).waitFor();

    const self = await context.newPage();
    await self.goto(`${b.url}/#token=${await b.token({ sub: 'e-77', agency: 'beta' })}`);
    await self.locator('.pool-card[data-pool="vpn-a"] [data-action="request"]').click();
    const grant = self.locator('.grant');
    await grant.locator('[data-field="host"]', { hasText: /^gw-[12]\.test$/ }).waitFor();

    // The wall screen is the tab in front (browsers throttle timers in background tabs).
    await ops.bringToFront();
    await vpn.locator('[data-field="active"]', { hasText: /^1$/ }).waitFor();
    expect(await vpn.locator('[data-agency="beta"]').textContent()).toMatch(/^1 \/ 5/);
    // The employee's free-slot figure follows live too.
    await self.locator('.pool-card[data-pool="vpn-a"] [data-field="free"]', { hasText: /^5$/ }).waitFor();

    await grant.locator('[data-action="end"]').click();
    await vpn.locator('[data-field="active"]', { hasText: /^0$/ }).waitFor();
    await screenshot(ops, 'ops-redis.png');
    await Promise.all([ops.close(), self.close()]);
  });
});
