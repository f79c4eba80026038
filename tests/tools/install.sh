#!/usr/bin/env bash
# Install the servers and tools the integration tests need, once, idempotently.
# Each section checks first, so a second `make test` installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

# --- Azurite (issue 4: storage tests and benchmark). Node 20 gets azurite 3.35 (3.36+ need Node >= 21).
AZURITE_VERSION=3.35.0
if [ -x .tools/node_modules/.bin/azurite-blob ] \
   && grep -q "\"version\": \"$AZURITE_VERSION\"" .tools/node_modules/azurite/package.json 2>/dev/null; then
  :
elif command -v npm >/dev/null 2>&1; then
  echo "installing azurite@$AZURITE_VERSION into .tools/node_modules"
  mkdir -p .tools
  (cd .tools && npm install --silent --no-audit --no-fund --no-save "azurite@$AZURITE_VERSION" >/dev/null)
else
  echo "azurite: npm not found; install Node.js 20 (apt-get install nodejs npm), then run make test again" >&2
fi
