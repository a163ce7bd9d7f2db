import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { parse as parseYaml, stringify } from 'yaml';
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

/**
 * The sample capacity model (config/broker.yaml) as these tests use it: without its admission-rate cap
 * (the tests seed thousands of leases at once past the API; the cap would queue that burst; it is tested
 * with the waiting room) and without its schedules (a capacity plan due at the hour the suite runs would
 * change the figures the tests expect).
 */
function sampleConfigForPages(): string {
  const doc = parseYaml(readFileSync(join(repoRoot, 'config', 'broker.yaml'), 'utf8'));
  delete doc.waitingRoom.admissionsPerSecond;
  for (const p of doc.pools) delete p.admissionsPerSecond; // the tour's lab pool has a rate of its own
  delete doc.schedules;
  const file = join(mkdtempSync(join(tmpdir(), 'pages-config-')), 'broker.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

/** One gateway with one tunnel and a waiting room: full after one grant. Check-ins are due within 4 s. */
function smallWaitingConfig(): string {
  const doc = {
    auth: { mode: 'hs256', issuer: 'test-issuer', audience: 'test-audience' },
    leases: { defaultTtlSeconds: 600, sweepIntervalSeconds: 3600, reapBatch: 100, bulkRenewalGraceSeconds: 0 },
    waitingRoom: { claimWindowSeconds: 600, checkInSeconds: 4, maxWaiters: 100 },
    pools: [{ id: 'vpn-w', kind: 'vpn', name: 'StateNet VPN (test)', strategy: 'breadth-first', members: [{ id: 'gw-1', host: 'vpn-gw-01.test', maxSessions: 1 }] }],
    agencies: [{ id: 'justice', pools: { 'vpn-w': { guaranteed: 0, maximum: 10 } } }],
  };
  const file = join(mkdtempSync(join(tmpdir(), 'pages-waiting-')), 'broker.yaml');
  writeFileSync(file, stringify(doc));
  return file;
}

/** Uncaught errors and console errors of a page, to assert none happened. */
function problemsOf(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  return problems;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    const file = sampleConfigForPages();
    expect(readFileSync(file, 'utf8')).not.toMatch(/admissionsPerSecond|capacityPlans/);
    b = await startBroker({ port: PORTS.browser, file, feed: { flushMs: 50, refreshMs: 200 } });
    await seed(b.app.get<LeaseStore>(LEASE_STORE));
    userDataDir = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
    context = await launchChromium(userDataDir);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await b?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('ops wall screen: fills up live; shows a drain and a circuit-breaker trip with their reasons, waiting lines, offers and headroom', async () => {
    const page = await context.newPage();
    const problems = problemsOf(page);
    const operator = await b.token({ sub: 'wall-screen', agency: 'interior', roles: ['operator'] });

    await page.goto(`${b.url}/ops#token=${operator}`);
    const vpn = page.locator('[data-pool="vpn-statenet"]');
    await vpn.locator('[data-field="active"]', { hasText: '38,000' }).waitFor();
    // The token left the address bar at once (it stays in the tab's session storage).
    expect(new URL(page.url()).hash).toBe('');
    await page.locator('#status[data-state="live"]').waitFor();
    expect(await page.locator('#total-active').textContent()).toBe('39,660');
    expect(await page.locator('[data-pool="vdi-desktop"] [data-field="capacity"]').textContent()).toBe('1,800');
    // The last 500 tunnels are kept for crisis staff; with 22,000 free none of them is taken yet.
    expect(await vpn.locator('[data-headroom="crisis"]').textContent()).toBe('0 of 500 in use');
    expect(await vpn.locator('[data-member-reason]').count()).toBe(0);

    // A grant through the API shows up on the page without a reload.
    const employee = await b.token({ sub: 'e-4711', agency: 'justice' });
    expect((await api(b.url, employee, 'POST', '/v1/grants', { pool: 'vpn-statenet' })).status).toBe(201);
    await vpn.locator('[data-field="active"]', { hasText: '38,001' }).waitFor();
    expect(await vpn.locator('[data-agency="justice"]').textContent()).toContain('9,201');

    // An operator drains a gateway for maintenance and takes a session host out of service, with reasons.
    const drain = await api(b.url, operator, 'PUT', '/v1/pools/vpn-statenet/members/gw-07/state', { state: 'drain', reason: 'firmware update, CHG-4711' });
    expect(drain.status).toBe(200);
    expect((await api(b.url, operator, 'PUT', '/v1/pools/vdi-desktop/members/sh-40/state', { state: 'out-of-service', reason: 'disk failure' })).status).toBe(200);
    // 25 people cannot reach gw-05 within the minute: the circuit breaker takes it out (config/broker.yaml: threshold 25).
    let last: { status: number; json: any } | undefined;
    for (let i = 0; i < 25; i++) {
      const reporter = await b.token({ sub: `noc-${i}`, agency: 'interior', roles: ['operator'] });
      last = await api(b.url, reporter, 'POST', '/v1/pools/vpn-statenet/members/gw-05/failures', { kind: 'connect' });
      expect(last.status).toBe(200);
    }
    expect(last!.json).toMatchObject({ tripped: true, failures: 25 });

    // The waiting room's figures as the store reports them (37 employees in line for a desktop, 3 offers held).
    const store = b.app.get<LeaseStore>(LEASE_STORE);
    const real = store.snapshot.bind(store);
    store.snapshot = async (pool) => {
      const r = await real(pool);
      return r.ok && pool === 'vdi-desktop' ? { ok: true, value: { ...r.value, waiting: 37, offered: 3 } } : r;
    };

    const gw07 = vpn.locator('[data-member-reason="gw-07"]');
    await gw07.locator('[data-field="reason"]', { hasText: 'firmware update, CHG-4711' }).waitFor();
    expect(await gw07.textContent()).toMatch(/drain.*by operator · since \d\d:\d\d · [\d,]+ sessions still on it/);
    await vpn.locator('[data-member="gw-07"][data-state="drain"]').waitFor();

    await vpn.locator('[data-member="gw-05"][data-state="out-of-service"][data-by="circuit-breaker"]').waitFor();
    expect(await vpn.locator('[data-member="gw-05"] .state').textContent()).toBe('breaker');
    const gw05 = vpn.locator('[data-member-reason="gw-05"]');
    expect(await gw05.locator('[data-field="reason"]').textContent()).toMatch(/^circuit breaker: 25 failure report\(s\) within 60 s$/);
    expect(await gw05.textContent()).toContain('by circuit breaker');
    expect(await page.locator('#total-tripped').textContent()).toBe('1');

    const vdi = page.locator('[data-pool="vdi-desktop"]');
    await vdi.locator('[data-member="sh-40"][data-state="out-of-service"]').waitFor();
    expect(await vdi.locator('[data-member-reason="sh-40"] [data-field="reason"]').textContent()).toBe('disk failure');
    await vdi.locator('[data-field="waiting"]', { hasText: '37' }).waitFor();
    expect(await vdi.locator('[data-field="offered"]').textContent()).toBe('3');
    expect(await vpn.locator('[data-field="capacity"]').textContent()).toBe('50,000');
    expect(await page.locator('#total-waiting').textContent()).toBe('37');
    expect(await page.locator('#total-offered').textContent()).toBe('3');

    await screenshot(page, 'ops.png', true);
    store.snapshot = real;
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

describe.each([
  ['embedded store', false, PORTS.waitingPage],
  ['redis store', true, PORTS.waitingPageRedis],
] as const)('self-service page and the waiting room in a real browser (%s)', (_name, redis, port) => {
  let b: RunningBroker;
  let context: BrowserContext;
  let userDataDir: string;

  beforeAll(async () => {
    b = await startBroker({ port, redis, file: smallWaitingConfig(), feed: { flushMs: 50, refreshMs: 200 } });
    userDataDir = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
    context = await launchChromium(userDataDir);
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await b?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  // These flows wait out a 4 s check-in period and take some forty browser steps; on the 2-core CI
  // machine beside the fault and fuzz suites the Redis variant once took over 30 s (cause not yet
  // found: docs/development.md, "Known flakes"). The bound is wider, the assertions are the same.
  jest.setTimeout(90_000);

  it('full pool: the second employee waits in line, keeps the place while the page is open, sees the offer live when the first ends, and claims it', async () => {
    const first = await context.newPage();
    const firstProblems = problemsOf(first);
    const firstToken = await b.token({ sub: 'e-first', agency: 'justice' });
    await first.goto(`${b.url}/#token=${firstToken}`);
    await first.locator('.pool-card[data-pool="vpn-w"] [data-action="request"]').click();
    await first.locator('.grant [data-field="host"]', { hasText: 'vpn-gw-01.test' }).waitFor();

    // The second employee, on a phone: the only tunnel is taken.
    const second = await context.newPage();
    await second.setViewportSize({ width: 390, height: 760 });
    const problems = problemsOf(second);
    const secondToken = await b.token({ sub: 'e-second', agency: 'justice' });
    await second.goto(`${b.url}/#token=${secondToken}`);
    const card = second.locator('.pool-card[data-pool="vpn-w"]');
    await card.locator('[data-field="free"]', { hasText: /^0$/ }).waitFor();
    await second.locator('#status[data-state="live"]').waitFor();

    // Asking plainly is refused for capacity; the page offers to wait instead.
    await card.locator('[data-action="request"]').click();
    await second.locator('#error[data-code="pool-full"]').waitFor();
    await card.locator('[data-action="wait"]').click();

    const ticket = second.locator('#ticket-list [data-ticket][data-state="waiting"]');
    await ticket.locator('[data-field="position"]', { hasText: /^1$/ }).waitFor();
    expect(await ticket.textContent()).toMatch(/You are number 1 in line.*because every slot is taken/);
    await second.locator('#announce', { hasText: 'You are number 1 in line for StateNet VPN (test).' }).waitFor();
    await card.locator('[data-field="in-line"]', { hasText: 'You are in line (number 1).' }).waitFor();
    const [joined] = (await api(b.url, secondToken, 'GET', '/v1/waiting')).json;
    expect(joined).toMatchObject({ pool: 'vpn-w', state: 'waiting', position: 1, reason: 'pool-full' });
    expect(await ticket.getAttribute('data-ticket')).toBe(joined.id);
    // Nothing on the phone is wider than the screen.
    expect(await second.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await screenshot(second, 'self-service-waiting.png', !redis);

    // Past the check-in period of 4 s the place is still held: the open page checked in (pings on the live connection).
    while (Date.now() < Date.parse(joined.checkInBy) + 1_000) await sleep(250);
    const [kept] = (await api(b.url, secondToken, 'GET', '/v1/waiting')).json;
    expect(kept).toMatchObject({ id: joined.id, state: 'waiting', position: 1 });
    expect(Date.parse(kept.checkInBy)).toBeGreaterThan(Date.parse(joined.checkInBy));

    // The first employee ends their session: the slot is held for the second, whose page hears it at once.
    await first.bringToFront();
    await first.locator('.grant [data-action="end"]').click();
    await first.locator('#no-sessions').waitFor({ state: 'visible' });

    await second.bringToFront();
    const offer = second.locator(`#ticket-list [data-ticket="${joined.id}"][data-state="offered"]`);
    await offer.waitFor();
    expect(await offer.locator('[data-field="offer-host"]').textContent()).toBe('vpn-gw-01.test');
    expect(await offer.locator('[data-field="deadline"]').textContent()).toMatch(/^\d+ (s|min)$/);
    expect(await offer.textContent()).toMatch(/Connect within \d+ (s|min) \(until \d\d:\d\d:\d\d\)/);
    await second.locator('#announce-now', { hasText: /^A slot is held for you in StateNet VPN \(test\)\. Connect within/ }).waitFor();
    await screenshot(second, 'self-service-offer.png');

    await offer.locator('[data-action="claim"]').click();
    const grant = second.locator(`.grant[data-grant="${joined.id}"]`);
    await grant.locator('[data-field="host"]', { hasText: 'vpn-gw-01.test' }).waitFor();
    await second.locator('#info', { hasText: 'Granted: connect to vpn-gw-01.test.' }).waitFor();
    await second.locator('#line').waitFor({ state: 'hidden' });
    const mine = (await api(b.url, secondToken, 'GET', '/v1/grants')).json;
    expect(mine).toEqual([expect.objectContaining({ id: joined.id, member: 'gw-1', status: 'active' })]);
    expect((await api(b.url, secondToken, 'GET', '/v1/waiting')).json).toEqual([]);

    // Now the first employee waits, and changes their mind.
    await first.bringToFront();
    const firstCard = first.locator('.pool-card[data-pool="vpn-w"]');
    await firstCard.locator('[data-action="wait"]').click();
    const firstTicket = first.locator('#ticket-list [data-ticket][data-state="waiting"]');
    await firstTicket.locator('[data-field="position"]', { hasText: /^1$/ }).waitFor();
    await firstTicket.locator('[data-action="leave"]').click();
    await first.locator('#info', { hasText: 'You left the line.' }).waitFor();
    await first.locator('#line').waitFor({ state: 'hidden' });
    expect((await api(b.url, firstToken, 'GET', '/v1/waiting')).json).toEqual([]);

    // The one refusal asked for (pool-full, 503) is the only thing the browser logged.
    expect(problems).toEqual([expect.stringMatching(/status of 503/)]);
    expect(firstProblems).toEqual([]);
    await Promise.all([first.close(), second.close()]);
  });

  it('the ops wall screen shows the line and the offer held for its head', async () => {
    const ops = await context.newPage();
    const problems = problemsOf(ops);
    await ops.goto(`${b.url}/ops#token=${await b.token({ sub: 'wall', agency: 'justice', roles: ['operator'] })}`);
    const pool = ops.locator('[data-pool="vpn-w"]');
    // The previous test left the tunnel with the second employee.
    await pool.locator('[data-field="active"]', { hasText: /^1$/ }).waitFor();

    const third = await b.token({ sub: 'e-third', agency: 'justice' });
    const queued = await api(b.url, third, 'POST', '/v1/grants', { pool: 'vpn-w', wait: true });
    expect(queued.status).toBe(202);
    await pool.locator('[data-field="waiting"]', { hasText: /^1$/ }).waitFor();
    expect(await ops.locator('#total-waiting').textContent()).toBe('1');

    const holder = await b.token({ sub: 'e-second', agency: 'justice' });
    const [held] = (await api(b.url, holder, 'GET', '/v1/grants')).json;
    expect((await api(b.url, holder, 'DELETE', `/v1/grants/${held.id}`)).status).toBe(204);
    await pool.locator('[data-field="offered"]', { hasText: /^1$/ }).waitFor();
    await pool.locator('[data-field="waiting"]', { hasText: /^0$/ }).waitFor();
    expect(await ops.locator('#total-offered').textContent()).toBe('1');
    expect(await pool.locator('[data-field="active"]').textContent()).toBe('1');

    expect((await api(b.url, third, 'DELETE', `/v1/waiting/${queued.json.id}`)).status).toBe(204);
    await pool.locator('[data-field="offered"]', { hasText: /^0$/ }).waitFor();
    expect(problems).toEqual([]);
    await ops.close();
  });
});
