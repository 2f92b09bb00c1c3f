#!/usr/bin/env bash
# Browser suite: signet in a real headless Chromium (Debian's), driven by playwright-core, with a
# CDP virtual authenticator that makes real passkeys.
#
#   bash test/browser/run.sh
#
# (a) page.test.js  signet's own web page (internal/web) end to end;
# (b) sdk.test.js   the official @dfns/sdk-browser WebAuthnSigner + @dfns/sdk DfnsAuthenticator /
#                   DfnsApiClient, bundled by esbuild and served from another origin (CORS);
# (c) hints.test.js the page's warning when passkeys are off or the page is open at the wrong origin;
# (d) sso.test.js   the page's SSO login against a real OpenID provider (test/oidcprovider).
#
# 1. installs chromium if missing (apt-get, when root), 2. `npm ci`, 3. builds signet once,
# 4. bundles the SDK test page into a temp dir, 5. runs `node --test` (spec reporter) and prints
# the closing line `browser: N passed, N failed`; exits non-zero on any failure.
# Screenshots go to test/browser/out/ (page-after-login.png, and one per failing step).
# SIGNET_BROWSER_KEEP=1 keeps each server's temp dir (database, signet log); SIGNET_BIN=path
# tests a prebuilt signet instead of building one.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/signet-browser-run.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

die() { echo "browser: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (Node 20 needed)"
command -v npm >/dev/null || die "npm is not installed"
command -v go >/dev/null || die "go is not installed"

if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "browser: installing chromium (apt-get)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >"$WORK/apt.log" 2>&1 \
      || { tail -30 "$WORK/apt.log" >&2; die "apt-get install chromium failed"; }
  else
    die "chromium is not installed (Debian: apt-get install -y chromium)"
  fi
fi
export CHROMIUM="$(command -v chromium)"
echo "browser: $("$CHROMIUM" --version 2>/dev/null | head -1)"

(cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >"$WORK/npm.log" 2>&1 \
  || { cat "$WORK/npm.log" >&2; die "npm ci failed in test/browser"; }

if [ -n "${SIGNET_BIN:-}" ]; then
  echo "browser: using SIGNET_BIN=$SIGNET_BIN"
else
  echo "browser: building signet (go build ./cmd/signet)"
  (cd "$ROOT" && go build -o "$WORK/signet" ./cmd/signet) >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log" >&2; die "go build ./cmd/signet failed"; }
  export SIGNET_BIN="$WORK/signet"
fi

echo "browser: bundling the @dfns/sdk-browser test page (esbuild)"
mkdir -p "$WORK/sdk-page"
(cd "$HERE" && node_modules/.bin/esbuild sdk-page/entry.js --bundle --format=iife --platform=browser \
    --target=chrome120 --log-level=warning --outfile="$WORK/sdk-page/bundle.js") \
  || die "esbuild failed"
cp "$HERE/sdk-page/index.html" "$WORK/sdk-page/"
export SIGNET_SDK_PAGE="$WORK/sdk-page"

echo "browser: building the test OpenID provider (go build ./test/oidcprovider)"
(cd "$ROOT" && go build -o "$WORK/oidcprovider" ./test/oidcprovider) || die "go build ./test/oidcprovider failed"
export SIGNET_OIDC_PROVIDER_BIN="$WORK/oidcprovider"

mkdir -p "$HERE/out"
rc=0
(cd "$HERE" && node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$WORK/run.tap" \
    page.test.js sdk.test.js hints.test.js sso.test.js) || rc=$?

pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$WORK/run.tap" | tail -1)"
fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$WORK/run.tap" | tail -1)"
pass="${pass:-0}"
fail="${fail:-0}"
if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo
echo "browser: $pass passed, $fail failed"
exit "$rc"
