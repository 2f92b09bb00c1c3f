'use strict';
// Key material and the one attestation the SDKs cannot build for us.
//
// * The first credential (P-256) is a WebCrypto CryptoKeyPair, exactly what a browser app hands to
//   `new BrowserKeySigner({ keyPair })` from @dfns/sdk-browser 0.6.12. Node 20 has
//   globalThis.crypto.subtle and TextEncoder, which is all BrowserKeySigner touches, so the suite
//   runs the real class (no re-implementation). For login / action signing the same private key is
//   exported to PKCS#8 PEM and given to `AsymmetricKeySigner` from @dfns/sdk-keysigner 0.8.3.
//
// * The second credential is Ed25519. BrowserKeySigner.create only signs with ECDSA (key.js line
//   30: `if (algorithm == 'ECDSA') … else throw`), and @dfns/sdk-keysigner has no `create`, so
//   `ed25519KeyAttestation` below builds the Key attestation with node:crypto, mirroring
//   @dfns/sdk-browser 0.6.12 signers/key.js `create` lines 18-48 step for step:
//     18-21  clientData = JSON.stringify({ type: 'key.create', challenge: challenge.challenge })
//     22-23  clientDataHash = lowercase hex SHA-256 of the UTF-8 clientData string
//     24-27  fingerprint = JSON.stringify({ clientDataHash, publicKey: <PEM> })
//     31     sign the UTF-8 fingerprint (here: Ed25519, pure EdDSA, 64-byte signature; ECDSA would
//            be SHA-256 + DER, line 36 rawSignatureToAns1)
//     37-40  attestationData = JSON.stringify({ publicKey: <PEM>, signature: hex(signature) })
//     41-48  { credentialKind: 'Key', credentialInfo: { credId, clientData: b64url, attestationData: b64url } }
//   The only deliberate difference: the PEM is Node's `export({type:'spki',format:'pem'})`, which
//   ends with a trailing "\n" (the browser helper omits it), as produced by the Node example in the
//   Dfns docs. The server must use the PEM verbatim from attestationData when it rebuilds the
//   fingerprint, so both forms must verify.

const nodeCrypto = require('node:crypto');

const b64url = (buf) => Buffer.from(buf).toString('base64url');

async function generateBrowserP256KeyPair() {
  return globalThis.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
}

function cryptoKeyToPkcs8Pem(cryptoKey) {
  return nodeCrypto.KeyObject.from(cryptoKey).export({ type: 'pkcs8', format: 'pem' });
}

function generateEd25519() {
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }),
  };
}

// P-256 key pair as the Dfns docs' Node example makes one for a PAT / service account:
// PKCS#8 PEM private key for AsymmetricKeySigner, SPKI PEM public key for the create body.
function generateP256() {
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }),
  };
}

function ed25519KeyAttestation({ challenge, credId, privateKeyPem, publicKeyPem }) {
  const clientData = JSON.stringify({ type: 'key.create', challenge: challenge.challenge });
  const clientDataHash = nodeCrypto.createHash('sha256').update(Buffer.from(clientData, 'utf8')).digest('hex');
  const fingerprint = JSON.stringify({ clientDataHash, publicKey: publicKeyPem });
  const signature = nodeCrypto.sign(null, Buffer.from(fingerprint, 'utf8'), privateKeyPem);
  const attestationData = JSON.stringify({ publicKey: publicKeyPem, signature: signature.toString('hex') });
  return {
    credentialKind: 'Key',
    credentialInfo: {
      credId,
      clientData: b64url(Buffer.from(clientData, 'utf8')),
      attestationData: b64url(Buffer.from(attestationData, 'utf8')),
    },
  };
}

// --- JWT helpers (no signature check by the SDK; we check it against the JWKS ourselves) ---
function decodeJwt(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error(`not a compact JWS: ${String(token).slice(0, 40)}…`);
  return {
    header: JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')),
    signingInput: Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'),
    signature: Buffer.from(parts[2], 'base64url'),
  };
}

function verifyJwtWithJwks(token, jwks) {
  const { header, payload, signingInput, signature } = decodeJwt(token);
  const candidates = (jwks.keys || []).filter((k) => (header.kid ? k.kid === header.kid : true));
  if (candidates.length === 0) {
    throw new Error(`no JWKS key with kid ${JSON.stringify(header.kid)} (JWKS kids: ${(jwks.keys || []).map((k) => k.kid).join(', ')})`);
  }
  for (const jwk of candidates) {
    const key = nodeCrypto.createPublicKey({ key: jwk, format: 'jwk' });
    if (nodeCrypto.verify(null, signingInput, key, signature)) return { header, payload, jwk };
  }
  throw new Error(`JWT signature does not verify with any JWKS key (kid ${header.kid})`);
}

module.exports = {
  b64url,
  generateBrowserP256KeyPair,
  cryptoKeyToPkcs8Pem,
  generateEd25519,
  generateP256,
  ed25519KeyAttestation,
  decodeJwt,
  verifyJwtWithJwks,
};
