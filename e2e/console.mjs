// End-to-end tests of the Setup console in Debian's headless Chromium, driven by
// playwright-core. Run by scripts/e2e, which starts a gateway on loopback and passes:
//   BASE_URL        the gateway, e.g. http://127.0.0.1:18480
//   ADMIN_TOKEN     its bootstrap admin secret (used only to seed through the native API)
//   SCREENSHOT_DIR  where the page screenshots go (1440 px and 375 px wide)
//   RESULT_FILE     where "PASSED FAILED" is written for the closing line
import assert from 'node:assert/strict';
import fs from 'node:fs';
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

// ------------------------------------------------------------------ seeding (native API)

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

async function seed() {
  const acme = await api('POST', '/accounts', { name: 'Acme Corp' });
  const globex = await api('POST', '/accounts', { name: 'Globex' });
  const site = await api('POST', '/sites', { name: 'Partner portal', urlPathPrefix: 'partners', selfRegistration: true });
  await api('PUT', '/licenses/customer_community', { capacity: 10 });
  await api('PUT', '/licenses/partner_community', { capacity: 4 });
  const contact = (acct, first, last) => ({ accountId: acct.id, firstName: first, lastName: last, email: `${first.toLowerCase()}@contacts.example` });
  const casey = await api('POST', '/users', {
    userName: 'casey.contactless@example.com', email: 'casey@example.com', firstName: 'Casey', lastName: 'Nolan', siteIds: [site.id],
  });
  await api('POST', '/users', { userName: 'robin.walkin@example.com', email: 'robin@example.com', firstName: 'Robin', lastName: 'Walker' });
  await api('POST', '/users', {
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
  const admin = await api('POST', '/tokens', { name: 'e2e admin', role: 'admin' });
  const delegated = await api('POST', '/tokens', { name: 'acme helpdesk', role: 'delegated_admin', accountIds: [acme.id] });
  return { acme, globex, site, casey, admin, delegated };
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

async function signIn(page, token) {
  await page.goto(`${BASE}/setup`);
  await page.waitForURL(/\/setup\/sign-in$/);
  await page.getByLabel('Token').fill(token);
  await page.getByLabel('Token').press('Enter'); // the keyboard submits the form
  await page.waitForURL(/\/setup\/users$/);
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

try {
  await test('sign-in page: a labelled token field; signing in with the keyboard opens the users list', async () => {
    await page.goto(`${BASE}/setup/sign-in`);
    await shoot(page, 'sign-in');
    await signIn(page, data.admin.token);
    assert.equal(await page.locator('h1').textContent(), 'Users');
    assert.match(await page.locator('.who').textContent(), /Signed in as e2e admin \(admin\)/);
    const cookies = await adminContext.cookies();
    const session = cookies.find((c) => c.name === 'scimgate_console');
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.ok(session.expires > Date.now() / 1000 + 7 * 3600, 'expires in about 8 hours');
    await shoot(page, 'users');
  });

  await test('keyboard: the first Tab reaches the skip link, which moves focus to the content', async () => {
    await page.goto(`${BASE}/setup/users`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  });

  await test('find a contactless user with the filters', async () => {
    await page.goto(`${BASE}/setup/users`);
    await page.getByLabel('Contact', { exact: true }).selectOption('true');
    await page.getByLabel('userName (exact, any case)').fill('CASEY.contactless@example.com');
    await page.getByRole('button', { name: 'Find' }).click();
    await page.waitForURL(/contactless=true/);
    const rows = page.locator('#users tbody tr');
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().textContent(), /casey\.contactless@example\.com.*Contactless/s);
    await shoot(page, 'users-contactless-filter');
    await rows.first().getByRole('link').click();
    await page.waitForURL(caseyUrl);
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
    await page.getByLabel('Account').selectOption({ label: 'Acme Corp' });
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
      await signIn(p, data.delegated.token);
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
  record();
}
process.exitCode = failed > 0 ? 1 : 0;
