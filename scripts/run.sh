#!/usr/bin/env bash
# Start everything in the foreground: our own Redis when none answers at REDIS_URL, then every
# Procfile process under honcho. Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export PORT="${PORT:-8000}"
mkdir -p var/redis var/ultralytics

# Bearer tokens and webhook secrets at rest use SECRET_KEY; unset, config.py generates a random
# key once in var/secret_key (mode 0600) and every process reuses it. The public development
# key is for the test suite only.
if [ -n "${ALLOW_DEVELOPMENT_SECRET_KEY:-}" ]; then
  echo "ALLOW_DEVELOPMENT_SECRET_KEY is for the test suite only; unset it to run the service" >&2
  exit 1
fi
.venv/bin/python -c "from config import settings; print('signing key:', settings.secret_key_source)"

redis_pid=""
cleanup() { [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

if ! .venv/bin/python scripts/redis_ping.py "$REDIS_URL"; then
  port=$(.venv/bin/python -c "import sys,urllib.parse as u; print(u.urlparse(sys.argv[1]).port or 6379)" "$REDIS_URL")
  echo "no Redis answers at $REDIS_URL; starting our own on port $port (data in var/redis)"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$PWD/var/redis" --appendonly yes \
    --save "" --logfile "$PWD/var/redis/redis.log" &
  redis_pid=$!
  for _ in $(seq 50); do .venv/bin/python scripts/redis_ping.py "$REDIS_URL" && break; sleep 0.1; done
fi

echo "serving on http://127.0.0.1:$PORT  (API docs: /api/v1/docs)"
.venv/bin/honcho start --port "$PORT" -f Procfile
