// Signs one request to signet with RFC 9421 (docs/httpsig.md), using
// http-message-signatures, an implementation independent of signet's.
//
//   echo '{"method":"POST","url":"https://signet.example.com/permissions",
//          "authorization":"Bearer eyJ...","body":"{...}","keyid":"<credId>",
//          "alg":"ecdsa-p256-sha256","privateKeyPem":"-----BEGIN PRIVATE KEY-----..."}' | node sign.mjs
//
// prints the headers to add to the request as JSON: Content-Digest (when
// there is a body), Signature-Input and Signature. "created" (UNIX seconds)
// may be given; it defaults to now.
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { httpbis, createSigner } from 'http-message-signatures';

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));

const headers = { authorization: input.authorization };
const fields = ['@method', '@target-uri', 'authorization'];
if (input.body) {
  const digest = createHash('sha256').update(input.body).digest('base64');
  headers['content-digest'] = `sha-256=:${digest}:`;
  fields.push('content-digest');
}
const key = createSigner(createPrivateKey(input.privateKeyPem), input.alg, input.keyid);
const signed = await httpbis.signMessage({
  key,
  name: 'sig1',
  fields,
  params: ['created', 'nonce', 'keyid', 'alg'],
  paramValues: {
    created: new Date((input.created ?? Math.floor(Date.now() / 1000)) * 1000),
    nonce: randomBytes(24).toString('base64url'),
  },
}, { method: input.method, url: input.url, headers });

const out = {};
for (const [k, v] of Object.entries(signed.headers)) {
  if (k !== 'authorization') out[k] = v;
}
console.log(JSON.stringify(out));
