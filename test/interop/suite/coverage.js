'use strict';
// Every method, in the interop suite (issue 14 item 5): wraps the prototypes of the four clients
// of the installed @dfns/sdk (DfnsApiClient.auth, .permissions, the auth domain of
// DfnsDelegatedApiClient with its Init/Complete pairs, DfnsAuthenticator), records each method
// the suite calls, and checks each answer against the SDK's DECLARED response type
// (./sdktypes.js): an answer that does not match makes that call throw, so the step fails.
// `uncalled()` lists the methods of the installed SDK the suite never called; the final step
// fails on any, so a new SDK method cannot go untested unnoticed.

const { createTypeChecker } = require('./sdktypes');

// The classes and where the SDK declares them (relative to the @dfns/sdk package directory).
const DECLARED = {
  AuthClient: 'generated/auth/client.d.ts',
  DelegatedAuthClient: 'generated/auth/delegatedClient.d.ts',
  PermissionsClient: 'generated/permissions/client.d.ts',
  DfnsAuthenticator: 'dfnsAuthenticator.d.ts',
};

function installCoverage(sdkRequire, sdk) {
  const { DfnsApiClient, DfnsDelegatedApiClient, DfnsAuthenticator } = sdk;
  const opts = { baseUrl: 'http://127.0.0.1:9', orgId: 'or-coverage', authToken: 'x' };
  const protos = {
    AuthClient: Object.getPrototypeOf(new DfnsApiClient(opts).auth),
    PermissionsClient: Object.getPrototypeOf(new DfnsApiClient(opts).permissions),
    DelegatedAuthClient: DfnsDelegatedApiClient && Object.getPrototypeOf(new DfnsDelegatedApiClient(opts).auth),
    DfnsAuthenticator: DfnsAuthenticator.prototype,
  };
  let checker; // built lazily (the compiler takes seconds): load() before the first call
  const all = new Set();
  const called = new Set();
  const checked = new Set();
  for (const [cls, proto] of Object.entries(protos)) {
    if (!proto) continue;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const d = Object.getOwnPropertyDescriptor(proto, name);
      if (name === 'constructor' || typeof d.value !== 'function') continue;
      const key = `${cls}.${name}`;
      all.add(key);
      const orig = d.value;
      proto[name] = async function covered(...args) {
        called.add(key);
        const answer = await orig.apply(this, args);
        if (checker) {
          const errs = checker.check(cls, name, answer);
          if (errs.length) {
            throw new Error(`${key}: the answer does not match the SDK's declared type:\n  ${errs.slice(0, 10).join('\n  ')}`);
          }
          checked.add(key);
        }
        return answer;
      };
    }
  }
  let enforced = true;
  try {
    sdkRequire.resolve('typescript');
  } catch {
    enforced = false; // an older SDK's directory that pins no typescript: no coverage step
  }
  return {
    enforced,
    // load builds the type checker; false when typescript is not installed in this version dir.
    load() {
      if (checker === undefined) checker = createTypeChecker(sdkRequire, DECLARED);
      return checker !== null;
    },
    all: () => [...all].sort(),
    called: () => [...called].sort(),
    checked: () => [...checked].sort(),
    uncalled: () => [...all].filter((k) => !called.has(k)).sort(),
  };
}

module.exports = { installCoverage };
