// A minimal RFC 9421 signer for signet (docs/httpsig.md), on top of
// http-message-signatures: one signature, label sig1, covering @method,
// @target-uri, authorization and (with a body) content-digest, with the
// parameters signet requires: created, nonce, keyid and alg.
import { createHash, createPrivateKey, randomBytes } from 'node:crypto';
import { createSigner, httpbis, type Algorithm } from 'http-message-signatures';

/** A Key credential's private key and the RFC 9421 algorithm it signs with. */
export interface KeyCredential {
  /** The credential id (credId) signet knows the key by: the signature's keyid. */
  credId: string;
  /** PKCS#8 PEM private key. */
  privateKeyPem: string;
  /** ecdsa-p256-sha256 (ES256), ed25519 (EdDSA), ecdsa-p384-sha384, rsa-v1_5-sha256. */
  alg: Algorithm;
}

/** A request to sign: the URL must be the one signet sees (docs/httpsig.md, --public-url). */
export interface RequestToSign {
  method: string;
  url: string;
  /** The bearer token, signed with the request: a signature is good for this token only. */
  token: string;
  /** The JSON body, exactly the bytes that will be sent; omit for none. */
  body?: string;
}

/** RFC 9530 Content-Digest of a body, sha-256. */
export function contentDigest(body: string): string {
  return `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
}

/**
 * Signs req with cred and returns every header to send: Authorization,
 * Content-Type and Content-Digest (with a body), Signature-Input and
 * Signature. Each call uses a fresh nonce: signet accepts a signature once.
 */
export async function signRequest(req: RequestToSign, cred: KeyCredential, now = new Date()): Promise<Record<string, string>> {
  const headers: Record<string, string> = { authorization: `Bearer ${req.token}` };
  const fields = ['@method', '@target-uri', 'authorization'];
  if (req.body !== undefined && req.body !== '') {
    headers['content-type'] = 'application/json';
    headers['content-digest'] = contentDigest(req.body);
    fields.push('content-digest');
  }
  const key = createSigner(createPrivateKey(cred.privateKeyPem), cred.alg, cred.credId);
  const signed = await httpbis.signMessage(
    {
      key,
      name: 'sig1',
      fields,
      params: ['created', 'nonce', 'keyid', 'alg'],
      paramValues: { created: now, nonce: randomBytes(24).toString('base64url') },
    },
    { method: req.method, url: req.url, headers },
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) {
    out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}
