#!/usr/bin/env bash
# Proves the README's quickstart works: builds signet, bootstraps an org,
# starts the server on a free port and runs quickstart.mjs against it twice:
# the first run registers and keeps the key, the second logs in with the
# kept key (the org's admin is not locked out), and the Go CLI logs in with
# it as well.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
(cd "$here" && npm ci --silent --no-audit --no-fund)
(cd "$top" && go build -o "$tmp/signet" ./cmd/signet)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cd "$tmp"
boot=$(./signet bootstrap --org-name Quickstart --username quick@example.com 2>/dev/null)
./signet serve --listen "127.0.0.1:$port" 2>"$tmp/serve.log" & pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
field() { node -e "console.log(JSON.parse(process.argv[1])[process.argv[2]])" "$boot" "$1"; }
export SIGNET_URL="http://127.0.0.1:$port" ORG_ID=$(field orgId) USERNAME=$(field username)
pass=0 fail=0
check() { # name, command...
  local name=$1; shift
  if "$@" >"$tmp/out.log" 2>&1; then pass=$((pass+1)); else fail=$((fail+1)); echo "quickstart: FAIL $name"; cat "$tmp/out.log"; fi
}
check "first run registers and keeps the key" env CODE="$(field registrationCode)" node "$here/quickstart.mjs"
check "the kept key is mode 0600" sh -c '[ "$(stat -c %a quickstart-key.pem)" = 600 ]'
check "second run logs in with the kept key" sh -c 'node "$1" >"$2" && grep -q "using the key registered before" "$2"' _ "$here/quickstart.mjs" "$tmp/second.log"
cred=$(node -e 'console.log(JSON.parse(require("fs").readFileSync("quickstart-key.pem.json","utf8")).credId)' 2>/dev/null || true)
check "the Go CLI logs in with the kept key" env SIGNET_CONFIG_DIR="$tmp/config" ./signet login --org "$ORG_ID" --username "$USERNAME" --key quickstart-key.pem --cred-id "$cred"
[ "$fail" -eq 0 ] || cat "$tmp/serve.log"
echo "quickstart: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
