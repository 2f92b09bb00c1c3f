'use strict';
// (c) the page tells a person at once when passkeys cannot work where it is open, and how to
// fix it: a server started without --rp-id, and a page opened at http://127.0.0.1 when the
// server's origin is http://localhost; its passkey buttons are then disabled, described by the
// warning, while "Add a key" (no passkey) stays usable. Where they can work, it says nothing.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./lib/harness');

const passkeyButtons = ['Log in with a passkey', 'Sign up with a passkey'];

// buttons returns, for each passkey button of the signed-out page, whether it is disabled and
// what describes it.
async function buttons(page) {
  return page.evaluate((names) => names.map((n) => {
    const b = [...document.querySelectorAll('button')].find((x) => x.textContent === n);
    return { name: n, disabled: b.disabled, describedBy: b.getAttribute('aria-describedby') || '' };
  }), passkeyButtons);
}

// assertBlocked checks that the passkey buttons are disabled and point at the warning.
async function assertBlocked(page) {
  for (const b of await buttons(page)) {
    assert.equal(b.disabled, true, `${b.name} is enabled`);
    assert.equal(b.describedBy, 'setup', `${b.name} is not described by the warning`);
    assert.equal(await page.getByRole('button', { name: b.name }).isDisabled(), true);
  }
}

// setupText opens url and returns the page's setup warning once the page has checked, or ''.
async function setupText(page, url) {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.passkeysChecked === 'true', null, { timeout: 30_000 });
  return page.evaluate(() => {
    const el = document.getElementById('setup');
    return el.hidden ? '' : el.textContent;
  });
}

describe('the page says when passkeys cannot work, and how to fix it', () => {
  const on = new h.Signet();
  const off = new h.Signet();
  let browser;
  let page;

  before(async () => {
    await on.start();
    await off.start({ passkeys: false });
    browser = await h.launchBrowser();
    page = await (await browser.newContext()).newPage();
  }, { timeout: 600_000 });

  after(async () => {
    if (browser) await browser.close();
    await on.stop();
    await off.stop();
  });

  it('no warning at the origin the server accepts', async () => {
    assert.equal(await setupText(page, `${on.origin}/`), '');
    for (const b of await buttons(page)) assert.equal(b.disabled, false, `${b.name} is disabled`);
  });

  it('at http://127.0.0.1 it says to open http://localhost instead', async () => {
    const text = await setupText(page, `http://127.0.0.1:${on.port}/`);
    assert.match(text, /never work on an IP address/);
    assert.ok(text.includes(`Open ${on.origin} instead`), text);
    assert.equal(await page.getByRole('alert').filter({ hasText: 'IP address' }).count(), 1, 'announced as an alert');
    await assertBlocked(page);
  });

  it('with passkeys off it says so and gives the serve flags that turn them on', async () => {
    const text = await setupText(page, `${off.origin}/`);
    assert.match(text, /Passkeys are off on this server/);
    assert.ok(text.includes(`--rp-id localhost --origin ${off.origin}`), text);
    await assertBlocked(page);
  });
});
