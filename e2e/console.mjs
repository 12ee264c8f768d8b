// End-to-end tests of the Setup console in Debian's headless Chromium, driven by
// playwright-core. Run by scripts/e2e, which starts a gateway on loopback and passes:
//   BASE_URL        the gateway, e.g. http://127.0.0.1:18480
//   ADMIN_TOKEN     its bootstrap admin secret (used only to seed through the native API)
//   SCREENSHOT_DIR  where the page screenshots go (1440 px and 375 px wide)
//   RESULT_FILE     where "PASSED FAILED" is written for the closing line
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const BOOTSTRAP = process.env.ADMIN_TOKEN;
const SHOTS = process.env.SCREENSHOT_DIR;
const RESULT_FILE = process.env.RESULT_FILE;
assert.ok(BASE && BOOTSTRAP && SHOTS, 'BASE_URL, ADMIN_TOKEN and SCREENSHOT_DIR are required');
fs.mkdirSync(SHOTS, { recursive: true });

let passed = 0;
let failed = 0;
function record() {
  if (RESULT_FILE) fs.writeFileSync(RESULT_FILE, `${passed} ${failed}\n`);
}

async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${String(e && e.stack ? e.stack : e).split('\n').slice(0, 6).join('\n  ')}`);
  }
  record();
}

// ------------------------------------------------------------------ seeding (native API, SCIM)

async function api(method, p, body, token = BOOTSTRAP) {
  const res = await fetch(`${BASE}/api/v1${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return json;
}

const SCIM_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const SCIM_EXT = 'urn:scimgate:schemas:extension:identity:2.0:User';
const SCIM_PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** A SCIM request as an identity provider sends it: { status, body } (no throw). */
async function scim(method, p, token, body) {
  const res = await fetch(`${BASE}/scim/v2${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/scim+json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function scimOk(method, p, token, body, status) {
  const r = await scim(method, p, token, body);
  if (r.status !== status) throw new Error(`SCIM ${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

const scimUser = (userName, given, family) => ({
  schemas: [SCIM_USER], userName, name: { givenName: given, familyName: family },
  emails: [{ value: userName, type: 'work', primary: true }],
});

async function seed() {
  const acme = await api('POST', '/accounts', { name: 'Acme Corp' });
  const globex = await api('POST', '/accounts', { name: 'Globex' });
  const site = await api('POST', '/sites', { name: 'Partner portal', urlPathPrefix: 'partners', selfRegistration: true });
  await api('PUT', '/licenses/customer_community', { capacity: 10 });
  await api('PUT', '/licenses/partner_community', { capacity: 4 });
  // Fran holds the only customer_community_plus license: the pool is full.
  await api('PUT', '/licenses/customer_community_plus', { capacity: 1 });
  const contact = (acct, first, last) => ({ accountId: acct.id, firstName: first, lastName: last, email: `${first.toLowerCase()}@contacts.example` });
  const casey = await api('POST', '/users', {
    userName: 'casey.contactless@example.com', email: 'casey@example.com', firstName: 'Casey', lastName: 'Nolan', siteIds: [site.id],
  });
  const robin = await api('POST', '/users', { userName: 'robin.walkin@example.com', email: 'robin@example.com', firstName: 'Robin', lastName: 'Walker' });
  const pat = await api('POST', '/users', { userName: 'pat.prefill@example.com', email: 'pat.quinn@example.com', firstName: 'Pat', lastName: 'Quinn' });
  const dana = await api('POST', '/users', {
    userName: 'dana.backed@acme.example', email: 'dana@acme.example', firstName: 'Dana', lastName: 'Reyes',
    license: 'customer_community', contact: contact(acme, 'Dana', 'Reyes'), siteIds: [site.id],
  });
  await api('POST', '/users', {
    userName: 'fran.inactive@acme.example', email: 'fran@acme.example', firstName: 'Fran', lastName: 'Idle', active: false,
    license: 'customer_community_plus', contact: contact(acme, 'Fran', 'Idle'),
  });
  await api('POST', '/users', {
    userName: 'eli.partner@globex.example', email: 'eli@globex.example', firstName: 'Eli', lastName: 'Park',
    license: 'partner_community', contact: contact(globex, 'Eli', 'Park'),
  });
  // Unlinked contacts for the contact picker: one that a search for "rob" in Globex finds,
  // one it does not (another name), one in another account.
  const robinContact = await api('POST', '/contacts', { accountId: globex.id, firstName: 'Robin', lastName: 'Walker', email: 'robin.walker@globex.example' });
  await api('POST', '/contacts', { accountId: globex.id, firstName: 'Terry', lastName: 'Nguyen', email: 'terry@globex.example' });
  await api('POST', '/contacts', { accountId: acme.id, firstName: 'Robin', lastName: 'Acheson', email: 'robin.a@acme.example' });
  const admin = await api('POST', '/tokens', { name: 'e2e admin', role: 'admin' });
  const delegated = await api('POST', '/tokens', { name: 'acme helpdesk', role: 'delegated_admin', accountIds: [acme.id] });

  // An identity provider: its own SCIM token. Two creates (contacts go to the default
  // account), an update, a deactivation, and two requests the policy refuses.
  const entra = await api('POST', '/tokens', { name: 'entra', role: 'scim' });
  const sam = await scimOk('POST', '/Users', entra.token, scimUser('sam.ortiz@entra.example', 'Sam', 'Ortiz'), 201);
  const kim = await scimOk('POST', '/Users', entra.token, scimUser('kim.lee@entra.example', 'Kim', 'Lee'), 201);
  await scimOk('PATCH', `/Users/${sam.id}`, entra.token,
    { schemas: [SCIM_PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'Sam O.' }] }, 200);
  await scimOk('PATCH', `/Users/${kim.id}`, entra.token,
    { schemas: [SCIM_PATCH], Operations: [{ op: 'replace', path: 'active', value: false }] }, 200);
  const contactless = await scim('POST', '/Users', entra.token,
    { ...scimUser('no.contact@entra.example', 'No', 'Contact'), [SCIM_EXT]: { contactless: true } });
  assert.equal(contactless.status, 400, JSON.stringify(contactless.body));
  const full = await scim('POST', '/Users', entra.token,
    { ...scimUser('plus@entra.example', 'Plus', 'Pool'), [SCIM_EXT]: { license: 'customer_community_plus' } });
  assert.equal(full.status, 409, JSON.stringify(full.body));
  return { acme, globex, site, casey, robin, pat, dana, robinContact, admin, delegated, entra, sam, kim, refusedDetail: contactless.body.detail };
}

// ------------------------------------------------------------------ a webhook receiver

/** Answers 500 ("receiver down") to its first `failures` requests, then 204. */
function startReceiver() {
  const r = { failures: 0, requests: [], url: null, server: null };
  r.server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      let type = null;
      try { type = JSON.parse(body).type; } catch { /* not JSON */ }
      const failed = r.failures > 0;
      if (failed) r.failures -= 1;
      r.requests.push({ type, signed: Boolean(req.headers['scimgate-signature']), status: failed ? 500 : 204 });
      if (failed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('receiver down');
      } else {
        res.writeHead(204);
        res.end();
      }
    });
  });
  return new Promise((resolve) => {
    r.server.listen(0, '127.0.0.1', () => {
      r.url = `http://127.0.0.1:${r.server.address().port}/hooks/scimgate`;
      resolve(r);
    });
  });
}

/** Polls `check` (async, truthy when done) every 100 ms for up to `ms`. */
async function until(what, check, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ------------------------------------------------------------------ browser helpers

const overflowing = [];

/** Full-page screenshots at 1440 px and 375 px; notes any horizontal overflow at 375 px. */
async function shoot(page, name) {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.screenshot({ path: path.join(SHOTS, `${name}-1440.png`), fullPage: true });
  await page.setViewportSize({ width: 375, height: 812 });
  await page.screenshot({ path: path.join(SHOTS, `${name}-375.png`), fullPage: true });
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  if (wide > 376) overflowing.push(`${name}: ${wide}px`);
  await page.setViewportSize({ width: 1440, height: 900 });
}

/** Signs in; admins land on the overview, delegated admins on their users. */
async function signIn(page, token, landing = 'overview') {
  await page.goto(`${BASE}/setup`);
  await page.waitForURL(/\/setup\/sign-in$/);
  await page.getByLabel('Token').fill(token);
  await page.getByLabel('Token').press('Enter'); // the keyboard submits the form
  await page.waitForURL(new RegExp(`/setup/${landing}$`));
}

/** The numbers of a chart's table: { header: [..], rows: [[label, ...values]] }. */
async function chartTable(figure) {
  const header = await figure.locator('table.numbers thead th').allTextContents();
  const rows = [];
  for (const tr of await figure.locator('table.numbers tbody tr').all()) {
    rows.push([await tr.locator('th').textContent(), ...(await tr.locator('td').allTextContents()).map(Number)]);
  }
  return { header, rows };
}

/** The sum of a chart table's column `label`. */
function columnSum(table, label) {
  const i = table.header.indexOf(label);
  assert.ok(i > 0, `a column ${label} in ${table.header.join(' | ')}`);
  return table.rows.reduce((n, row) => n + row[i], 0);
}

async function meterValue(page, license) {
  await page.goto(`${BASE}/setup/licenses`);
  const meter = page.locator(`#bar-${license}`);
  return { used: Number(await meter.getAttribute('value')), max: Number(await meter.getAttribute('max')), label: await meter.getAttribute('aria-label') };
}

async function userVia(id) {
  return api('GET', `/users/${id}`);
}

// ------------------------------------------------------------------ the scenario

const data = await seed();
const receiver = await startReceiver();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // playwright-core gives each launch a fresh, empty --user-data-dir of its own.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const adminContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await adminContext.newPage();
page.setDefaultTimeout(15000);
const caseyUrl = `${BASE}/setup/users/${data.casey.id}`;
let usedBefore;
let hook; // the webhook subscription made through the console: { id, url }
let rotatedSecret; // entra's token after the rotation

try {
  await test('sign-in page: a labelled token field; signing in with the keyboard opens the overview', async () => {
    await page.goto(`${BASE}/setup/sign-in`);
    await shoot(page, 'sign-in');
    await signIn(page, data.admin.token);
    assert.equal(await page.locator('h1').textContent(), 'Overview');
    assert.equal(await page.getByRole('link', { name: 'Overview' }).getAttribute('aria-current'), 'page');
    assert.match(await page.locator('.who').textContent(), /Signed in as e2e admin \(admin\)/);
    const cookies = await adminContext.cookies();
    const session = cookies.find((c) => c.name === 'scimgate_console');
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.ok(session.expires > Date.now() / 1000 + 7 * 3600, 'expires in about 8 hours');
    await page.goto(`${BASE}/setup/users`);
    assert.equal(await page.locator('h1').textContent(), 'Users');
    await shoot(page, 'users');
  });

  await test('keyboard: the first Tab reaches the skip link, which moves focus to the content', async () => {
    await page.goto(`${BASE}/setup/users`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  });

  await test('overview: the directory figures, activity per source (SCIM token and native API) with the refusals', async () => {
    // What the seed made, counted independently of the page: every user through the API.
    const users = (await api('GET', '/users?limit=200')).items;
    assert.equal(users.length, 8, 'six native users and two SCIM users');
    const contactless = users.filter((u) => u.contactless).length;
    const inactive = users.filter((u) => !u.active).length;
    assert.deepEqual([contactless, inactive], [3, 2]);
    await page.goto(`${BASE}/setup/overview`);
    const figure = async (id) => Number(await page.locator(`#${id} .n`).textContent());
    assert.equal(await figure('stat-total'), 8);
    assert.equal(await figure('stat-backed'), 8 - contactless);
    assert.equal(await figure('stat-contactless'), contactless);
    assert.equal(await figure('stat-active'), 8 - inactive);
    assert.equal(await figure('stat-inactive'), inactive);
    assert.equal(await page.locator('#by-license tbody tr').filter({ hasText: 'customer_community_plus' }).locator('td.used').textContent(), '1');

    // The identity provider's own chart: two created, one updated, one deactivated, and
    // each refusal in a series of its own.
    const entra = page.locator('div.source[data-source^="scim:"]').filter({ has: page.locator('h3', { hasText: /^entra$/ }) });
    assert.equal(await entra.count(), 1);
    assert.equal(await entra.getAttribute('data-source'), `scim:${data.entra.id}`);
    const hours = entra.locator('figure.chart').first();
    assert.equal(await hours.locator('figcaption').textContent(), 'Last 24 hours');
    assert.ok(await hours.locator('svg rect.s-created').count() >= 1, 'a created bar');
    assert.ok(await hours.locator('svg rect.s-r-contactless').count() >= 1, 'a contactless refusal bar');
    assert.ok(await hours.locator('svg rect.s-r-license').count() >= 1, 'a license refusal bar');
    assert.match(await hours.locator('svg desc').textContent(),
      /Last 24 hours: 6 in all; Created 2, Updated 1, Deactivated 1, Deleted 0, Refused: license unavailable 1, Refused: contactless via SCIM 1\./);
    assert.deepEqual(await hours.locator('ul.legend li').allTextContents(),
      ['Created', 'Updated', 'Deactivated', 'Deleted', 'Refused: license unavailable', 'Refused: contactless via SCIM']);
    const details = hours.locator('details.as-table');
    assert.equal(await details.getAttribute('open'), null);
    await hours.getByText('Show last 24 hours as a table').click();
    assert.equal(await details.getAttribute('open'), '');
    assert.equal(await hours.locator('table.numbers').isVisible(), true);
    const table = await chartTable(hours);
    assert.equal(table.rows.length, 24, 'one row per hour');
    assert.equal(columnSum(table, 'Created'), 2);
    assert.equal(columnSum(table, 'Updated'), 1);
    assert.equal(columnSum(table, 'Deactivated'), 1);
    assert.equal(columnSum(table, 'Refused: contactless via SCIM'), 1);
    assert.equal(columnSum(table, 'Refused: license unavailable'), 1);
    assert.equal(columnSum(table, 'Total'), 6);
    const days = await chartTable(entra.locator('figure.chart').nth(1));
    assert.equal(days.rows.length, 30, 'one row per day');
    assert.equal(columnSum(days, 'Total'), 6);

    // The native API's chart: the six users the seed created there.
    const native = page.locator('div.source[data-source="native"]');
    assert.equal(await native.locator('h3').textContent(), 'Native API');
    assert.ok(await native.locator('figure.chart').first().locator('svg rect.s-created').count() >= 1);
    assert.equal(columnSum(await chartTable(native.locator('figure.chart').first()), 'Created'), 6);
    // SCIM tokens come first.
    assert.equal(await page.locator('div.source').first().getAttribute('data-source'), `scim:${data.entra.id}`);

    const refused = await page.locator('#refused tbody tr').allTextContents();
    assert.equal(refused.length, 2);
    // By rule, each with its code.
    assert.match(refused[0], /^entra\s*Refused: license unavailable license_unavailable\s*1$/);
    assert.match(refused[1], /^entra\s*Refused: contactless via SCIM scim_contactless\s*1$/);
    assert.match(await page.locator('#downstream').textContent(), /No webhook subscriptions/);
  });

  await test('find a contactless user with the filters', async () => {
    await page.goto(`${BASE}/setup/users`);
    await page.getByLabel('Contact', { exact: true }).selectOption('true');
    await page.getByLabel('Search', { exact: true }).fill('CASEY');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.waitForURL(/contactless=true/);
    const rows = page.locator('#users tbody tr');
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().textContent(), /casey\.contactless@example\.com.*Contactless/s);
    await shoot(page, 'users-contactless-filter');
    await rows.first().getByRole('link').click();
    await page.waitForURL(caseyUrl);
  });

  await test('user search: a name prefix in any case, the account column, the total, sorting by Created', async () => {
    await page.goto(`${BASE}/setup/users`);
    await page.getByLabel('Search', { exact: true }).fill('rEyE'); // Dana Reyes's last name
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.waitForURL(/[?&]q=rEyE/);
    const rows = page.locator('#users tbody tr');
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().locator('th').textContent(), 'dana.backed@acme.example');
    assert.equal(await rows.first().locator('td.account').textContent(), 'Acme Corp');
    assert.match(await page.locator('#total').textContent(), /^1 user match · showing 1–1$/);
    assert.equal(await page.getByLabel('Search', { exact: true }).inputValue(), 'rEyE', 'the search stays in its box');
    // A prefix of the email or userName works as well; a middle part does not.
    await page.goto(`${BASE}/setup/users?q=SAM.O`);
    assert.deepEqual(await page.locator('#users tbody th').allTextContents(), ['sam.ortiz@entra.example']);
    assert.equal(await page.locator('#users tbody td.account').textContent(), 'SCIM provisioned');
    await page.goto(`${BASE}/setup/users?q=ortiz%40entra`);
    assert.match(await page.locator('#total').textContent(), /^0 users match/);

    // Every user, newest first: the Created header twice (ascending, then descending).
    await page.goto(`${BASE}/setup/users`);
    const all = (await api('GET', '/users?limit=200')).items;
    assert.match(await page.locator('#total').textContent(), new RegExp(`^${all.length} users match · showing 1–${all.length}$`));
    const created = page.locator('#users thead th').filter({ hasText: 'Created' });
    assert.equal(await created.getAttribute('aria-sort'), 'none');
    await created.getByRole('link').click();
    await page.waitForURL(/sort=created&dir=asc/);
    assert.equal(await page.locator('#users thead th').filter({ hasText: 'Created' }).getAttribute('aria-sort'), 'ascending');
    await page.locator('#users thead th').filter({ hasText: 'Created' }).getByRole('link').click();
    await page.waitForURL(/sort=created&dir=desc/);
    assert.equal(await page.locator('#users thead th').filter({ hasText: 'Created' }).getAttribute('aria-sort'), 'descending');
    assert.equal(await page.locator('#users thead th').filter({ hasText: 'userName' }).getAttribute('aria-sort'), 'none');
    const times = await page.locator('#users tbody td[data-label="Created"] time').evaluateAll((ts) => ts.map((t) => Date.parse(t.dateTime)));
    assert.equal(times.length, all.length);
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
    const newest = [...all].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
    assert.equal(await page.locator('#users tbody th').first().textContent(), newest.userName);
    // The search keeps the sort, and the sort the search.
    await page.getByLabel('Search', { exact: true }).fill('ca');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.waitForURL(/q=ca.*sort=created&dir=desc|sort=created&dir=desc.*q=ca/);
    assert.equal(await page.locator('#users thead th').filter({ hasText: 'Created' }).getAttribute('aria-sort'), 'descending');
    await shoot(page, 'users-search');
  });

  await test('a contactless user: upgrade and login-as are disabled, each with its reason', async () => {
    await page.goto(caseyUrl);
    const upgrade = page.getByRole('button', { name: 'Upgrade', exact: true });
    assert.equal(await upgrade.isDisabled(), true);
    const why = await page.locator('#upgrade-why').textContent();
    assert.match(why, /requires a contact/);
    assert.equal(await upgrade.getAttribute('aria-describedby'), 'upgrade-why');
    assert.equal(await page.getByRole('button', { name: 'Start a login-as session' }).isDisabled(), true);
    assert.match(await page.locator('#login-as-why').textContent(), /login-as requires a contact/i);
    await shoot(page, 'user-contactless');
  });

  await test('license bar before the upgrade', async () => {
    usedBefore = await meterValue(page, 'customer_community');
    assert.equal(usedBefore.max, 10);
    assert.equal(usedBefore.label, `${usedBefore.used} of 10 in use`);
  });

  await test('assign a new contact, then upgrade to customer_community', async () => {
    await page.goto(caseyUrl);
    await page.locator('#new-account').selectOption({ label: 'Acme Corp' });
    await page.getByLabel('First name').fill('Casey');
    await page.getByLabel('Last name').fill('Nolan');
    await page.getByLabel('Email', { exact: true }).fill('casey.nolan@acme.example');
    await page.getByRole('button', { name: 'Create and link the contact' }).click();
    await page.waitForURL(/done=contact_assigned/);
    assert.match(await page.locator('[role=status]').textContent(), /Contact assigned/);
    assert.match(await page.locator('#contact').textContent(), /Casey Nolan.*Acme Corp/s);
    const upgrade = page.getByRole('button', { name: 'Upgrade', exact: true });
    assert.equal(await upgrade.isDisabled(), false);
    await page.getByLabel('Upgrade to').selectOption('customer_community');
    await upgrade.click();
    await page.waitForURL(/done=upgraded/);
    assert.equal(await page.locator('#current-license').textContent(), 'customer_community');
    const u = await userVia(data.casey.id);
    assert.equal(u.license, 'customer_community');
    assert.equal(u.contactless, false);
    await shoot(page, 'user-upgraded');
  });

  await test('the license bar shows one more customer_community license in use', async () => {
    const now = await meterValue(page, 'customer_community');
    assert.equal(now.used, usedBefore.used + 1);
    await shoot(page, 'licenses');
  });

  await test('bulk downgrade: select the user, preview the dry run, confirm, see the result', async () => {
    await page.goto(`${BASE}/setup/bulk-downgrade`);
    await shoot(page, 'bulk-form');
    await page.getByLabel('The users selected below').check();
    await page.getByLabel('Select casey.contactless@example.com').check();
    await page.getByLabel('Select eli.partner@globex.example').check();
    await page.getByRole('button', { name: 'Preview (dry run)' }).click();
    await page.waitForURL(/\/setup\/bulk-downgrade\/preview$/);
    assert.match(await page.locator('#h-downgraded').textContent(), /Would be downgraded \(2\)/);
    assert.match(await page.locator('#downgraded').textContent(), /casey\.contactless@example\.com/);
    assert.equal((await userVia(data.casey.id)).license, 'customer_community', 'the dry run changed nothing');
    await shoot(page, 'bulk-preview');
    await page.getByRole('button', { name: 'Downgrade 2 users' }).click();
    await page.waitForURL(/\/setup\/bulk-downgrade$/);
    assert.match(await page.locator('#h-downgraded').textContent(), /Downgraded \(2\)/);
    const u = await userVia(data.casey.id);
    assert.equal(u.contactless, true);
    assert.equal(u.license, 'external_identity');
    await shoot(page, 'bulk-result');
  });

  await test('the license bar is back where it was; the contact stayed', async () => {
    const now = await meterValue(page, 'customer_community');
    assert.equal(now.used, usedBefore.used);
    assert.equal(now.label, `${usedBefore.used} of 10 in use`);
    await page.goto(caseyUrl);
    assert.match(await page.locator('#h-contact + p').textContent(), /no contact/);
    const audit = await api('GET', `/audit?targetId=${data.casey.id}&action=user.downgraded`);
    assert.match(JSON.stringify(audit.items[0].details), /contactKept/);
    assert.equal(audit.items[0].actor, `token:${data.admin.id}`, 'console actions carry the signed-in token');
    await shoot(page, 'user-downgraded');
  });

  await test('a single downgrade asks for confirmation in plain words', async () => {
    const dana = (await api('GET', '/users?userName=dana.backed@acme.example')).items[0];
    await page.goto(`${BASE}/setup/users/${dana.id}`);
    await page.getByRole('link', { name: 'Downgrade…' }).click();
    const text = await page.locator('.consequences').textContent();
    assert.match(text, /returns to the pool/);
    assert.match(text, /stays/);
    await shoot(page, 'downgrade-confirm');
  });

  await test('contact picker: find an unlinked contact of an account by a name prefix and link it', async () => {
    const robinUrl = `${BASE}/setup/users/${data.robin.id}`;
    await page.goto(robinUrl);
    const finder = page.getByRole('search', { name: 'Find a contact' });
    await finder.getByLabel('Account').selectOption({ label: 'Globex' });
    await finder.getByLabel('Name or email starts with').fill('rOB');
    await finder.getByRole('button', { name: 'Find contacts' }).click();
    await page.waitForURL(/contactSearch=rOB/);
    const results = page.locator('#contact-results tbody tr');
    // Robin Walker of Globex: not Terry (another name), not Robin Acheson (Acme).
    assert.equal(await results.count(), 1);
    assert.match(await results.first().textContent(), /Robin Walker.*robin\.walker@globex\.example/s);
    assert.equal(await page.locator('#find-contact').inputValue(), 'rOB');
    assert.equal(await page.locator('#find-account option:checked').textContent(), 'Globex');
    await shoot(page, 'contact-picker');
    // A prefix of the email finds it too; a linked contact (Dana's) never shows.
    await page.goto(`${robinUrl}?contactAccount=${data.acme.id}&contactSearch=DANA`);
    assert.match(await page.locator('#contact-results').textContent(), /No unlinked contact of this account matches/);
    await page.goto(`${robinUrl}?contactAccount=${data.globex.id}&contactSearch=robin.w`);
    await page.getByRole('button', { name: 'Link Robin Walker' }).click();
    await page.waitForURL(/done=contact_assigned/);
    assert.match(await page.locator('[role=status]').textContent(), /Contact assigned/);
    assert.match(await page.locator('#contact').textContent(), /Robin Walker.*robin\.walker@globex\.example.*Globex/s);
    const u = await userVia(data.robin.id);
    assert.equal(u.contactId, data.robinContact.id);
    assert.equal(u.contactless, false);
    // Linked now: the picker of another user no longer offers it.
    await page.goto(`${BASE}/setup/users/${data.pat.id}?contactAccount=${data.globex.id}&contactSearch=rob`);
    assert.match(await page.locator('#contact-results').textContent(), /No unlinked contact/);
  });

  await test("contact picker: the new-contact form is filled in from the user's profile", async () => {
    await page.goto(`${BASE}/setup/users/${data.pat.id}`);
    assert.equal(await page.getByLabel('First name').inputValue(), 'Pat');
    assert.equal(await page.getByLabel('Last name').inputValue(), 'Quinn');
    assert.equal(await page.getByLabel('Email', { exact: true }).inputValue(), 'pat.quinn@example.com');
    assert.equal(await page.getByLabel('Phone (optional)').inputValue(), '');
    // The account searched last is the new contact's account too.
    await page.goto(`${BASE}/setup/users/${data.pat.id}?contactAccount=${data.acme.id}&contactSearch=zz`);
    assert.equal(await page.locator('#new-account option:checked').textContent(), 'Acme Corp');
    assert.equal(await page.getByLabel('First name').inputValue(), 'Pat');
  });

  await test('identity providers: the SCIM token with its traffic and last errors; rotating it', async () => {
    await page.goto(`${BASE}/setup/identity-providers`);
    const card = page.locator('section.idp[data-token="entra"]');
    assert.equal(await card.count(), 1);
    assert.match(await card.locator('h2').textContent(), /entra\s*Live/);
    assert.equal(await card.locator('dd.accounts').textContent(), 'Every account (contacts go to the default account)');
    assert.ok(Number(await card.locator('dd.requests').textContent()) >= 6, 'six SCIM requests at least');
    assert.equal(await card.locator('dd.errors').textContent(), '2 (2 refused by policy)');
    assert.notEqual(await card.locator('dd.last-used').textContent(), 'Never');
    assert.match(await card.locator('dd.last-used time').getAttribute('datetime'), /^\d{4}-/);
    const errors = card.locator('table.last-errors tbody tr');
    assert.equal(await errors.count(), 2);
    // Newest first: the full pool (409), then the contactless create (400) with what the IdP was told.
    assert.match(await errors.nth(0).locator('td[data-label="Status"]').textContent(), /^409/);
    assert.match(await errors.nth(1).textContent(), /POST \/scim\/v2\/Users.*400.*invalidValue/s);
    const told = await errors.nth(1).locator('td.detail').textContent();
    assert.equal(told, data.refusedDetail);
    assert.match(told, /SCIM cannot create contactless users/);
    await shoot(page, 'identity-providers');

    await page.getByRole('button', { name: 'Rotate the token of entra' }).click();
    assert.match(await page.locator('[role=status]').textContent(), /Token rotated/);
    rotatedSecret = await page.locator('#new-token').inputValue();
    assert.match(rotatedSecret, /^sgt_/);
    assert.notEqual(rotatedSecret, data.entra.token);
    await page.goto(`${BASE}/setup/identity-providers`);
    assert.equal((await page.content()).includes(rotatedSecret), false, 'the new secret is shown once');
    assert.equal(await page.locator('section.idp[data-token="entra"]').count(), 2, 'the new token and the revoked one');
    assert.match(await page.locator('section.idp[data-token="entra"]').first().locator('h2').textContent(), /Live/);
    assert.match(await page.locator('section.idp[data-token="entra"]').last().locator('h2').textContent(), /Revoked/);
    // The identity provider's old token is refused; the new one works (and provisions).
    assert.equal((await scim('GET', '/Users?count=1', data.entra.token)).status, 401);
    assert.equal((await scim('GET', '/Users?count=1', rotatedSecret)).status, 200);
    await scimOk('POST', '/Users', rotatedSecret, scimUser('lee.rotated@entra.example', 'Lee', 'Rotated'), 201);
    assert.equal((await scim('GET', '/Users?count=1', data.entra.token)).status, 401);
  });

  await test('webhooks: subscribe from the console; dead letters, their attempts, retry all, pause, a test event', async () => {
    await page.goto(`${BASE}/setup/webhooks`);
    assert.match(await page.locator('main').textContent(), /No subscriptions yet/);
    await page.getByLabel('URL', { exact: true }).fill(receiver.url);
    await page.getByLabel('scimgate.user.created', { exact: true }).check();
    await page.getByLabel('scimgate.user.updated', { exact: true }).check();
    await page.getByRole('button', { name: 'Subscribe' }).click();
    assert.match(await page.locator('[role=status]').textContent(), /Subscribed/);
    assert.match(await page.locator('#new-secret').inputValue(), /^whsec_/);
    const href = await page.locator('#h-new-secret a').getAttribute('href');
    hook = { id: href.split('/').pop(), url: receiver.url };
    const row = page.locator(`#subscriptions tr[data-url="${receiver.url}"]`);
    assert.match(await row.locator('td[data-label="Events"]').textContent(), /scimgate\.user\.created, scimgate\.user\.updated/);
    assert.equal(await row.locator('td[data-label="State"]').textContent(), 'Delivering');

    // Two events while the receiver is down: each delivery fails twice (max_attempts 2) and dies.
    receiver.failures = 4;
    await api('POST', '/users', { userName: 'hook.created@example.com', email: 'hook@example.com', firstName: 'Hook', lastName: 'Created' });
    await api('PATCH', `/users/${data.dana.id}`, { displayName: 'Dana R.' });
    const dead = await until('two dead letters', async () => {
      const items = (await api('GET', `/webhooks/${hook.id}/deliveries?status=dead`)).items;
      return items.length === 2 && items;
    });
    assert.deepEqual(dead.map((d) => d.eventType).sort(), ['scimgate.user.created', 'scimgate.user.updated']);
    assert.equal(receiver.requests.length, 4);
    assert.ok(receiver.requests.every((r) => r.signed && r.status === 500));

    await page.goto(`${BASE}/setup/webhooks`);
    assert.equal(await row.locator('td[data-label="Dead letters"]').textContent(), '2');
    await shoot(page, 'webhooks');
    await row.getByRole('link').click();
    await page.waitForURL(`${BASE}/setup/webhooks/${hook.id}`);
    assert.equal(await page.locator('dd.h-dead').textContent(), '2');
    assert.match(await page.locator('dd.h-error').textContent(), /HTTP 500: receiver down/);
    await page.getByLabel('Status', { exact: true }).selectOption('dead');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.waitForURL(/status=dead/);
    const deliveries = page.locator('#deliveries tbody tr');
    assert.equal(await deliveries.count(), 2);
    assert.deepEqual(await deliveries.evaluateAll((trs) => trs.map((t) => t.dataset.status)), ['dead', 'dead']);
    assert.match(await deliveries.first().locator('td.details').textContent(), /HTTP 500\s*HTTP 500: receiver down/);
    await shoot(page, 'webhook');
    await deliveries.first().getByRole('link').click();
    await page.waitForURL(/\/deliveries\//);
    assert.match(await page.locator('#h-delivery').textContent(), /scimgate\.user\.(created|updated)\s*Dead letter/);
    const attempts = page.locator('#attempts tbody tr');
    assert.equal(await attempts.count(), 2);
    for (const a of await attempts.all()) {
      assert.equal(await a.locator('td[data-label="Status"]').textContent(), 'HTTP 500');
      assert.equal(await a.locator('td[data-label="Answer"]').textContent(), 'HTTP 500: receiver down');
    }
    assert.equal(await page.getByRole('button', { name: 'Retry this dead letter' }).count(), 1);
    await shoot(page, 'delivery');

    // The receiver is back: retry every dead letter.
    await page.getByRole('link', { name: 'Back to the subscription' }).click();
    await page.getByRole('button', { name: 'Retry all 2 dead letters' }).click();
    await page.waitForURL(/done=retried/);
    assert.match(await page.locator('[role=status]').textContent(), /Dead letters re-queued/);
    await until('the re-queued deliveries delivered', async () =>
      (await api('GET', `/webhooks/${hook.id}/deliveries?status=delivered`)).items.length === 2);
    await page.goto(`${BASE}/setup/webhooks/${hook.id}`);
    assert.equal(await page.locator('dd.h-dead').textContent(), '0');
    assert.equal(await page.locator('dd.h-delivered').textContent(), '2');
    assert.equal(await page.getByRole('button', { name: /^Retry all/ }).count(), 0, 'nothing left to retry');

    // Pause and resume.
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.waitForURL(/done=paused/);
    assert.match(await page.locator('#h-sub').textContent(), /Subscription\s*Paused/);
    await page.goto(`${BASE}/setup/webhooks`);
    assert.equal(await row.locator('td[data-label="State"]').textContent(), 'Paused');
    await page.goto(`${BASE}/setup/webhooks/${hook.id}`);
    await page.getByRole('button', { name: 'Resume', exact: true }).click();
    await page.waitForURL(/done=resumed/);
    assert.match(await page.locator('#h-sub').textContent(), /Subscription\s*Delivering/);

    // A test event, delivered.
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await page.waitForURL(/done=test_sent/);
    assert.match(await page.locator('[role=status]').textContent(), /Test event queued/);
    await until('the test event delivered', async () =>
      (await api('GET', `/webhooks/${hook.id}/deliveries?status=delivered`)).items.some((d) => d.eventType === 'scimgate.webhook.test'));
    await page.goto(`${BASE}/setup/webhooks/${hook.id}?status=delivered`);
    const test = page.locator('#deliveries tbody tr').filter({ hasText: 'scimgate.webhook.test' });
    assert.equal(await test.count(), 1);
    assert.equal(await test.getAttribute('data-status'), 'delivered');
    assert.match(await test.locator('td[data-label="Status"]').textContent(), /Delivered/);
    assert.equal(receiver.requests.at(-1).type, 'scimgate.webhook.test');
    assert.equal(receiver.requests.at(-1).status, 204);
  });

  await test('overview: downstream health shows the subscription; every source charts something', async () => {
    await page.goto(`${BASE}/setup/overview`);
    const health = page.locator('#webhook-health tbody tr');
    assert.equal(await health.count(), 1);
    assert.equal(await health.locator('th a').textContent(), hook.url);
    assert.equal(await health.locator('th a').getAttribute('href'), `/setup/webhooks/${hook.id}`);
    assert.equal(await health.locator('td[data-label="Delivered (24 h)"]').textContent(), '3');
    assert.equal(await health.locator('td[data-label="Dead letters"]').textContent(), '0');
    assert.equal(await health.locator('td[data-label="Pending"]').textContent(), '0');
    // The sources: the IdP's old and rotated tokens, the native API, this console.
    const sources = await page.locator('div.source').evaluateAll((ds) => ds.map((d) => d.dataset.source));
    for (const s of [`scim:${data.entra.id}`, 'native', 'console']) assert.ok(sources.includes(s), `${s} in ${sources}`);
    assert.equal(sources.filter((s) => s.startsWith('scim:')).length, 2);
    for (const chart of await page.locator('div.source figure.chart').all()) {
      const id = await chart.getAttribute('id');
      assert.ok(await chart.locator('svg rect').count() >= 1, `chart ${id} draws a bar`);
    }
    const console_ = page.locator('div.source[data-source="console"]');
    assert.equal(await console_.locator('h3').textContent(), 'Console');
    assert.ok(columnSum(await chartTable(console_.locator('figure.chart').first()), 'Updated') >= 3,
      'the upgrade, the downgrades and the contact link');
    await page.locator('div.source').first().getByText('Show last 24 hours as a table').click();
    await shoot(page, 'overview');
  });

  await test('sites, the self-registration switch, tokens and the audit log', async () => {
    await page.goto(`${BASE}/setup/sites`);
    await shoot(page, 'sites');
    await page.getByRole('link', { name: 'Partner portal' }).click();
    assert.match(await page.locator('#members').textContent(), /casey\.contactless@example\.com/);
    await page.getByRole('button', { name: 'Turn self-registration off' }).click();
    await page.waitForURL(/done=self_registration_off/);
    assert.match(await page.locator('#switch-state').textContent(), /off/);
    await shoot(page, 'site');
    await page.getByRole('button', { name: 'Turn self-registration on' }).click();
    await page.waitForURL(/done=self_registration_on/);

    await page.goto(`${BASE}/setup/tokens`);
    await page.getByLabel('Name').fill('ci scim');
    await page.getByLabel('Role').selectOption('scim');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.locator('#new-token').inputValue();
    assert.match(secret, /^sgt_/);
    await shoot(page, 'tokens');
    await page.goto(`${BASE}/setup/tokens`);
    assert.equal((await page.content()).includes(secret), false, 'the secret is shown once');

    await page.goto(`${BASE}/setup/audit`);
    await page.getByLabel('Target id').fill(data.casey.id);
    await page.getByLabel('Action').fill('user.upgraded');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=user.upgraded/);
    assert.equal(await page.locator('table.audit tbody tr').count(), 1);
    await page.goto(`${BASE}/setup/audit`);
    await shoot(page, 'audit');
  });

  await test('audit log: actors and targets by name; filter by the identity provider; an empty time range', async () => {
    await page.goto(`${BASE}/setup/audit`);
    const actors = await page.locator('table.audit td.actor').allTextContents();
    assert.ok(actors.includes('e2e admin'), `the console's actions name its token: ${[...new Set(actors)]}`);
    assert.ok(actors.every((a) => !/^token\b/.test(a)), `no bare token ids: ${[...new Set(actors)]}`);
    assert.equal(await page.locator('table.audit td.actor span[title]').first().getAttribute('title'), `token:${data.admin.id}`);
    // Only the IdP's events (its first token's, revoked by the rotation: named apart).
    const option = page.locator(`#a-actor option[value="token:${data.entra.id}"]`);
    assert.equal(await option.textContent(), 'entra (scim, revoked)');
    await page.getByLabel('Actor').selectOption(`token:${data.entra.id}`);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/actor=token%3A/);
    const rows = page.locator('table.audit tbody tr');
    assert.ok(await rows.count() >= 4, 'two creates, two updates');
    assert.deepEqual([...new Set(await page.locator('table.audit td.actor').allTextContents())], ['entra (revoked)']);
    assert.equal(await page.locator('#a-actor option:checked').textContent(), 'entra (scim, revoked)');
    const targets = await page.locator('table.audit td.target').allTextContents();
    assert.ok(targets.some((t) => /user\s*sam\.ortiz@entra\.example/.test(t)), `targets by userName: ${targets}`);
    const created = rows.filter({ hasText: 'user.created' });
    assert.equal(await created.count(), 2);
    // A time range in the future: nothing.
    await page.goto(`${BASE}/setup/audit`);
    await page.getByLabel('From (UTC)').fill('2099-01-01T00:00');
    await page.getByLabel('Until (UTC)').fill('2099-12-31T23:59');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/from=2099-01-01T00%3A00/);
    assert.equal(await page.locator('main p.empty').textContent(), 'No events.');
    assert.equal(await page.locator('table.audit').count(), 0);
    assert.equal(await page.getByLabel('From (UTC)').inputValue(), '2099-01-01T00:00');
    // And a range around now holds the IdP's events again.
    const hourAgo = new Date(Date.now() - 3600e3).toISOString().slice(0, 16);
    const inAnHour = new Date(Date.now() + 3600e3).toISOString().slice(0, 16);
    await page.goto(`${BASE}/setup/audit?actor=token:${data.entra.id}&from=${hourAgo}&to=${inAnHour}`);
    assert.ok(await page.locator('table.audit tbody tr').count() >= 4);
    await shoot(page, 'audit-filtered');
  });

  await test('a forged post without the session CSRF token is refused with 403 and changes nothing', async () => {
    const before = await userVia(data.casey.id);
    const url = `${BASE}/setup/users/${data.casey.id}/active`;
    // The browser's own cookies go along (same context), but no synchronizer token.
    const missing = await page.request.post(url, { form: { active: 'false', version: String(before.version) }, maxRedirects: 0 });
    assert.equal(missing.status(), 403);
    const wrong = await page.request.post(url, { form: { csrf: 'forged', active: 'false', version: String(before.version) }, maxRedirects: 0 });
    assert.equal(wrong.status(), 403);
    // A form on another site (localhost is not 127.0.0.1): SameSite=Strict keeps the
    // session cookie home, so the post arrives without a session and is sent to sign in.
    await page.goto(`${BASE.replace('127.0.0.1', 'localhost')}/healthz`);
    await page.setContent(`<form method="post" action="${url}"><input type="hidden" name="active" value="false"><button>go</button></form>`);
    await page.getByRole('button', { name: 'go' }).click();
    await page.waitForURL(/\/setup\/sign-in$/);
    const after = await userVia(data.casey.id);
    assert.equal(after.active, true);
    assert.equal(after.version, before.version);
  });

  await test('a delegated admin sees no contactless user and cannot open one', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    try {
      await signIn(p, data.delegated.token, 'users');
      assert.equal(await p.getByRole('link', { name: 'Overview' }).count(), 0, 'the overview is not offered');
      const names = await p.locator('#users tbody th').allTextContents();
      assert.deepEqual(names.sort(), ['dana.backed@acme.example', 'fran.inactive@acme.example']);
      assert.equal(await p.locator('#users .badge.contactless').count(), 0);
      assert.equal(await p.getByRole('link', { name: 'Licenses' }).count(), 0, 'admin pages are not offered');
      await shoot(p, 'delegated-users');
      const res = await p.goto(caseyUrl);
      assert.equal(res.status(), 403);
      assert.match(await p.locator('[role=alert]').textContent(), /Delegated admins cannot manage contactless users/);
      assert.equal((await p.content()).includes('casey.contactless@example.com'), false);
      await shoot(p, 'delegated-refused');
    } finally {
      await ctx.close();
    }
  });

  await test('sign out ends the session', async () => {
    await page.goto(`${BASE}/setup/users`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/signed_out=1/);
    await page.goto(`${BASE}/setup/users`);
    await page.waitForURL(/\/setup\/sign-in$/);
  });

  await test('every page fits a 375 px wide screen without sideways scrolling', async () => {
    assert.deepEqual(overflowing, []);
  });
} finally {
  await browser.close();
  receiver.server.closeAllConnections();
  receiver.server.close();
  record();
}
process.exitCode = failed > 0 ? 1 : 0;
