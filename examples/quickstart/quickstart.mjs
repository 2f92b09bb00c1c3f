// Registers the user that `signet bootstrap` created, logs in, and makes a
// user-action-signed call, all with the official Dfns SDK pointed at signet.
//
//   SIGNET_URL=http://127.0.0.1:8080 ORG_ID=or-... USERNAME=alice@example.com CODE=XXXXX-... node quickstart.mjs
import { webcrypto, KeyObject } from 'node:crypto';
import { DfnsApiClient, DfnsAuthenticator } from '@dfns/sdk';
import { AsymmetricKeySigner } from '@dfns/sdk-keysigner';
import { BrowserKeySigner } from '@dfns/sdk-browser';

const { SIGNET_URL = 'http://127.0.0.1:8080', ORG_ID, USERNAME, CODE } = process.env;
if (!ORG_ID || !USERNAME || !CODE) {
  console.error('set ORG_ID, USERNAME and CODE (from `signet bootstrap`)');
  process.exit(2);
}

// 1. Register a Key credential, built the way a browser app builds one.
const keyPair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
const browserSigner = new BrowserKeySigner({ keyPair });
let credId; // BrowserKeySigner picks a random credId; keep it for logging in
const recordingSigner = {
  create: async (challenge) => {
    const attestation = await browserSigner.create(challenge);
    credId = attestation.credentialInfo.credId;
    return attestation;
  },
  sign: (challenge) => browserSigner.sign(challenge),
};
const registration = await new DfnsAuthenticator({ baseUrl: SIGNET_URL, signer: recordingSigner })
  .register({ orgId: ORG_ID, username: USERNAME, registrationCode: CODE });
console.log('registered credential', registration.credential.uuid);

// 2. Log in with the same private key through the server-side signer.
const privateKey = KeyObject.from(keyPair.privateKey).export({ type: 'pkcs8', format: 'pem' });
const signer = new AsymmetricKeySigner({ credId, privateKey });
const { token } = await new DfnsAuthenticator({ baseUrl: SIGNET_URL, signer }).login({ orgId: ORG_ID, username: USERNAME });
console.log('logged in; token for curl:\n' + token);

// 3. A signed call: the SDK asks for a challenge, signs it and sends
//    X-DFNS-USERACTION with the request.
const api = new DfnsApiClient({ baseUrl: SIGNET_URL, authToken: token, signer });
const permission = await api.permissions.createPermission({ body: { name: 'read users', operations: ['Auth:Users:Read'] } });
console.log('created permission', permission.id, 'with a user-action-signed call');
