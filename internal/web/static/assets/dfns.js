// The Dfns auth wire contract, written out by hand for the browser: JSON calls to /auth/...,
// passkeys through navigator.credentials, Key credentials through WebCrypto, and user-action
// signing (spec 4). Shapes follow @dfns/sdk 0.8.21 and @dfns/sdk-browser 0.6.12 exactly, so
// the server sees from this page what it sees from the official SDKs.

const utf8 = new TextEncoder();

// ---- encodings (spec 1.5: base64url without padding; decode leniently) ----

export function b64u(bytes) {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let bin = '';
  for (let i = 0; i < u8.length; i++) bin += String.fromCharCode(u8[i]);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function fromB64u(s) {
  const std = s.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(std + '='.repeat((4 - (std.length % 4)) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

// The claims of a JWT, unverified: the page only reads who it is logged in as (the server
// checks the token on every call).
export function jwtClaims(token) {
  const part = String(token).split('.')[1] || '';
  return JSON.parse(new TextDecoder().decode(fromB64u(part)));
}

// ---- HTTP ----

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
  }
}

// call sends one request. body is an object (serialised here) or an exact JSON string.
export async function call(method, path, { token, body, userAction } = {}) {
  const headers = {};
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  if (userAction) headers['X-DFNS-USERACTION'] = userAction;
  const res = await fetch(path, { method, headers, body: payload, credentials: 'omit', cache: 'no-store' });
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const msg = data?.error?.message || data?.message || `HTTP ${res.status}`;
    throw new ApiError(res.status, msg, data);
  }
  return data;
}

// ---- passkeys (spec 3.7) ----

function needWebAuthn() {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    throw new Error('This browser cannot use passkeys here (WebAuthn needs https or http://localhost).');
  }
}

// Drops null/undefined members: WebAuthn dictionaries reject null where a value is optional.
function clean(obj) {
  if (!obj) return undefined;
  const out = {};
  for (const [k, v] of Object.entries(obj)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

// createPasskey answers a registration or credential challenge (spec 5.2, 5.4) with a new
// passkey. Like WebAuthnSigner.create: the challenge and user.id go in as UTF-8 bytes of the
// strings the server sent (3.6).
export async function createPasskey(ch) {
  needWebAuthn();
  const cred = await navigator.credentials.create({
    publicKey: {
      challenge: utf8.encode(ch.challenge),
      rp: { id: location.hostname, name: ch.rp?.name || 'signet' },
      user: { id: utf8.encode(ch.user.id), name: ch.user.name, displayName: ch.user.displayName || ch.user.name },
      pubKeyCredParams: ch.pubKeyCredParams,
      attestation: ch.attestation || 'none',
      authenticatorSelection: clean(ch.authenticatorSelection),
      excludeCredentials: (ch.excludeCredentials || []).map(({ id, type }) => ({ id: fromB64u(id), type: type || 'public-key' })),
      timeout: 60_000,
    },
  });
  if (!cred) throw new Error('No passkey was created.');
  return {
    credentialKind: 'Fido2',
    credentialInfo: {
      credId: cred.id,
      clientData: b64u(cred.response.clientDataJSON),
      attestationData: b64u(cred.response.attestationObject),
    },
  };
}

// passkeyAssertion answers a login or user-action challenge (spec 4.3, 5.1) with one of the
// passkeys the server allows, as WebAuthnSigner.sign does.
export async function passkeyAssertion(ch) {
  needWebAuthn();
  const allow = (ch.allowCredentials?.webauthn || []).map(({ id, type, transports }) =>
    clean({ id: fromB64u(id), type: type || 'public-key', transports }),
  );
  if (allow.length === 0) throw new Error('This account has no active passkey that can sign.');
  const cred = await navigator.credentials.get({
    publicKey: {
      challenge: utf8.encode(ch.challenge),
      allowCredentials: allow,
      rpId: location.hostname,
      userVerification: ch.userVerification || 'required',
      timeout: 60_000,
    },
  });
  if (!cred) throw new Error('The passkey did not sign.');
  const r = cred.response;
  const credentialAssertion = {
    credId: cred.id,
    clientData: b64u(r.clientDataJSON),
    authenticatorData: b64u(r.authenticatorData),
    signature: b64u(r.signature),
  };
  if (r.userHandle) credentialAssertion.userHandle = b64u(r.userHandle);
  return { kind: 'Fido2', credentialAssertion };
}

// ---- keys (spec 3.4, 3.5) ----

function pem(label, der) {
  const lines = b64std(der).match(/.{1,64}/g).join('\n');
  return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----`;
}

function b64std(bytes) {
  const u8 = new Uint8Array(bytes);
  let bin = '';
  for (let i = 0; i < u8.length; i++) bin += String.fromCharCode(u8[i]);
  return btoa(bin);
}

// derSignature turns WebCrypto's raw r||s ECDSA signature into ASN.1 DER, which Dfns expects.
function derSignature(raw) {
  const int = (b) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = Array.from(b.slice(i));
    return v[0] & 0x80 ? [0, ...v] : v;
  };
  const half = raw.length / 2;
  const r = int(raw.slice(0, half));
  const s = int(raw.slice(half));
  return new Uint8Array([0x30, r.length + s.length + 4, 0x02, r.length, ...r, 0x02, s.length, ...s]);
}

// newKeyPair makes an ECDSA P-256 key pair and returns it with its PEM forms. The private key
// is extractable only so that it can be handed to the user once, as a PKCS#8 file.
export async function newKeyPair() {
  const keyPair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const publicKeyPem = pem('PUBLIC KEY', await crypto.subtle.exportKey('spki', keyPair.publicKey));
  const privateKeyPem = pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keyPair.privateKey));
  return { keyPair, publicKeyPem, privateKeyPem };
}

// newKeyCredential answers a Key credential challenge with a fresh P-256 key, building the
// attestation exactly as @dfns/sdk-browser's BrowserKeySigner.create does (spec 3.5).
export async function newKeyCredential(ch) {
  const { keyPair, publicKeyPem, privateKeyPem } = await newKeyPair();
  const credId = b64u(crypto.getRandomValues(new Uint8Array(32)));
  const clientData = JSON.stringify({ type: 'key.create', challenge: ch.challenge });
  const clientDataHash = hex(await crypto.subtle.digest('SHA-256', utf8.encode(clientData)));
  const fingerprint = JSON.stringify({ clientDataHash, publicKey: publicKeyPem });
  const raw = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keyPair.privateKey, utf8.encode(fingerprint));
  const attestationData = JSON.stringify({ publicKey: publicKeyPem, signature: hex(derSignature(new Uint8Array(raw))) });
  return {
    credential: {
      credentialKind: 'Key',
      credentialInfo: { credId, clientData: b64u(utf8.encode(clientData)), attestationData: b64u(utf8.encode(attestationData)) },
    },
    credId,
    privateKeyPem,
  };
}

// ---- flows ----

// register: registration code + a new passkey (spec 5.2), like DfnsAuthenticator.register.
export async function register({ orgId, username, registrationCode, credentialName = 'Passkey' }) {
  const ch = await call('POST', '/auth/registration/init', { body: { orgId, username, registrationCode } });
  const firstFactorCredential = { ...(await createPasskey(ch)), credentialName };
  return call('POST', '/auth/registration', { token: ch.temporaryAuthenticationToken, body: { firstFactorCredential } });
}

// login with a passkey (spec 5.1), like DfnsAuthenticator.login. Returns the login token.
export async function login({ orgId, username }) {
  const ch = await call('POST', '/auth/login/init', { body: { username, orgId } });
  const firstFactor = await passkeyAssertion(ch);
  const { token } = await call('POST', '/auth/login', { body: { challengeIdentifier: ch.challengeIdentifier, firstFactor } });
  return token;
}

export function logout(token) {
  return call('PUT', '/auth/logout', { token });
}

// signed makes one user-action-signed request (spec 4.1): the exact body string is bound at
// /auth/action/init, a passkey signs the challenge, and the request carries the userAction.
// Bodiless PUT/DELETE calls send "{}", as the SDK does. path must not carry a query.
export async function signed(token, method, path, body = {}) {
  const payload = JSON.stringify(body);
  const ch = await call('POST', '/auth/action/init', {
    token,
    body: { userActionPayload: payload, userActionHttpMethod: method, userActionHttpPath: path, userActionServerKind: 'Api' },
  });
  const firstFactor = await passkeyAssertion(ch);
  const { userAction } = await call('POST', '/auth/action', {
    token,
    body: { challengeIdentifier: ch.challengeIdentifier, firstFactor },
  });
  return call(method, path, { token, body: payload, userAction });
}

// addCredential adds a passkey or a Key credential to the logged-in user (spec 5.4). The new
// credential answers /auth/credentials/init; an existing passkey signs the creation. For a Key,
// the result carries the private key, which exists nowhere else.
export async function addCredential(token, kind, credentialName) {
  const ch = await call('POST', '/auth/credentials/init', { token, body: { kind } });
  let made;
  if (kind === 'Fido2') made = { credential: await createPasskey(ch) };
  else if (kind === 'Key') made = await newKeyCredential(ch);
  else throw new Error(`unsupported credential kind ${kind}`);
  const created = await signed(token, 'POST', '/auth/credentials', {
    credentialKind: made.credential.credentialKind,
    credentialInfo: made.credential.credentialInfo,
    credentialName,
    challengeIdentifier: ch.challengeIdentifier,
  });
  return { created, privateKeyPem: made.privateKeyPem, credId: made.credId };
}
