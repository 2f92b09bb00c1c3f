#!/usr/bin/env bash
# Interop suite: the official Dfns TypeScript SDKs against a real signet server.
#
#   bash test/interop/run.sh
#
# 1. `npm ci` in each SDK version directory (test/interop/sdk-<version>/),
# 2. builds signet once (go build ./cmd/signet),
# 3. runs the suite (node --test, spec reporter) for @dfns/sdk 0.8.3 and 0.8.21 on SQLite,
# 4. once more (@dfns/sdk 0.8.21, SQLite) over HTTPS: a throwaway CA made here with openssl
#    signs a certificate for localhost; signet serves it (--tls-cert/--tls-key) and Node trusts
#    the CA through NODE_EXTRA_CA_CERTS, so the SDK runs unchanged against https://localhost,
# 5. and once more (@dfns/sdk 0.8.21) on PostgreSQL if SIGNET_TEST_POSTGRES is set, e.g.
#      SIGNET_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
#    (each run creates a fresh database signet_interop_<random> from it and drops it afterwards).
#
# Exits non-zero if anything fails. Other knobs (see suite/harness.js, suite/httplog.js):
#   SIGNET_INTEROP_DEBUG=1   print every HTTP exchange the SDK makes
#   SIGNET_INTEROP_KEEP=1    keep each run's temp dir (database, signet.key, signet stderr log)
#   SIGNET_INTEROP_PG_SDK    SDK version for the PostgreSQL run (default 0.8.21)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SDK_VERSIONS=(0.8.3 0.8.21)
PG_SDK="${SIGNET_INTEROP_PG_SDK:-0.8.21}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/signet-interop-run.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

die() { echo "interop: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (Node 20 needed)"
command -v npm >/dev/null || die "npm is not installed"
command -v go >/dev/null || die "go is not installed"

for v in "${SDK_VERSIONS[@]}"; do
  (cd "$HERE/sdk-$v" && npm ci --no-audit --no-fund --loglevel=error >"$WORK/npm-$v.log" 2>&1) \
    || { cat "$WORK/npm-$v.log" >&2; die "npm ci failed in test/interop/sdk-$v"; }
done

echo "interop: building signet (go build ./cmd/signet)"
if ! (cd "$ROOT" && go build -o "$WORK/signet" ./cmd/signet) >"$WORK/build.log" 2>&1; then
  cat "$WORK/build.log" >&2
  die "go build ./cmd/signet failed in $ROOT; nothing to test"
fi
export SIGNET_BIN="$WORK/signet"

# The OpenID provider of the social login and SSO steps (suite/oidc.js): test/oidcprovider on
# loopback, one for every run; its first stdout line is {"issuer", "helpers"}.
echo "interop: building and starting the test OpenID provider (go build ./test/oidcprovider)"
(cd "$ROOT" && go build -o "$WORK/oidcprovider" ./test/oidcprovider) >"$WORK/build-oidc.log" 2>&1 \
  || { cat "$WORK/build-oidc.log" >&2; die "go build ./test/oidcprovider failed"; }
"$WORK/oidcprovider" --redirect-uri http://localhost:5555/sso/callback >"$WORK/oidc.json" 2>"$WORK/oidc.log" &
OIDC_PID=$!
trap 'kill "$OIDC_PID" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/oidc.json" ] && break; sleep 0.1; done
[ -s "$WORK/oidc.json" ] || { cat "$WORK/oidc.log" >&2; die "the test OpenID provider did not start"; }
SIGNET_INTEROP_OIDC="$(head -1 "$WORK/oidc.json")"
export SIGNET_INTEROP_OIDC

total_pass=0
total_fail=0
failed_runs=()

run_suite() { # <sdk version> <sqlite|postgres> [label]
  local v="$1" db="$2" label="${3:-$2}" tap="$WORK/run-$1-${3:-$2}.tap" rc=0
  echo
  echo "=== interop: @dfns/sdk $v on $label ==="
  (cd "$HERE/sdk-$v" && SIGNET_INTEROP_DB="$db" node --test \
      --test-reporter=spec --test-reporter-destination=stdout \
      --test-reporter=tap --test-reporter-destination="$tap" \
      interop.test.js) || rc=$?
  local pass fail
  pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)"
  fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)"
  pass="${pass:-0}"
  fail="${fail:-0}"
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi # crashed before reporting
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
  if [ "$rc" -ne 0 ]; then failed_runs+=("@dfns/sdk $v on $label"); fi
}

for v in "${SDK_VERSIONS[@]}"; do
  run_suite "$v" sqlite
done

# A test CA and a certificate for localhost / 127.0.0.1 signed by it, for the HTTPS run.
make_test_ca() { # <dir>
  local d="$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=signet interop test CA" -keyout "$d/ca.key" -out "$d/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$d/tls.key" -out "$d/tls.csr" &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/ext.cnf" &&
  openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/ext.cnf" -out "$d/tls.pem"
}

if command -v openssl >/dev/null; then
  mkdir -p "$WORK/tls"
  if make_test_ca "$WORK/tls" >"$WORK/tls/openssl.log" 2>&1; then
    NODE_EXTRA_CA_CERTS="$WORK/tls/ca.pem" SIGNET_INTEROP_TLS_CERT="$WORK/tls/tls.pem" \
      SIGNET_INTEROP_TLS_KEY="$WORK/tls/tls.key" run_suite 0.8.21 sqlite "sqlite over https"
  else
    cat "$WORK/tls/openssl.log" >&2
    failed_runs+=("making the test CA for the HTTPS run")
  fi
else
  echo
  echo "interop: openssl not installed; skipping the HTTPS run"
fi

if [ -n "${SIGNET_TEST_POSTGRES:-}" ]; then
  command -v psql >/dev/null || die "SIGNET_TEST_POSTGRES is set but psql is not installed"
  run_suite "$PG_SDK" postgres
else
  echo
  echo "interop: SIGNET_TEST_POSTGRES not set; skipping the PostgreSQL run"
fi

echo
if [ "${#failed_runs[@]}" -gt 0 ]; then
  printf 'interop: failed run: %s\n' "${failed_runs[@]}"
fi
echo "interop: $total_pass passed, $total_fail failed"
[ "${#failed_runs[@]}" -eq 0 ]
