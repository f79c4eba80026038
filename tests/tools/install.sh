#!/usr/bin/env bash
# Install the servers and tools the integration tests need, once, idempotently.
# Each section checks first, so a second `make test` installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

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
