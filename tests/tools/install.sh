#!/usr/bin/env bash
# Install the servers and tools the integration tests need, once, idempotently.
# Each section checks first, so a second `make test` installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
