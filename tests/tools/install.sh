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

# --- issue 5: image release (daemonless build, loopback OCI registry, offline test base image) ---
release_tools=(buildah skopeo docker-registry mmdebstrap)
missing=()
for tool in "${release_tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (apt)"
    for attempt in 1 2 3 4 5 6; do  # another apt/dpkg may hold the lock: wait and retry
      if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          "${missing[@]}" >/dev/null; then
        break
      fi
      echo "apt-get busy or failed (attempt $attempt); retrying in 20 s"
      sleep 20
    done
    # Debian starts the registry as a service listening on every interface: tests start their own on loopback.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
      systemctl disable --now docker-registry >/dev/null 2>&1 || true
    fi
  else
    echo "not installed: ${missing[*]} — image tests will be skipped; install with:"
    echo "  sudo apt-get install buildah skopeo docker-registry mmdebstrap"
  fi
fi
