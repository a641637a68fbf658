#!/usr/bin/env bash
# The Wonde import through the CLI, as an LA runs it, beside a plain Python
# importer (tests/benches/py_importer.py) against the same sandbox, in one run.
#
#   bash tests/benches/cli_import.sh            # 30 and 300 schools of 800 pupils
#   SIZES="30" bash tests/benches/cli_import.sh
#
# For each size: `b2b wonde-sandbox` in its own process; an LA database that
# holds every pupil (seeded by the Python script, which also fetches every
# page once, so the sandbox serves rendered bytes to both importers alike);
# then, each under /usr/bin/time -v: `b2b import run` (first import), `b2b
# import run --full` (nothing changed), `b2b import run` (a delta, nothing
# changed), and the Python importer's first and unchanged imports.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c "import requests" 2>/dev/null || python3 -m pip install --quiet requests
cargo build --release --bin b2b
B="$PWD/target/release/b2b"
PY="python3 $PWD/tests/benches/py_importer.py"
TOKEN=bench-token
PER_SCHOOL=800

# Runs "$@" under /usr/bin/time -v, printing wall time, pupils/s and peak RSS.
timed() {
    local label=$1 pupils=$2; shift 2
    /usr/bin/time -v "$@" >"$work/out" 2>"$work/time" || { cat "$work/out" "$work/time"; exit 1; }
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time" |
        awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
    rss=$(awk -F': ' '/Maximum resident set size/ {print int($2 / 1024)}' "$work/time")
    printf '%-44s %8.2f s %10.0f pupils/s  peak %4d MiB\n' "$label" "$wall" \
        "$(echo "$pupils / $wall" | bc -l)" "$rss"
}

for schools in ${SIZES:-30 300}; do
    work=$(mktemp -d)
    pupils=$((schools * PER_SCHOOL))
    "$B" wonde-sandbox --schools "$schools" --students-per-school "$PER_SCHOOL" --seed 11 \
        --port 0 --token "$TOKEN" >"$work/sandbox" &
    sandbox=$!
    trap 'kill $sandbox 2>/dev/null || true' EXIT
    for _ in $(seq 100); do grep -q "Serving" "$work/sandbox" && break; sleep 0.1; done
    url=$(awk '/^Base URL:/ {print $3}' "$work/sandbox")
    export B2B_DB="$work/la.db" B2B_WONDE_TOKEN="$TOKEN" B2B_CACHE_DIR="$work/compiled"
    "$B" init >/dev/null
    "$B" import connect "$url" >/dev/null
    $PY seed-b2b "$work/la.db" "$url" "$TOKEN"
    $PY seed-py "$work/py.db" "$url" "$TOKEN"
    echo "== $schools schools x $PER_SCHOOL pupils = $pupils, every pupil held"
    timed "b2b import run (first)" "$pupils" "$B" import run
    timed "b2b import run --full (nothing changed)" "$pupils" "$B" import run --full
    timed "b2b import run (delta, nothing changed)" "$pupils" "$B" import run
    timed "python importer (first)" "$pupils" $PY import "$work/py.db" "$url" "$TOKEN"
    timed "python importer (again, nothing changed)" "$pupils" $PY import "$work/py.db" "$url" "$TOKEN"
    echo "stored payloads: b2b $(sqlite3 "$work/la.db" 'SELECT SUM(bytes) FROM payloads' 2>/dev/null || echo '?') bytes," \
        "python $(sqlite3 "$work/py.db" 'SELECT SUM(length(payload)) FROM files' 2>/dev/null || echo '?') bytes"
    kill "$sandbox"
    wait "$sandbox" 2>/dev/null || true
    trap - EXIT
    rm -rf "$work"
done
