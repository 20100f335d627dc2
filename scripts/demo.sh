#!/usr/bin/env bash
# `npm run demo`: install what is missing, start NATS and ClickHouse if needed, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/services.sh
exec node bin/rxa.js demo "$@"
