#!/usr/bin/env bash
# Active scan (security-reliability S-25): wapiti (Debian: apt-get install wapiti) against the app,
# served by gunicorn on 127.0.0.1 with a fresh SQLite database, time-boxed. Not part of `make test`.
#
#   bench/scan.sh [SECONDS]        # default 120; the report goes to bench/results/wapiti/
#
# It scans what a visitor can reach without an account (the patient journey, the API, sign-in).
# Exit status: wapiti's. Read the report's summary: no high or medium finding is the bar.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_BOX="${1:-120}"
PORT="${SCAN_PORT:-8765}"
OUT="bench/results/wapiti"
command -v wapiti >/dev/null || { echo "wapiti is not installed (apt-get install wapiti)" >&2; exit 2; }

WORK="$(mktemp -d)"
export SCREENER_DATABASE_URL="sqlite:///$WORK/screener.db"
export SCREENER_SECRET_KEY="scan-only-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
.venv/bin/screener db upgrade >/dev/null
.venv/bin/gunicorn --workers 2 --bind "127.0.0.1:$PORT" "screener.app:create_app()" >"$WORK/app.log" 2>&1 &
APP=$!
trap 'kill "$APP" 2>/dev/null || true; wait "$APP" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

mkdir -p "$OUT"
status=0
timeout --kill-after=30 "$((SECONDS_BOX + 60))" \
  wapiti -u "http://127.0.0.1:$PORT/" --scope folder --flush-session \
    --max-scan-time "$SECONDS_BOX" --max-attack-time "$((SECONDS_BOX / 4))" \
    -f txt -o "$OUT/report.txt" || status=$?
echo "wapiti exit status $status; report: $OUT/report.txt"
grep -c '"status": 5' "$WORK/app.log" >/dev/null 2>&1 || true
echo "responses >= 500 during the scan: $(grep -c '"status":5' "$WORK/app.log" || true)"
exit "$status"
