#!/usr/bin/env bash
# Runs the examples of examples/ against a real signet: builds signet,
# bootstraps an org, starts the server on a free loopback port, registers
# and logs in its admin with a key (the Go CLI), then runs each example.
# Today: httpsig-ts, the TypeScript RFC 9421 signer (a signed POST, its
# replay and a changed body). The last line is "examples: N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
die() { echo "examples: setup failed: $1"; [ -f "$tmp/serve.log" ] && tail -20 "$tmp/serve.log"; echo "examples: $pass passed, $((fail + 1)) failed"; exit 1; }

(cd "$top" && go build -o "$tmp/signet" ./cmd/signet) || die "go build"
(cd "$here/httpsig-ts" && npm ci --silent --no-audit --no-fund && npx tsc -p .) || die "httpsig-ts: npm ci / tsc"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cd "$tmp"
boot=$(./signet bootstrap --org-name Examples --username examples@example.com 2>/dev/null) || die "bootstrap"
./signet serve --listen "127.0.0.1:$port" 2>"$tmp/serve.log" & pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
field() { node -e "console.log(JSON.parse(process.argv[1])[process.argv[2]])" "$1" "$2"; }
export SIGNET_URL="http://127.0.0.1:$port" SIGNET_CONFIG_DIR="$tmp/config"
key=$(./signet keygen --json --out "$tmp/key.pem") || die "keygen"
cred=$(field "$key" credId)
org=$(field "$boot" orgId)
./signet register --org "$org" --username examples@example.com --code "$(field "$boot" registrationCode)" --key "$tmp/key.pem" >/dev/null || die "register"
./signet login --org "$org" --username examples@example.com --key "$tmp/key.pem" >/dev/null || die "login"
token=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).token)' "$tmp/config/session.json") || die "session token"

# httpsig-ts: each "ok"/"FAIL" line it prints is one check.
SIGNET_TOKEN="$token" KEY_FILE="$tmp/key.pem" CRED_ID="$cred" node "$here/httpsig-ts/dist/signed-post.js" >"$tmp/ts.log" 2>&1; rc=$?
sed 's/^/httpsig-ts: /' "$tmp/ts.log"
p=$(grep -c '^ok ' "$tmp/ts.log"); f=$(grep -c '^FAIL' "$tmp/ts.log")
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
pass=$((pass + p)) fail=$((fail + f))

[ "$fail" -eq 0 ] || tail -20 "$tmp/serve.log"
echo "examples: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
