// gen_vectors.mjs writes Key-credential test vectors made by Node's own
// crypto, the way the official Dfns signers make them (spec 3.3, 3.5), so
// that the Go tests prove interop with Node's byte formats.
//
//   node testdata/gen_vectors.mjs > testdata/node_vectors.json
//   go run testdata/gen_seeds.go testdata   # refresh the fuzz seeds
//
// Only node:crypto is used. Keys are fresh on every run; the committed
// output is one run of this script.
import crypto from 'node:crypto'

const b64url = (buf) => Buffer.from(buf).toString('base64url')
const sha256hex = (buf) => crypto.createHash('sha256').update(buf).digest('hex')
const newChallenge = () => b64url(crypto.randomBytes(32))

function keyPair(name) {
  switch (name) {
    case 'p256':
      return crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    case 'p384':
      return crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
    case 'secp256k1':
      return crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
    case 'ed25519':
      return crypto.generateKeyPairSync('ed25519')
    case 'rsa2048':
      return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
  }
  throw new Error(name)
}

// fingerprint is what credential.PublicKey.Fingerprint must return.
const fingerprint = (publicKey) =>
  'SHA256:' +
  crypto.createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64').replace(/=+$/, '')

// assertion signs clientData as @dfns/sdk-keysigner 0.8.3 does:
// crypto.sign(algorithm || undefined, Buffer.from(JSON.stringify(clientData)), privateKey).
function assertion(name, kp, pem, { clientData, algorithm, signOptions = {}, expect = 'ok' }) {
  const challenge = clientData.challenge
  const cd = Buffer.from(JSON.stringify(clientData))
  const sig = crypto.sign(algorithm || undefined, cd, { key: kp.privateKey, ...signOptions })
  return {
    name,
    kind: 'assertion',
    publicKey: pem,
    fingerprint: fingerprint(kp.publicKey),
    challenge: challenge,
    clientData: b64url(cd),
    signature: b64url(sig),
    expect,
  }
}

// attestation builds credentialInfo as BrowserKeySigner.create does (spec
// 3.5), signing with Node's crypto.sign. hashed, when given, is the
// clientData string that goes into clientDataHash instead of the one sent.
function attestation(name, kp, pem, { clientData, challenge, hashed, algorithm, expect = 'ok' }) {
  const sent = JSON.stringify(clientData)
  const credInfoFingerprint = JSON.stringify({
    clientDataHash: sha256hex(Buffer.from(hashed ?? sent)),
    publicKey: pem,
  })
  const signature = crypto.sign(algorithm || undefined, Buffer.from(credInfoFingerprint), kp.privateKey).toString('hex')
  const attestationData = { publicKey: pem, signature }
  if (algorithm) attestationData.algorithm = algorithm
  return {
    name,
    kind: 'attestation',
    publicKey: pem,
    fingerprint: fingerprint(kp.publicKey),
    challenge: challenge ?? clientData.challenge,
    clientData: b64url(Buffer.from(sent)),
    attestationData: b64url(Buffer.from(JSON.stringify(attestationData))),
    expect,
  }
}

const vectors = []
for (const name of ['p256', 'p384', 'secp256k1', 'ed25519', 'rsa2048', 'rsa2048-pkcs1']) {
  const kp = keyPair(name.replace('-pkcs1', ''))
  const type = name.endsWith('-pkcs1') ? 'pkcs1' : 'spki'
  const pem = kp.publicKey.export({ type, format: 'pem' })
  vectors.push(
    attestation(`${name}/attestation`, kp, pem, { clientData: { type: 'key.create', challenge: newChallenge() } }),
    assertion(`${name}/assertion`, kp, pem, { clientData: { type: 'key.get', challenge: newChallenge() } })
  )
}

// Variants seen from other official clients (spec 3.3, 3.5, 3.6).
{
  const kp = keyPair('p256')
  const pem = kp.publicKey.export({ type: 'spki', format: 'pem' })
  const ch = newChallenge()
  vectors.push(
    // Python SDK: origin and crossOrigin.
    assertion('p256/assertion-python-style', kp, pem, {
      clientData: { type: 'key.get', challenge: newChallenge(), origin: 'https://app.dfns.io', crossOrigin: false },
    }),
    // Go SDK: keys sorted.
    assertion('p256/assertion-go-style', kp, pem, {
      clientData: { challenge: newChallenge(), crossOrigin: false, type: 'key.get' },
    }),
    // Keysigner configured with algorithm "SHA256" (never sent, spec 3.3).
    assertion('p256/assertion-algorithm-sha256', kp, pem, {
      clientData: { type: 'key.get', challenge: newChallenge() },
      algorithm: 'SHA256',
    }),
    // WebCrypto-style raw r||s signature: Dfns requires DER (spec 3.4).
    assertion('p256/assertion-raw-rs', kp, pem, {
      clientData: { type: 'key.get', challenge: newChallenge() },
      signOptions: { dsaEncoding: 'ieee-p1363' },
      expect: 'malformed',
    }),
    // nextjs-delegated-recovery: challenge base64url-encoded once more (spec 3.6).
    attestation('p256/attestation-wrapped-challenge', kp, pem, {
      clientData: { type: 'key.create', challenge: b64url(Buffer.from(ch)) },
      challenge: ch,
    }),
    // Docs: hash over the clientData with sorted keys (spec 3.5 fallback).
    attestation('p256/attestation-sorted-hash', kp, pem, {
      clientData: { type: 'key.create', challenge: ch, origin: 'https://app.example' },
      hashed: JSON.stringify({ challenge: ch, origin: 'https://app.example', type: 'key.create' }),
    }),
    // BrowserKeySigner exports the PEM without a trailing newline.
    attestation('p256/attestation-pem-no-trailing-newline', kp, pem.trimEnd(), {
      clientData: { type: 'key.create', challenge: newChallenge() },
    }),
    // A key.get clientData cannot register a credential.
    attestation('p256/attestation-wrong-type', kp, pem, {
      clientData: { type: 'key.get', challenge: newChallenge() },
      expect: 'rejected',
    })
  )
}
{
  // OpenSSL does not normalise ECDSA S, so half of the secp256k1 signatures
  // Node makes are high-S; make sure one of them is among the vectors.
  const kp = keyPair('secp256k1')
  const pem = kp.publicKey.export({ type: 'spki', format: 'pem' })
  const halfN = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n >> 1n
  const sOf = (der) => {
    const rLen = der[3]
    const sLen = der[5 + rLen]
    return BigInt('0x' + der.subarray(6 + rLen, 6 + rLen + sLen).toString('hex'))
  }
  for (;;) {
    const v = assertion('secp256k1/assertion-high-s', kp, pem, { clientData: { type: 'key.get', challenge: newChallenge() } })
    if (sOf(Buffer.from(v.signature, 'base64url')) > halfN) {
      vectors.push(v)
      break
    }
  }
}
{
  const kp = keyPair('rsa2048')
  const pem = kp.publicKey.export({ type: 'pkcs1', format: 'pem' })
  vectors.push(
    attestation('rsa2048/attestation-algorithm-RSA-SHA256', kp, pem, {
      clientData: { type: 'key.create', challenge: newChallenge() },
      algorithm: 'RSA-SHA256',
    }),
    attestation('rsa2048/attestation-algorithm-SHA512', kp, pem, {
      clientData: { type: 'key.create', challenge: newChallenge() },
      algorithm: 'SHA512',
      expect: 'malformed',
    }),
    // SHA-512 signature without saying so: does not verify as SHA-256.
    assertion('rsa2048/assertion-sha512', kp, pem, {
      clientData: { type: 'key.get', challenge: newChallenge() },
      algorithm: 'SHA512',
      expect: 'rejected',
    })
  )
}

process.stdout.write(JSON.stringify({ generator: 'testdata/gen_vectors.mjs', node: process.version, vectors }, null, 2) + '\n')
