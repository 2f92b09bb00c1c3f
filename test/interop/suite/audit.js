'use strict';
// Audit log through the official SDK (spec 8, docs/audit.md): `listAuditLogs` and `getAuditLog`
// of `DfnsApiClient.auth` parse signet's answers, and what they answer lets an auditor re-verify
// every signed request the suite made.
//
//   listAuditLogs({ query: { startTime, endTime } }) → a string (CSV served as a JSON string) with
//     the exact header; one row per user-action-signed request the SDK made (the credential,
//     permission, PAT, service-account and user calls of the earlier steps);
//   getAuditLog({ id }) for every row → matched to the SDK request by
//     actionToken = base64url(SHA-256(user-action token)); its clientData decodes to
//     {"type":"key.get","challenge":<the challenge /auth/action/init gave>} and its signature
//     verifies with node:crypto against firstFactorCredential.publicKey (PEM);
//   userId and the time window narrow the listing; bad queries / unknown ids are DfnsErrors;
//   a registered user without Auth:Logs:Read gets 403 from both, and can read once granted it.
//
// Both SDK versions (0.8.3, 0.8.21) have both methods with the same request shapes
// (generated/auth/client.js): listAuditLogs({ query: { startTime, endTime, userId? } }) and
// getAuditLog({ id }) (path parameter `id`, not `logId`).
//
// Called by interop.js with its step() machinery and shared state, after the identity steps
// (./identities.js) and before the logout step.

const assert = require('node:assert/strict');
const nodeCrypto = require('node:crypto');

const CSV_HEADER = ['Date Performed', 'Audit Log ID', 'User ID', 'Username', 'Primary Credential ID', 'Action Path', 'Summary'];
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

// RFC 4180 CSV (quoted fields, "" inside quotes, LF or CRLF line ends) → array of records.
function parseCsv(text) {
  const records = [];
  let rec = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else field += ch;
      i++;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      rec.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      rec.push(field);
      records.push(rec);
      rec = [];
      field = '';
    } else field += ch;
    i++;
  }
  assert.ok(!quoted, 'CSV ends inside a quoted field');
  if (field !== '' || rec.length) {
    rec.push(field);
    records.push(rec);
  }
  return records;
}

const sha256b64url = (s) => nodeCrypto.createHash('sha256').update(String(s), 'utf8').digest('base64url');

// Verifies a Key credential's assertion as an auditor would (spec 3.3): the signature covers the
// base64url-decoded clientData bytes exactly; ECDSA/RSA with SHA-256 (DER for ECDSA), EdDSA pure.
function verifyKeyAssertion(publicKeyPem, clientDataB64url, signatureB64url) {
  const key = nodeCrypto.createPublicKey(publicKeyPem);
  const alg = ['ed25519', 'ed448'].includes(key.asymmetricKeyType) ? null : 'sha256';
  return nodeCrypto.verify(alg, Buffer.from(clientDataB64url, 'base64url'), key, Buffer.from(signatureB64url, 'base64url'));
}

module.exports = function defineAuditSteps(ctx) {
  const { step, s, server, sdk, expectDfnsError, sinceMark, httpLog, keys } = ctx;
  const { DfnsApiClient, DfnsAuthenticator, AsymmetricKeySigner, BrowserKeySigner } = sdk;

  const suffix = nodeCrypto.randomBytes(3).toString('hex');
  // Everything this run signs happens after this module is loaded; a minute of slack either side
  // (same host, so no real clock skew).
  const windowStart = new Date(Date.now() - 60_000).toISOString();
  const windowEnd = () => new Date(Date.now() + 60_000).toISOString();

  async function expectStatus(promise, status, what) {
    const err = await expectDfnsError(promise, what);
    assert.equal(err.httpStatus, status, `${what}: expected DfnsError ${status}, got ${err.httpStatus}: ${err.message}`);
    return err;
  }

  // Calls listAuditLogs and checks the wire form (JSON string, JSON content type) and the header.
  async function listCsv(client, query, mark) {
    const csv = await client.auth.listAuditLogs({ query });
    assert.equal(typeof csv, 'string', `listAuditLogs must resolve to a string, got ${typeof csv}: ${JSON.stringify(csv).slice(0, 300)}`);
    const x = sinceMark(mark).filter((e) => e.path === '/auth/action/logs').pop();
    assert.ok(x, 'GET /auth/action/logs was sent');
    assert.equal(x.method, 'GET');
    const sent = new URL(x.url).searchParams;
    for (const [k, v] of Object.entries(query)) assert.equal(sent.get(k), v, `query ${k} sent by the SDK`);
    assert.match(x.contentType ?? '', /^application\/json/, 'CSV is served as a JSON string');
    const records = parseCsv(csv);
    assert.ok(records.length >= 1, 'CSV has a header line');
    assert.deepEqual(records[0], CSV_HEADER, `CSV header line: ${csv.split('\n')[0]}`);
    assert.ok(!csv.includes('# TRUNCATED'), 'not truncated');
    const rows = records.slice(1).map((r, i) => {
      assert.equal(r.length, CSV_HEADER.length, `CSV row ${i + 1} has ${r.length} fields: ${JSON.stringify(r)}`);
      return Object.fromEntries(CSV_HEADER.map((h, j) => [h, r[j]]));
    });
    return { csv, rows };
  }

  // The user-action-signed requests the SDK sent, keyed by base64url(SHA-256(token)), with the
  // /auth/action/init challenge and the /auth/action assertion that produced each token.
  function signedExchanges() {
    const byToken = new Map();
    const signByToken = new Map();
    const initByCid = new Map();
    for (const x of httpLog) {
      if (x.method === 'POST' && x.path === '/auth/action/init' && x.status === 200) {
        const r = JSON.parse(x.resBody);
        initByCid.set(r.challengeIdentifier, { ...r, request: JSON.parse(x.reqBody) });
      } else if (x.method === 'POST' && x.path === '/auth/action' && x.status === 200) {
        signByToken.set(JSON.parse(x.resBody).userAction, JSON.parse(x.reqBody));
      }
    }
    for (const x of httpLog) {
      const tok = x.reqHeaders['x-dfns-useraction'];
      if (!tok || x.status === undefined) continue;
      const sign = signByToken.get(tok);
      const init = sign && initByCid.get(sign.challengeIdentifier);
      byToken.set(sha256b64url(tok), { x, sign, init });
    }
    return byToken;
  }

  // ---------------------------------------------------------------------------------------------

  step('auth.listAuditLogs({ query: { startTime, endTime } }) answers a string CSV with the exact header and rows for the signed calls', ['client', 'ed'], async (t, mark) => {
    const { rows } = await listCsv(s.client, { startTime: windowStart, endTime: windowEnd() }, mark);
    assert.ok(rows.length > 0, 'CSV has rows');
    const ids = new Set();
    for (const r of rows) {
      assert.match(r['Audit Log ID'], /^uj-/, `Audit Log ID: ${JSON.stringify(r)}`);
      assert.ok(!ids.has(r['Audit Log ID']), `duplicate Audit Log ID ${r['Audit Log ID']}`);
      ids.add(r['Audit Log ID']);
      assert.match(r['Date Performed'], ISO_MS, `Date Performed: ${JSON.stringify(r)}`);
      const when = Date.parse(r['Date Performed']);
      assert.ok(when >= Date.parse(windowStart) && when <= Date.now() + 1000, `Date Performed inside the window: ${r['Date Performed']}`);
      assert.match(r['User ID'], /^us-/, `User ID: ${JSON.stringify(r)}`);
      assert.match(r['Primary Credential ID'], /^cr-/, `Primary Credential ID: ${JSON.stringify(r)}`);
      assert.match(r.Summary, /^(GET|POST|PUT|DELETE|PATCH) \/\S* -> \d{3}$/, `Summary: ${JSON.stringify(r)}`);
      assert.equal(r.Summary.split(' ')[1], r['Action Path'], `Summary path = Action Path: ${JSON.stringify(r)}`);
    }
    const dates = rows.map((r) => Date.parse(r['Date Performed']));
    assert.deepEqual([...dates].sort((a, b) => a - b), dates, 'rows in chain order are in time order');

    // The credential steps of interop.js, by the admin: create, deactivate (credential 1 through
    // BrowserKeySigner), activate (credential 2 on itself, credential 1, then credential 2 again).
    const admin = rows.filter((r) => r['User ID'] === s.userId);
    const count = (summary, cred) => admin.filter((r) => r.Summary === summary && (!cred || r['Primary Credential ID'] === cred)).length;
    assert.equal(count('POST /auth/credentials -> 200', s.cred1Uuid), 1, 'row for createCredential, signed by credential 1');
    assert.equal(count('PUT /auth/credentials/deactivate -> 200', s.cred1Uuid), 1, 'row for deactivateCredential, signed by credential 1');
    assert.equal(count('PUT /auth/credentials/activate -> 200', s.ed.uuid), 2, 'rows for activateCredential signed by credential 2 (before and after the deactivation)');
    assert.equal(count('PUT /auth/credentials/activate -> 200', s.cred1Uuid), 1, 'row for activateCredential signed by credential 1');
    for (const r of admin) assert.equal(r.Username, s.username, `admin row Username: ${JSON.stringify(r)}`);
    s.auditRows = rows;
    const byPath = {};
    for (const r of rows) {
      const k = r.Summary.replace(/\/(us|to|pm|as)-[^/ ]+/g, '/$1-…');
      byPath[k] = (byPath[k] || 0) + 1;
    }
    t.diagnostic(`${rows.length} rows: ${Object.entries(byPath).map(([k, n]) => `${n}× ${k}`).join('; ')}`);
  });

  step('auth.getAuditLog({ id }) for the deactivateCredential row: clientData is {"type":"key.get","challenge":…} and the signature verifies with node:crypto against firstFactorCredential.publicKey', ['auditRows'], async (t, mark) => {
    const row = s.auditRows.find((r) => r.Summary === 'PUT /auth/credentials/deactivate -> 200' && r['User ID'] === s.userId);
    const log = await s.client.auth.getAuditLog({ id: row['Audit Log ID'] });
    const [x] = sinceMark(mark);
    assert.equal(`${x.method} ${x.path} ${x.status}`, `GET /auth/action/logs/${row['Audit Log ID']} 200`);

    assert.equal(log.id, row['Audit Log ID']);
    assert.equal(log.action, 'PUT /auth/credentials/deactivate');
    assert.equal(log.userId, s.userId);
    assert.equal(log.username, s.username);
    assert.equal(log.datePerformed, row['Date Performed']);
    const fc = log.firstFactorCredential;
    assert.equal(fc?.id, s.cred1Uuid, 'firstFactorCredential.id = credential 1 uuid = CSV Primary Credential ID');
    assert.equal(fc.kind, 'Key');
    assert.match(fc.publicKey, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n?$/, 'publicKey is SPKI PEM');
    const ours = nodeCrypto.KeyObject.from(s.p256.keyPair.publicKey).export({ type: 'spki', format: 'der' });
    assert.ok(nodeCrypto.createPublicKey(fc.publicKey).export({ type: 'spki', format: 'der' }).equals(ours), 'publicKey is credential 1\'s key');
    assert.equal(fc.assertion?.authenticatorData, null, 'authenticatorData is null for a Key credential');

    // What the auditor checks, from the entry alone:
    const clientData = JSON.parse(Buffer.from(fc.assertion.clientData, 'base64url').toString('utf8'));
    assert.deepEqual(Object.keys(clientData), ['type', 'challenge'], `clientData as BrowserKeySigner builds it: ${JSON.stringify(clientData)}`);
    assert.equal(clientData.type, 'key.get');
    assert.ok(verifyKeyAssertion(fc.publicKey, fc.assertion.clientData, fc.assertion.signature), 'signature verifies against publicKey');
    const tampered = Buffer.from(JSON.stringify({ ...clientData, challenge: `${clientData.challenge}x` })).toString('base64url');
    assert.ok(!verifyKeyAssertion(fc.publicKey, tampered, fc.assertion.signature), 'the check is not vacuous: altered clientData fails');

    // … and against what the SDK actually did: the challenge of that /auth/action/init, the
    // assertion BrowserKeySigner sent, the user-action token the final request carried.
    const ex = signedExchanges().get(log.actionToken);
    assert.ok(ex, `actionToken ${log.actionToken} is base64url(SHA-256) of a user-action token the SDK sent`);
    assert.equal(`${ex.x.method} ${ex.x.path} ${ex.x.status}`, 'PUT /auth/credentials/deactivate 200');
    assert.equal(clientData.challenge, ex.init.challenge, 'clientData.challenge is the challenge of /auth/action/init');
    assert.equal(fc.assertion.clientData, ex.sign.firstFactor.credentialAssertion.clientData, 'clientData exactly as the signer sent it');
    assert.equal(fc.assertion.signature, ex.sign.firstFactor.credentialAssertion.signature, 'signature exactly as the signer sent it');
    t.diagnostic(`${log.id}: ${log.action} by ${log.username}, ${fc.kind} ${fc.id}, signature verified`);
  });

  step('every CSV row: getAuditLog matches exactly one signed SDK request (by actionToken), and its signature re-verifies; every 2xx signed request has a row', ['auditRows'], async (t) => {
    const signed = signedExchanges();
    const credUuids = { [s.p256.credId]: s.cred1Uuid, [s.ed.credId]: s.ed.uuid };
    const matched = new Set();
    const kinds = {};
    const unsignedQueries = [];
    for (const r of s.auditRows) {
      const id = r['Audit Log ID'];
      const log = await s.client.auth.getAuditLog({ id });
      const what = `${id} (${r.Summary})`;
      assert.equal(log.id, id, what);
      assert.equal(log.userId, r['User ID'], `${what}: userId`);
      assert.equal(log.username, r.Username, `${what}: username`);
      assert.equal(log.datePerformed, r['Date Performed'], `${what}: datePerformed`);
      assert.equal(log.firstFactorCredential?.id, r['Primary Credential ID'], `${what}: firstFactorCredential.id`);

      const ex = signed.get(log.actionToken);
      assert.ok(ex, `${what}: actionToken ${log.actionToken} matches no user-action token the SDK sent`);
      assert.ok(!matched.has(log.actionToken), `${what}: two entries for one user-action token`);
      matched.add(log.actionToken);
      const u = new URL(ex.x.url);
      // `action` is what was signed: the SDKs sign userActionHttpMethod + userActionHttpPath
      // (resource.pathname, never the query), so archiveServiceAccount's ?force=true (0.8.21) is
      // not part of it.
      assert.equal(log.action, `${ex.init.request.userActionHttpMethod} ${ex.init.request.userActionHttpPath}`, `${what}: action = the signed method and path`);
      assert.equal(log.action, `${ex.x.method} ${u.pathname}`, `${what}: action = the request the token was spent on (${ex.x.url})`);
      if (u.search) unsignedQueries.push(`${ex.x.method} ${u.pathname}${u.search}`);
      assert.equal(r.Summary, `${ex.x.method} ${u.pathname} -> ${ex.x.status}`, `${what}: Summary status = the status the SDK got`);
      const bearer = keys.decodeJwt(ex.x.reqHeaders.authorization.replace(/^Bearer /, '')).payload['https://custom/app_metadata'];
      assert.equal(r['User ID'], bearer.userId, `${what}: attributed to the identity of the bearer token`);

      const fc = log.firstFactorCredential;
      const cred = ex.sign.firstFactor.credentialAssertion;
      if (credUuids[cred.credId]) assert.equal(fc.id, credUuids[cred.credId], `${what}: credential uuid of credId ${cred.credId}`);
      assert.equal(fc.kind, 'Key', `${what}: kind`);
      assert.equal(fc.assertion?.authenticatorData, null, `${what}: authenticatorData`);
      assert.equal(fc.assertion.clientData, cred.clientData, `${what}: clientData as sent`);
      assert.equal(fc.assertion.signature, cred.signature, `${what}: signature as sent`);
      const clientData = JSON.parse(Buffer.from(fc.assertion.clientData, 'base64url').toString('utf8'));
      assert.equal(clientData.type, 'key.get', `${what}: clientData.type`);
      assert.equal(clientData.challenge, ex.init.challenge, `${what}: clientData.challenge`);
      assert.ok(verifyKeyAssertion(fc.publicKey, fc.assertion.clientData, fc.assertion.signature), `${what}: signature does not verify against publicKey`);
      const kt = nodeCrypto.createPublicKey(fc.publicKey).asymmetricKeyType;
      kinds[kt] = (kinds[kt] || 0) + 1;
    }
    const missing = [...signed].filter(([h, e]) => e.x.status >= 200 && e.x.status < 300 && !matched.has(h)).map(([, e]) => `#${e.x.seq} ${e.x.method} ${e.x.path} ${e.x.status}`);
    assert.deepEqual(missing, [], 'successful user-action-signed requests without an audit row');
    const refusedLogged = [...signed].filter(([h, e]) => e.x.status >= 300 && matched.has(h)).map(([, e]) => `${e.x.method} ${e.x.path} ${e.x.status}`);
    t.diagnostic(`${s.auditRows.length} entries re-verified (keys: ${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')}); ` +
      `${signed.size} signed requests sent, refused ones with an entry: ${refusedLogged.join('; ') || 'none'}; ` +
      `requests whose query the SDK did not sign (so not in the entry): ${unsignedQueries.join('; ') || 'none'}`);
    s.auditVerified = true;
  });

  step('listAuditLogs: userId and the time window narrow the rows', ['auditRows', 'sa'], async (t, mark) => {
    const all = s.auditRows;
    const end = windowEnd();
    const forUser = async (userId) => (await listCsv(s.client, { startTime: windowStart, endTime: end, userId }, httpLog.length)).rows;
    const adminRows = await forUser(s.userId);
    const saRows = await forUser(s.sa.id);
    assert.ok(adminRows.length > 0 && adminRows.every((r) => r['User ID'] === s.userId), 'userId=admin: only admin rows');
    assert.ok(saRows.length > 0 && saRows.every((r) => r['User ID'] === s.sa.id), 'userId=service account: only its rows (createPermission 403 / 200 / 401 attempts that spent a token)');
    assert.ok(adminRows.length < all.length, 'the filter narrows');
    const idsOf = (rs) => rs.map((r) => r['Audit Log ID']);
    const allIds = idsOf(all);
    assert.deepEqual(idsOf(adminRows), allIds.filter((id) => idsOf(adminRows).includes(id)), 'filtered rows keep chain order');
    for (const r of [...adminRows, ...saRows]) assert.ok(allIds.includes(r['Audit Log ID']), `filtered row not in the full listing: ${JSON.stringify(r)}`);
    assert.deepEqual(await forUser(s.member?.userId ?? 'us-doesnotexist'), [], 'a user who signed nothing has no rows');
    assert.deepEqual(
      (await listCsv(s.client, { startTime: new Date(Date.now() + 3600_000).toISOString(), endTime: new Date(Date.now() + 7200_000).toISOString() }, httpLog.length)).rows,
      [],
      'a window in the future has no rows',
    );
    // Windows are [startTime, endTime). Date Performed is the entry's time cut to the millisecond,
    // so the first entry lies in [its Date Performed, +1 ms) and not before it.
    const firstDate = all[0]['Date Performed'];
    const firstMsEnd = new Date(Date.parse(firstDate) + 1).toISOString();
    assert.deepEqual((await listCsv(s.client, { startTime: windowStart, endTime: firstDate }, httpLog.length)).rows, [], 'a window ending at the first entry\'s time does not hold it');
    const firstMs = (await listCsv(s.client, { startTime: firstDate, endTime: firstMsEnd }, httpLog.length)).rows;
    assert.equal(firstMs[0]?.['Audit Log ID'], all[0]['Audit Log ID'], `[${firstDate}, ${firstMsEnd}) holds the first entry`);
    assert.ok(firstMs.every((r) => r['Date Performed'] === firstDate), 'and only entries of that millisecond');
    t.diagnostic(`all ${all.length}, userId=admin ${adminRows.length}, userId=service account ${saRows.length}`);
  });

  step('listAuditLogs without endTime → DfnsError 400; getAuditLog of an unknown id → DfnsError 404', ['client'], async () => {
    await expectStatus(s.client.auth.listAuditLogs({ query: { startTime: windowStart } }), 400, 'listAuditLogs without endTime');
    await expectStatus(s.client.auth.listAuditLogs({ query: { startTime: windowEnd(), endTime: windowStart } }), 400, 'listAuditLogs with endTime before startTime');
    await expectStatus(s.client.auth.getAuditLog({ id: 'uj-0000-0000-0000000000000000' }), 404, 'getAuditLog of an unknown id');
  });

  // A registered person with a permission, but not Auth:Logs:Read.
  step('a user without Auth:Logs:Read (holding Auth:Users:Read) gets DfnsError 403 from listAuditLogs and getAuditLog; granted Auth:Logs:Read, reads the same log', ['auditRows', 'permUsersRead'], async (t) => {
    const email = `auditor-${suffix}@interop.test`;
    const u = await s.client.auth.createUser({ body: { email, kind: 'CustomerEmployee' } });
    const invite = await server.inviteUser({ orgId: s.orgId, username: email });
    const keyPair = await keys.generateBrowserP256KeyPair();
    const signerOptions = { keyPair };
    await new DfnsAuthenticator({ baseUrl: server.baseUrl, orgId: s.orgId, signer: new BrowserKeySigner(signerOptions) }).register({
      orgId: s.orgId,
      username: email,
      registrationCode: invite.registrationCode,
    });
    const signer = new AsymmetricKeySigner({ credId: signerOptions.credId, privateKey: keys.cryptoKeyToPkcs8Pem(keyPair.privateKey) });
    const { token } = await new DfnsAuthenticator({ baseUrl: server.baseUrl, orgId: s.orgId, signer }).login({ orgId: s.orgId, username: email });
    const auditor = new DfnsApiClient({ baseUrl: server.baseUrl, orgId: s.orgId, authToken: token, signer });
    await s.client.permissions.createAssignment({ permissionId: s.permUsersRead.id, body: { identityId: u.userId } });
    const me = await auditor.auth.getUser({ userId: u.userId });
    assert.equal(me.userId, u.userId, 'the token works for what it holds');

    const query = { startTime: windowStart, endTime: windowEnd() };
    const id = s.auditRows[0]['Audit Log ID'];
    const e1 = await expectStatus(auditor.auth.listAuditLogs({ query }), 403, 'listAuditLogs without Auth:Logs:Read');
    const e2 = await expectStatus(auditor.auth.getAuditLog({ id }), 403, 'getAuditLog without Auth:Logs:Read');
    t.diagnostic(`listAuditLogs: DfnsError ${e1.httpStatus}: ${e1.message}; getAuditLog: DfnsError ${e2.httpStatus}: ${e2.message}`);

    const logsRead = await s.client.permissions.createPermission({ body: { name: `interop-logs-read-${suffix}`, operations: ['Auth:Logs:Read'] } });
    await s.client.permissions.createAssignment({ permissionId: logsRead.id, body: { identityId: u.userId } });
    const { rows } = await listCsv(auditor, query, httpLog.length);
    const seen = new Set(rows.map((r) => r['Audit Log ID']));
    for (const r of s.auditRows) assert.ok(seen.has(r['Audit Log ID']), `auditor's listing lacks ${r['Audit Log ID']}`);
    assert.ok(rows.some((r) => r.Summary === `POST /permissions/${logsRead.id}/assignments -> 200`), 'the grant itself is logged');
    const log = await auditor.auth.getAuditLog({ id });
    assert.equal(log.id, id);
  });
};
