// Registers the user that `signet bootstrap` created, logs in, and makes a
// user-action-signed call, all with the official Dfns SDK pointed at signet.
//
//   SIGNET_URL=http://127.0.0.1:8080 ORG_ID=or-... USERNAME=alice@example.com CODE=XXXXX-... node quickstart.mjs
//
// The key it registers is the user's only credential, so it is kept:
// KEY_FILE (default quickstart-key.pem, mode 0600; *.pem is git-ignored) holds
// the private key and KEY_FILE.json its credential id. A second run finds
// them, skips registration (CODE is not needed any more) and logs in again,
// and the Go CLI can log in with them too:
//   signet login --org ORG_ID --username USERNAME --key quickstart-key.pem --cred-id CRED_ID
import { webcrypto, KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { DfnsApiClient, DfnsAuthenticator } from '@dfns/sdk';
import { AsymmetricKeySigner } from '@dfns/sdk-keysigner';
import { BrowserKeySigner } from '@dfns/sdk-browser';

const { SIGNET_URL = 'http://127.0.0.1:8080', ORG_ID, USERNAME, CODE, KEY_FILE = 'quickstart-key.pem' } = process.env;
const META_FILE = `${KEY_FILE}.json`;
if (!ORG_ID || !USERNAME) {
  console.error('set ORG_ID and USERNAME (and, on the first run, CODE) from `signet bootstrap`');
  process.exit(2);
}

let credId;
let privateKey;
const saved = fs.existsSync(KEY_FILE) && fs.existsSync(META_FILE) ? JSON.parse(fs.readFileSync(META_FILE, 'utf8')) : null;
if (saved && (saved.orgId !== ORG_ID || saved.username !== USERNAME)) {
  console.error(`${KEY_FILE} belongs to ${saved.username} in ${saved.orgId}; set KEY_FILE to another file for ${USERNAME}`);
  process.exit(2);
}
if (saved) {
  // 1'. Registered before: use the key kept then.
  credId = saved.credId;
  privateKey = fs.readFileSync(KEY_FILE, 'utf8');
  console.log(`using the key registered before (${KEY_FILE}, credential ${credId})`);
} else {
  if (!CODE) {
    console.error(`no saved key (${KEY_FILE}): set CODE to the registration code from \`signet bootstrap\` or \`signet user invite\``);
    process.exit(2);
  }
  // 1. Register a Key credential, built the way a browser app builds one.
  const keyPair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const browserSigner = new BrowserKeySigner({ keyPair });
  const recordingSigner = {
    create: async (challenge) => {
      const attestation = await browserSigner.create(challenge);
      credId = attestation.credentialInfo.credId; // BrowserKeySigner picks a random credId; keep it for logging in
      return attestation;
    },
    sign: (challenge) => browserSigner.sign(challenge),
  };
  privateKey = KeyObject.from(keyPair.privateKey).export({ type: 'pkcs8', format: 'pem' });
  const registration = await new DfnsAuthenticator({ baseUrl: SIGNET_URL, signer: recordingSigner })
    .register({ orgId: ORG_ID, username: USERNAME, registrationCode: CODE });
  // Keep the key: it is this user's only credential (for the first user, the org's only admin).
  fs.writeFileSync(KEY_FILE, privateKey, { mode: 0o600, flag: 'wx' });
  fs.writeFileSync(META_FILE, JSON.stringify({ orgId: ORG_ID, username: USERNAME, credId }, null, 2) + '\n', { flag: 'wx' });
  console.log(`registered credential ${registration.credential.uuid}; its key is in ${KEY_FILE} (credential id ${credId})`);
}

// 2. Log in with the private key through the server-side signer.
const signer = new AsymmetricKeySigner({ credId, privateKey });
const { token } = await new DfnsAuthenticator({ baseUrl: SIGNET_URL, signer }).login({ orgId: ORG_ID, username: USERNAME });
console.log('logged in; token for curl:\n' + token);

// 3. A signed call: the SDK asks for a challenge, signs it and sends
//    X-DFNS-USERACTION with the request. Permission names are unique, so
//    each run creates its own.
const api = new DfnsApiClient({ baseUrl: SIGNET_URL, authToken: token, signer });
const permission = await api.permissions.createPermission({ body: { name: `read users ${new Date().toISOString()}`, operations: ['Auth:Users:Read'] } });
console.log('created permission', permission.id, 'with a user-action-signed call');
console.log(`log in with the Go CLI too: signet login --org ${ORG_ID} --username ${USERNAME} --key ${KEY_FILE} --cred-id ${credId}`);
