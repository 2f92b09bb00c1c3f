// signet account page: sign up, log in, credentials, personal access tokens, service accounts.
// Plain DOM code, no framework; every change goes through dfns.signed (a passkey prompt).
import * as dfns from './dfns.js';

// The login token lives in sessionStorage. Trade-off: it is readable by any script running on
// this origin, so an XSS hole would expose it; the strict Content-Security-Policy (no inline or
// third-party script) is the defence. In exchange it is never sent automatically (no CSRF, no
// cookie handling in an API that speaks Bearer tokens, as the Dfns wire contract does), it is
// scoped to this tab, and it is gone when the tab closes, unlike localStorage, which would keep
// a 6-hour bearer token on disk across restarts. Any change still needs a passkey signature, so
// a stolen token alone can read but not write.
const SESSION_KEY = 'signet.session';
// Only the non-secret organization id and username are remembered, to prefill the forms.
const LAST_KEY = 'signet.last';

const $ = (id) => document.getElementById(id);
let session = null; // {token, userId, orgId, username}
let busy = false;

// ---- status, errors, busy state ----

function say(msg) {
  $('status').textContent = msg;
}

function showError(err) {
  const el = $('error');
  let msg = err?.message || String(err);
  if (err?.name === 'NotAllowedError') msg = 'The passkey prompt was cancelled or timed out.';
  else if (err instanceof dfns.ApiError) msg = `${msg} (HTTP ${err.status})`;
  el.textContent = msg;
  el.hidden = false;
  say('');
}

function clearError() {
  $('error').hidden = true;
  $('error').textContent = '';
}

// run performs one user operation: one at a time, buttons disabled, status announced.
async function run(label, fn) {
  if (busy) return;
  busy = true;
  clearError();
  say(`${label}…`);
  document.body.setAttribute('aria-busy', 'true');
  setButtons(true);
  try {
    const done = await fn();
    say(done || `${label}: done.`);
  } catch (err) {
    if (err instanceof dfns.ApiError && err.status === 401 && session) {
      endSession();
      showError(new Error('Your session has ended. Please log in again.'));
    } else {
      showError(err);
    }
  } finally {
    busy = false;
    document.body.removeAttribute('aria-busy');
    setButtons(false);
  }
}

// passkeysBlocked is passkeyProblem's answer once checked (null: passkeys can work here).
let passkeysBlocked = null;

// setButtons disables every button while an operation runs; the passkey buttons
// (data-passkey) stay disabled whenever passkeys cannot work here, pointing at #setup.
function setButtons(busyNow) {
  for (const b of document.querySelectorAll('button')) {
    const blocked = passkeysBlocked !== null && b.hasAttribute('data-passkey');
    b.disabled = busyNow || blocked;
    if (blocked) {
      b.setAttribute('aria-describedby', 'setup');
      b.title = passkeysBlocked;
    }
  }
}

// ---- session ----

function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (s && s.token && s.exp * 1000 > Date.now()) return s;
  } catch {
    /* ignore a corrupt entry */
  }
  sessionStorage.removeItem(SESSION_KEY);
  return null;
}

function startSession(token) {
  const c = dfns.jwtClaims(token);
  const meta = c['https://custom/app_metadata'] || {};
  session = { token, userId: meta.userId, orgId: meta.orgId || c.sub, username: c['https://custom/username'] || '', exp: c.exp };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

function endSession() {
  session = null;
  sessionStorage.removeItem(SESSION_KEY);
  render();
}

function remember(orgId, username) {
  localStorage.setItem(LAST_KEY, JSON.stringify({ orgId, username }));
}

function prefill() {
  let last = {};
  try {
    last = JSON.parse(localStorage.getItem(LAST_KEY) || '{}') || {};
  } catch {
    last = {};
  }
  const q = new URLSearchParams(location.search);
  const orgId = q.get('orgId') || last.orgId || '';
  const username = q.get('username') || last.username || '';
  for (const id of ['login-org', 'signup-org']) if (!$(id).value) $(id).value = orgId;
  for (const id of ['login-username', 'signup-username']) if (!$(id).value) $(id).value = username;
  if (q.get('code')) $('signup-code').value = q.get('code');
}

// ---- rendering ----

function fmtDate(s) {
  if (!s) return '';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString();
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function button(label, accessibleName, onClick, cls = 'small') {
  const b = el('button', { type: 'button', text: label, class: cls });
  b.setAttribute('aria-label', accessibleName);
  b.addEventListener('click', onClick);
  return b;
}

function statusCell(active) {
  return el('td', {}, el('span', { class: active ? 'badge on' : 'badge off', text: active ? 'Active' : 'Inactive' }));
}

function fillTable(id, rows, empty) {
  const tbody = $(id).querySelector('tbody');
  tbody.replaceChildren();
  if (rows.length === 0) {
    const cols = $(id).querySelectorAll('thead th').length;
    tbody.append(el('tr', {}, el('td', { colSpan: cols, class: 'muted', text: empty })));
    return;
  }
  tbody.append(...rows);
}

function render() {
  const inside = !!session;
  $('signed-out').hidden = inside;
  $('signed-in').hidden = !inside;
  $('who').hidden = !inside;
  if (inside) {
    $('who-name').textContent = session.username || session.userId;
    $('who-org').textContent = `(${session.orgId})`;
  } else {
    $('secret').hidden = true;
    $('secret').replaceChildren();
    prefill();
  }
}

// showSecret displays values that exist nowhere else (a new token, a private key) once,
// with copy and download, and moves focus there so screen-reader users hear it.
function showSecret(title, items) {
  const box = $('secret');
  const heading = el('h2', { id: 'secret-h', text: title, tabIndex: -1 });
  const parts = [heading, el('p', { class: 'warn', text: 'Shown only once: signet does not keep it. Copy or download it now.' })];
  items.forEach((it, i) => {
    const id = `secret-${i}`;
    const area = el('textarea', { id, readOnly: true, rows: it.rows || 2, value: it.value, spellcheck: false });
    const actions = el('div', { class: 'row' });
    actions.append(
      button('Copy', `Copy ${it.label}`, async () => {
        try {
          await navigator.clipboard.writeText(it.value);
          say(`${it.label} copied.`);
        } catch {
          area.select();
          say('Select the text and copy it.');
        }
      }),
    );
    if (it.filename) {
      const url = URL.createObjectURL(new Blob([`${it.value}\n`], { type: 'application/x-pem-file' }));
      actions.append(el('a', { href: url, download: it.filename, class: 'button small', text: `Download ${it.filename}` }));
    }
    parts.push(el('label', { htmlFor: id, text: it.label }), area, actions);
  });
  parts.push(
    button(
      'I have saved it',
      'I have saved it; hide the secret',
      () => {
        box.hidden = true;
        box.replaceChildren();
        say('Secret hidden.');
      },
      'done',
    ),
  );
  box.replaceChildren(...parts);
  box.setAttribute('aria-labelledby', 'secret-h');
  box.setAttribute('role', 'region');
  box.hidden = false;
  heading.focus();
}

// ---- data ----

async function refreshCredentials() {
  const { items } = await dfns.call('GET', '/auth/credentials', { token: session.token });
  const activePasskeys = items.filter((c) => c.isActive && c.kind === 'Fido2').length;
  const rows = items.map((c) => {
    const name = c.name || c.credentialUuid;
    // The last active passkey is what this page signs with; deactivating it would lock the
    // page out, so it cannot be done from here.
    const last = c.isActive && c.kind === 'Fido2' && activePasskeys === 1;
    let act;
    if (last) act = el('span', { class: 'muted small', text: 'Your only passkey' });
    else if (c.isActive) act = button('Deactivate', `Deactivate credential ${name}`, () => setCredential(c, false));
    else act = button('Activate', `Activate credential ${name}`, () => setCredential(c, true));
    return el(
      'tr',
      { 'data-id': c.credentialUuid },
      el('td', { text: name }),
      el('td', { text: c.kind === 'Fido2' ? 'Passkey' : c.kind }),
      el('td', { text: fmtDate(c.dateCreated) }),
      statusCell(c.isActive),
      el('td', {}, act),
    );
  });
  fillTable('creds-table', rows, 'No credentials.');
}

async function refreshPats() {
  const { items } = await dfns.call('GET', '/auth/pats', { token: session.token });
  const rows = items.map((p) =>
    el(
      'tr',
      { 'data-id': p.tokenId },
      el('td', { text: p.name }),
      el('td', {}, el('code', { text: p.tokenId })),
      el('td', { text: fmtDate(p.dateCreated) }),
      statusCell(p.isActive),
      el(
        'td',
        { class: 'actions' },
        p.isActive
          ? button('Deactivate', `Deactivate token ${p.name}`, () => patAction(p, 'PUT', 'deactivate'))
          : button('Activate', `Activate token ${p.name}`, () => patAction(p, 'PUT', 'activate')),
        button('Revoke', `Revoke token ${p.name}`, () => patAction(p, 'DELETE'), 'small danger'),
      ),
    ),
  );
  fillTable('pats-table', rows, 'No tokens.');
}

async function refreshServiceAccounts() {
  let items;
  try {
    ({ items } = await dfns.call('GET', '/auth/service-accounts', { token: session.token }));
  } catch (err) {
    if (err instanceof dfns.ApiError && err.status === 403) {
      $('sas-denied').hidden = false;
      $('sas-body').hidden = true;
      return;
    }
    throw err;
  }
  $('sas-denied').hidden = true;
  $('sas-body').hidden = false;
  const rows = items.map((sa) => {
    const u = sa.userInfo || {};
    const name = u.name || u.username || sa.accessTokens?.[0]?.name || u.userId;
    const created = sa.accessTokens?.[0]?.dateCreated;
    return el(
      'tr',
      { 'data-id': u.userId },
      el('td', { text: name }),
      el('td', {}, el('code', { text: u.userId })),
      el('td', { text: fmtDate(created) }),
      statusCell(u.isActive),
      el(
        'td',
        { class: 'actions' },
        u.isActive
          ? button('Deactivate', `Deactivate service account ${name}`, () => saAction(u.userId, name, 'PUT', 'deactivate'))
          : button('Activate', `Activate service account ${name}`, () => saAction(u.userId, name, 'PUT', 'activate')),
        button('Delete', `Delete service account ${name}`, () => saAction(u.userId, name, 'DELETE'), 'small danger'),
      ),
    );
  });
  fillTable('sas-table', rows, 'No service accounts.');
}

async function refreshAll() {
  await Promise.all([refreshCredentials(), refreshPats(), refreshServiceAccounts()]);
}

// ---- actions ----

function setCredential(c, active) {
  const verb = active ? 'activate' : 'deactivate';
  run(`Signing: ${verb} credential ${c.name}`, async () => {
    await dfns.signed(session.token, 'PUT', `/auth/credentials/${verb}`, { credentialUuid: c.credentialUuid });
    await refreshCredentials();
    return `Credential ${c.name} ${verb}d.`;
  });
}

function patAction(p, method, verb) {
  const path = verb ? `/auth/pats/${encodeURIComponent(p.tokenId)}/${verb}` : `/auth/pats/${encodeURIComponent(p.tokenId)}`;
  const what = verb || 'revoke';
  run(`Signing: ${what} token ${p.name}`, async () => {
    await dfns.signed(session.token, method, path, {});
    await refreshPats();
    return `Token ${p.name} ${what === 'revoke' ? 'revoked' : `${what}d`}.`;
  });
}

function saAction(id, name, method, verb) {
  const path = verb ? `/auth/service-accounts/${encodeURIComponent(id)}/${verb}` : `/auth/service-accounts/${encodeURIComponent(id)}`;
  const what = verb || 'delete';
  run(`Signing: ${what} service account ${name}`, async () => {
    await dfns.signed(session.token, method, path, {});
    await refreshServiceAccounts();
    return `Service account ${name} ${what}d.`;
  });
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

function wire() {
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const { orgId, username } = formValues(e.target);
    run('Logging in with your passkey', async () => {
      const token = await dfns.login({ orgId: orgId.trim(), username: username.trim() });
      remember(orgId.trim(), username.trim());
      startSession(token);
      render();
      await refreshAll();
      $('main').focus();
      return `Logged in as ${session.username}.`;
    });
  });

  $('signup-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(e.target);
    const orgId = v.orgId.trim();
    const username = v.username.trim();
    run('Creating your passkey', async () => {
      await dfns.register({ orgId, username, registrationCode: v.registrationCode.trim() });
      remember(orgId, username);
      e.target.reset();
      say('Signed up. Now log in with the new passkey…');
      const token = await dfns.login({ orgId, username });
      startSession(token);
      render();
      await refreshAll();
      $('main').focus();
      return `Signed up and logged in as ${session.username}.`;
    });
  });

  $('logout').addEventListener('click', () => {
    run('Logging out', async () => {
      try {
        await dfns.logout(session.token);
      } finally {
        endSession();
      }
      return 'Logged out.';
    });
  });

  $('add-passkey-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const { name } = formValues(e.target);
    run('Creating a passkey, then signing with an existing one', async () => {
      await dfns.addCredential(session.token, 'Fido2', name.trim());
      e.target.reset();
      await refreshCredentials();
      return `Passkey ${name.trim()} added.`;
    });
  });

  $('add-key-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const { name } = formValues(e.target);
    run('Creating a key and signing with your passkey', async () => {
      const { credId, privateKeyPem } = await dfns.addCredential(session.token, 'Key', name.trim());
      e.target.reset();
      await refreshCredentials();
      showSecret(`Key ${name.trim()} added`, [
        { label: 'Credential id', value: credId },
        { label: 'Private key (PKCS#8 PEM)', value: privateKeyPem, rows: 6, filename: 'signet-key.pem' },
      ]);
      return `Key ${name.trim()} added. Save its private key now.`;
    });
  });

  $('pat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(e.target);
    const name = v.name.trim();
    run(`Creating token ${name} and signing with your passkey`, async () => {
      const key = await dfns.newKeyPair();
      const pat = await dfns.signed(session.token, 'POST', '/auth/pats', {
        name,
        publicKey: key.publicKeyPem,
        daysValid: Number(v.daysValid),
      });
      e.target.reset();
      await refreshPats();
      showSecret(`Token ${name} created`, [
        { label: 'Access token', value: pat.accessToken, rows: 4 },
        { label: 'Credential id (signs this token’s changes)', value: pat.credId },
        { label: 'Private key of the token (PKCS#8 PEM)', value: key.privateKeyPem, rows: 6, filename: `${safeFile(name)}.pem` },
      ]);
      return `Token ${name} created. Save it now.`;
    });
  });

  $('sa-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(e.target);
    const name = v.name.trim();
    run(`Creating service account ${name} and signing with your passkey`, async () => {
      const key = await dfns.newKeyPair();
      const sa = await dfns.signed(session.token, 'POST', '/auth/service-accounts', {
        name,
        publicKey: key.publicKeyPem,
        daysValid: Number(v.daysValid),
      });
      e.target.reset();
      await refreshServiceAccounts();
      const tok = sa.accessTokens?.[0] || {};
      showSecret(`Service account ${name} created`, [
        { label: 'Access token', value: tok.accessToken || '', rows: 4 },
        { label: 'Credential id (signs its changes)', value: tok.credId || '' },
        { label: 'Private key of the service account (PKCS#8 PEM)', value: key.privateKeyPem, rows: 6, filename: `${safeFile(name)}.pem` },
      ]);
      return `Service account ${name} created. Save its token now.`;
    });
  });
}

function safeFile(name) {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'signet-key';
}

// ---- can passkeys work here? ----

// passkeyProblem says why passkeys cannot work on this page and how to fix it, or null when they
// can. It compares where the page is open with the server's WebAuthn setting (--rp-id, --origin),
// which the server publishes in /assets/passkeys.json, so a person learns at once rather than
// at the last step of signing up.
export function passkeyProblem(loc, cfg, hasWebAuthn) {
  const port = loc.port ? `:${loc.port}` : '';
  const local = `http://localhost${port}`;
  if (!cfg.rpId) {
    return 'Passkeys are off on this server: it was started without --rp-id, so signing up and logging in here will fail. ' +
      `To try them on this machine, restart it with: signet serve --rp-id localhost --origin ${local} and open ${local}`;
  }
  const origins = cfg.origins || [];
  const host = loc.hostname;
  if (!origins.includes(loc.origin)) {
    let msg = `This page is open at ${loc.origin}, but the server accepts passkeys only from ${origins.join(', ') || 'no origin'}. `;
    if (/^[0-9.]+$/.test(host) || host.includes(':') || host.startsWith('[')) {
      msg += 'Passkeys never work on an IP address. ';
    }
    if (origins.length > 0) msg += `Open ${origins[0]} instead`;
    if (host === cfg.rpId || host.endsWith(`.${cfg.rpId}`)) msg += `, or restart signet with --origin ${loc.origin} added.`;
    else msg += '.';
    return msg;
  }
  if (!hasWebAuthn) {
    return 'This browser cannot use passkeys here (WebAuthn needs a recent browser, and https or http://localhost).';
  }
  return null;
}

// checkPasskeys shows passkeyProblem's answer in #setup; it marks <body data-passkeys-checked>
// when done, whatever the answer, so a test can wait for it.
async function checkPasskeys() {
  try {
    const res = await fetch('/assets/passkeys.json', { cache: 'no-cache' });
    if (!res.ok) return;
    const cfg = await res.json();
    const problem = passkeyProblem(window.location, cfg, !!window.PublicKeyCredential && window.isSecureContext);
    if (problem) {
      $('setup').textContent = problem;
      $('setup').hidden = false;
      passkeysBlocked = problem;
      setButtons(busy);
    }
  } catch {
    // the API calls will report an unreachable server
  } finally {
    document.body.dataset.passkeysChecked = 'true';
  }
}

// ---- SSO (docs/oidc.md) ----
// When the org in the login form trusts an OpenID provider, the page offers "Log in with SSO":
// POST /auth/login/sso/init with this page as the redirect URI, then the provider's login, which
// sends the browser back here with ?code&state, completed with POST /auth/login/sso. The state
// is remembered in sessionStorage before leaving, and a return whose state this tab did not send
// is ignored (so nobody can log this browser into their own account with a link).

const SSO_KEY = 'signet.sso.state';
const ssoRedirect = () => `${location.origin}/`;

async function showSSO() {
  const orgId = $('login-org').value.trim();
  $('sso').hidden = true;
  $('sso-buttons').replaceChildren();
  if (!orgId) return;
  let ids = [];
  try {
    ({ clientIds: ids } = await dfns.call('GET', `/auth/login/sso/providers?orgId=${encodeURIComponent(orgId)}`));
  } catch {
    return;
  }
  if (orgId !== $('login-org').value.trim() || !ids.length) return;
  $('sso-buttons').append(
    ...ids.map((clientId) =>
      button(ids.length > 1 ? `Log in with SSO (${clientId})` : 'Log in with SSO', `Log in with SSO, provider ${clientId}`, () => startSSO(orgId, clientId), ''),
    ),
  );
  $('sso').hidden = false;
}

function startSSO(orgId, clientId) {
  run('Going to your identity provider', async () => {
    const { ssoRedirectUrl } = await dfns.call('POST', '/auth/login/sso/init', { body: { orgId, clientId, redirectUri: ssoRedirect() } });
    sessionStorage.setItem(SSO_KEY, new URL(ssoRedirectUrl).searchParams.get('state') || '');
    remember(orgId, $('login-username').value.trim());
    location.assign(ssoRedirectUrl);
    return 'Redirecting…';
  });
}

// finishSSO completes a return from the provider, if this is one. It reports whether it was.
function finishSSO() {
  const q = new URLSearchParams(location.search);
  const code = q.get('code');
  const state = q.get('state');
  if (!code || !state) return false;
  const sent = sessionStorage.getItem(SSO_KEY);
  sessionStorage.removeItem(SSO_KEY);
  history.replaceState(null, '', location.pathname);
  if (sent !== state) {
    showError(new Error('This sign-in did not start on this page; please log in again.'));
    return true;
  }
  run('Completing single sign-on', async () => {
    const { token } = await dfns.call('POST', '/auth/login/sso', { body: { code, state } });
    startSession(token);
    render();
    await refreshAll();
    $('main').focus();
    return `Logged in as ${session.username}.`;
  });
  return true;
}

// ---- start ----

wire();
$('login-org').addEventListener('change', showSSO);
session = loadSession();
const ssoReturn = !session && finishSSO();
render();
if (!session && !ssoReturn) showSSO();
if (session) run('Loading', async () => {
  await refreshAll();
  return `Logged in as ${session.username}.`;
});
checkPasskeys();
