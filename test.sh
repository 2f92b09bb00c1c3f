#!/usr/bin/env bash
# Runs every test of signet: formatting and vet, the Go tests (with the race
# detector; PostgreSQL too when SIGNET_TEST_POSTGRES holds a URL), the
# interop suite that drives a real signet with the official Dfns SDKs, the
# browser suite (Chromium) and the README quickstart.
# Installs what it needs (Go modules, npm packages, Chromium when root) on the way.
# Every suite runs even when one before it failed; the output ends with one
# line per suite and, as its last line, the totals: "N passed, N failed".
# The exit status is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

total_pass=0 total_fail=0 summary=()
# record SUITE PASS FAIL
record() {
  summary+=("$1: $2 passed, $3 failed")
  total_pass=$((total_pass + $2)) total_fail=$((total_fail + $3))
}
# counts SUITE LOG RC: reads "SUITE: N passed, N failed" from the last such line of LOG; a
# non-zero RC with no failure counted is one failure (the suite could not run).
counts() {
  local line p f
  line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed$" "$2" | tail -1)
  p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"${line:-x: 0 passed}")
  f=$(sed -E 's/.* ([0-9]+) failed$/\1/' <<<"${line:-x 0 failed}")
  if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  record "$1" "$p" "$f"
}

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './test/interop/*'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; record gofmt 0 1
else
  record gofmt 1 0
fi

echo "== go vet"
if go vet ./...; then record vet 1 0; else record vet 0 1; fi

if [ -z "${SIGNET_TEST_POSTGRES:-}" ]; then
  echo "note: SIGNET_TEST_POSTGRES is not set; PostgreSQL tests are skipped"
fi

echo "== go test"
# -v for the counts; the console shows package results and failures only. The
# timeout is above Go's 10-minute default: on a loaded 2-core machine the httpapi
# package under -race has taken 10-12 minutes.
go test -race -count=1 -timeout 30m -v ./... >"$logs/go.log" 2>&1; rc=$?
# A failing test's log lines come before its "--- FAIL"; keep them until then.
awk '/^=== (RUN|CONT|PAUSE|NAME)/ { buf = ""; next }
     /^[ \t]*--- FAIL/ { printf "%s", buf; print; buf = ""; next }
     /^[ \t]*--- (PASS|SKIP)/ { buf = ""; next }
     /^panic:/ { panicking = 1 }
     panicking || /^(ok|FAIL|#)/ || /build failed|setup failed/ { print; next }
     { buf = buf $0 "\n" }' "$logs/go.log"
p=$(grep -cE '^\s*--- PASS' "$logs/go.log")
f=$(grep -cE '^\s*--- FAIL' "$logs/go.log")
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; tail -40 "$logs/go.log"; fi
record "go test" "$p" "$f"

echo "== interop (official Dfns SDKs)"
bash test/interop/run.sh 2>&1 | tee "$logs/interop.log"; counts interop "$logs/interop.log" "${PIPESTATUS[0]}"

echo "== real browser (Chromium, virtual authenticator): the web page and @dfns/sdk-browser"
bash test/browser/run.sh 2>&1 | tee "$logs/browser.log"; counts browser "$logs/browser.log" "${PIPESTATUS[0]}"

echo "== README quickstart (official Dfns SDK)"
bash examples/quickstart/run.sh 2>&1 | tee "$logs/quickstart.log"; counts quickstart "$logs/quickstart.log" "${PIPESTATUS[0]}"

echo "== examples (TypeScript RFC 9421 signer against a real signet)"
bash examples/run.sh 2>&1 | tee "$logs/examples.log"; counts examples "$logs/examples.log" "${PIPESTATUS[0]}"

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
