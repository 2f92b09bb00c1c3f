// Creates a permission in signet with one RFC 9421 signed POST (no
// /auth/action/init, no /auth/action), then shows that the same signed
// request is not accepted twice and that a changed body is refused.
//
//   SIGNET_URL=http://127.0.0.1:8080 SIGNET_TOKEN=eyJ... KEY_FILE=signet-key.pem CRED_ID=... node dist/signed-post.js
//
// Prints one line per step; exits non-zero when a step does not behave.
import fs from 'node:fs';
import { type Algorithm } from 'http-message-signatures';
import { contentDigest, signRequest, type KeyCredential } from './signer.js';

const env = (name: string, fallback?: string): string => {
  const v = process.env[name] ?? fallback;
  if (!v) {
    console.error(`set ${name}`);
    process.exit(2);
  }
  return v;
};
const base = env('SIGNET_URL', 'http://127.0.0.1:8080').replace(/\/$/, '');
const token = env('SIGNET_TOKEN');
const cred: KeyCredential = {
  credId: env('CRED_ID'),
  privateKeyPem: fs.readFileSync(env('KEY_FILE'), 'utf8'),
  alg: env('ALG', 'ecdsa-p256-sha256') as Algorithm,
};

let failed = 0;
function step(ok: boolean, what: string, detail: string): void {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${detail}`);
  if (!ok) failed++;
}

// 1. Discovery: signet advertises what it accepts (RFC 9421 section 5.1).
const probe = await fetch(`${base}/auth/action/logs?limit=1`, { headers: { authorization: `Bearer ${token}` } });
const accept = probe.headers.get('accept-signature') ?? '';
step(accept.includes('"@target-uri"'), 'server advertises Accept-Signature', accept || '(none)');

// 2. One signed POST: a new permission.
const url = `${base}/permissions`;
const body = JSON.stringify({ name: `ts-example ${new Date().toISOString()} ${Math.random()}`, operations: ['Auth:Users:Read'] });
const headers = await signRequest({ method: 'POST', url, token, body }, cred);
const created = await fetch(url, { method: 'POST', headers, body });
const permission = (await created.json()) as { id?: string };
step(created.status === 200 && !!permission.id, 'signed POST /permissions', `${created.status} ${permission.id ?? JSON.stringify(permission)}`);

// 3. The very same request again: its nonce is spent.
const replay = await fetch(url, { method: 'POST', headers, body });
step(replay.status === 401, 'replayed request refused', `${replay.status}`);

// 4. Another body under a fresh signature's headers, with its own digest:
//    the signature covered the old digest.
const fresh = await signRequest({ method: 'POST', url, token, body }, cred);
const other = body.replace('Auth:Users:Read', 'Auth:Users:Update');
const tampered = await fetch(url, { method: 'POST', headers: { ...fresh, 'content-digest': contentDigest(other) }, body: other });
step(tampered.status === 401, 'changed body refused', `${tampered.status}`);

process.exit(failed === 0 ? 0 : 1);
