// Test page for (b): the official @dfns/sdk 0.8.21 DfnsAuthenticator / DfnsApiClient with the
// official @dfns/sdk-browser 0.6.12 WebAuthnSigner, unchanged, bundled by esbuild. The test
// drives it through window.sdkTest; each call resolves to {ok, value} or {ok:false, error} so
// that SDK errors (DfnsError with httpStatus and context) survive the trip out of the page.
import { DfnsApiClient, DfnsAuthenticator, DfnsError } from '@dfns/sdk';
import { WebAuthnSigner } from '@dfns/sdk-browser';
import sdkPackage from '@dfns/sdk/package.json';
import browserPackage from '@dfns/sdk-browser/package.json';

const signer = () => new WebAuthnSigner({ relyingParty: { id: 'localhost', name: 'signet' } });

async function wrap(fn) {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return {
      ok: false,
      error: {
        name: err?.name,
        message: err?.message,
        dfns: err instanceof DfnsError,
        httpStatus: err?.httpStatus,
        context: err?.context ? JSON.parse(JSON.stringify(err.context)) : undefined,
      },
    };
  }
}

window.sdkTest = {
  versions: { sdk: sdkPackage.version, sdkBrowser: browserPackage.version },
  register: ({ baseUrl, orgId, username, registrationCode }) =>
    wrap(() => new DfnsAuthenticator({ baseUrl, orgId, signer: signer() }).register({ orgId, username, registrationCode })),
  login: ({ baseUrl, orgId, username }) =>
    wrap(() => new DfnsAuthenticator({ baseUrl, orgId, signer: signer() }).login({ orgId, username })),
  // Any DfnsApiClient method: sdkTest.client({baseUrl, orgId, token}, 'auth', 'listCredentials', request)
  client: ({ baseUrl, orgId, token }, domain, method, request) =>
    wrap(() => new DfnsApiClient({ baseUrl, orgId, authToken: token, signer: signer() })[domain][method](request)),
};
