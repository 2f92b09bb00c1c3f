#!/usr/bin/env bash
# Runs every test of signet: formatting and vet, the Go tests (with the race
# detector; PostgreSQL too when SIGNET_TEST_POSTGRES holds a URL), and the
# interop suite that drives a real signet with the official Dfns SDKs.
# Installs what it needs (Go modules, npm packages) on the way.
set -euo pipefail
cd "$(dirname "$0")"

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './test/interop/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

if [ -z "${SIGNET_TEST_POSTGRES:-}" ]; then
  echo "note: SIGNET_TEST_POSTGRES is not set; PostgreSQL tests are skipped"
fi

echo "== go test"
go test -race -count=1 ./...

echo "== interop (official Dfns SDKs)"
bash test/interop/run.sh

echo "== real browser (Chromium, virtual authenticator): the web page and @dfns/sdk-browser"
bash test/browser/run.sh

echo "== README quickstart (official Dfns SDK)"
bash examples/quickstart/run.sh
