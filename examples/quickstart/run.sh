#!/usr/bin/env bash
# Proves the README's quickstart works: builds signet, bootstraps an org,
# starts the server on a free port and runs quickstart.mjs against it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
(cd "$here" && npm ci --silent --no-audit --no-fund)
(cd "$top" && go build -o "$tmp/signet" ./cmd/signet)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
cd "$tmp"
boot=$(./signet bootstrap --org-name Quickstart --username quick@example.com 2>/dev/null)
./signet serve --listen "127.0.0.1:$port" 2>"$tmp/serve.log" & pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
field() { node -e "console.log(JSON.parse(process.argv[1])[process.argv[2]])" "$boot" "$1"; }
if SIGNET_URL="http://127.0.0.1:$port" ORG_ID=$(field orgId) USERNAME=$(field username) CODE=$(field registrationCode) \
   node "$here/quickstart.mjs"; then
  echo "quickstart: 1 passed, 0 failed"
else
  cat "$tmp/serve.log"; echo "quickstart: 0 passed, 1 failed"; exit 1
fi
