'use strict';
// (d) SSO on signet's own page: an org that trusts an OpenID provider (test/oidcprovider, a real
// zitadel/oidc provider on loopback, added with `signet oidc add`) gets a "Log in with SSO"
// button; clicking it goes to the provider's own login page, whose form Chromium fills in, and
// the provider's redirect back to the page ends logged in. An org without a provider gets no
// button.

const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const readline = require('node:readline');
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const signet = new h.Signet();
const s = {};
let browser;
let page;
let rec;
let auth;
let idp;

const { step, failures } = h.stepper({ it, state: s, page: () => page, log: () => rec, name: 'sso' });

// startProvider runs test/oidcprovider (SIGNET_OIDC_PROVIDER_BIN, or built here) with the page
// as the client's redirect URI, and resolves its first stdout line {issuer, helpers}.
async function startProvider(redirectUri) {
  let bin = process.env.SIGNET_OIDC_PROVIDER_BIN;
  if (!bin) {
    bin = path.join(signet.tmpDir, 'oidcprovider');
    execFileSync('go', ['build', '-o', bin, './test/oidcprovider'], { cwd: path.join(h.HERE, '..', '..') });
  }
  const proc = spawn(bin, ['--redirect-uri', redirectUri], { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: proc.stdout }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`oidcprovider exited ${code}`)));
  });
  return { proc, ...JSON.parse(line) };
}

describe('SSO login on signet web page in headless Chromium', () => {
  before(async () => {
    await signet.start();
    idp = await startProvider(`${signet.origin}/`);
    browser = await h.launchBrowser();
    page = await (await browser.newContext()).newPage();
    rec = h.recordExchanges(page);
    auth = await h.addAuthenticator(page);
  }, { timeout: 600_000 });

  after(async () => {
    if (failures() > 0) process.stderr.write(`\n=== signet log (${signet.logFile}) ===\n${signet.tail()}\n`);
    if (browser) await browser.close();
    if (idp) idp.proc.kill('SIGTERM');
    await signet.stop({ keep: failures() > 0 });
  });

  step('an org without a provider: no SSO button', [], async () => {
    const other = await signet.bootstrap({ orgName: 'No SSO Org', username: `x-${Date.now()}@browser.test` });
    const asked = page.waitForResponse((r) => r.url().includes('/auth/login/sso/providers'), { timeout: 10_000 });
    await page.goto(`${signet.origin}/?orgId=${other.orgId}`);
    await page.getByRole('region', { name: 'Log in', exact: true }).waitFor();
    assert.equal((await asked).status(), 200);
    assert.equal(await page.locator('#sso').isHidden(), true);
  });

  step('signet oidc add; the user signs up with a passkey and logs out', [], async () => {
    s.boot = await signet.bootstrap({ orgName: 'SSO Org', username: `sso-${Date.now()}@browser.test` });
    await signet.cli(['oidc', 'add', '--database', signet.db, '--org', s.boot.orgId, '--issuer', idp.issuer, '--client-id', 'signet', '--client-secret-file', await secretFile()]);
    await page.goto(`${signet.origin}/`);
    const f = page.getByRole('region', { name: 'Sign up', exact: true });
    await f.getByLabel('Organization id').fill(s.boot.orgId);
    await f.getByLabel('Username').fill(s.boot.username);
    await f.getByLabel('Registration code').fill(s.boot.registrationCode);
    await f.getByRole('button', { name: 'Sign up with a passkey' }).click();
    await page.locator('#who-name').getByText(s.boot.username).waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('region', { name: 'Log in', exact: true }).waitFor();
    s.ready = true;
  });

  step('"Log in with SSO" goes to the provider and comes back logged in', ['ready'], async () => {
    await page.goto(`${signet.origin}/?orgId=${s.boot.orgId}`);
    const sso = page.getByRole('button', { name: 'Log in with SSO, provider signet' });
    await sso.waitFor({ timeout: 10_000 });
    await sso.click();
    await page.waitForURL((u) => u.href.startsWith(idp.issuer), { timeout: 10_000 });
    await page.locator('input[name="username"]').fill(s.boot.username);
    await page.locator('input[name="password"]').fill('pw');
    await page.locator('form button[type="submit"], form input[type="submit"]').first().click();
    await page.waitForURL((u) => u.href.startsWith(signet.origin), { timeout: 10_000 });
    await page.locator('#who-name').getByText(s.boot.username).waitFor({ timeout: 30_000 });
    assert.equal(new URL(page.url()).search, '', 'the code and state are cleared from the address bar');
  });

  step('a return with a state this tab did not send is ignored', ['ready'], async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('region', { name: 'Log in', exact: true }).waitFor();
    await page.goto(`${signet.origin}/?code=attacker-code&state=attacker-state`);
    await page.locator('#error').getByText('did not start on this page').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#signed-in').isHidden(), true);
  });
});

async function secretFile() {
  const f = path.join(signet.tmpDir, 'oidc-secret');
  require('node:fs').writeFileSync(f, 's3cret\n', { mode: 0o600 });
  return f;
}
