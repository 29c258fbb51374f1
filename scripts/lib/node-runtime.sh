# shellcheck shell=bash
# The runtime the images ship (Node 24 LTS, `ARG NODE_IMAGE=node:24-…` in the Dockerfiles) for the
# local run and the tests too. Sourced by scripts/start.sh and scripts/test.sh after `npm ci` ran on
# whatever Node the machine has (>= 20.19): when that Node is older than 24, the npm registry's
# `node-linux-<arch>` package (it carries the official binary) is unpacked once under .data/node and
# put first on the PATH, so `node`, `npx` and every process they spawn run Node 24.
NODE_RUNTIME_VERSION=24.22.3

use_node_runtime() {
  local root=$1 want_major=${NODE_RUNTIME_VERSION%%.*} have_major dir arch tmp
  have_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if ((have_major >= want_major)); then
    echo "node:     $(node --version) (system)"
    return 0
  fi
  case $(uname -m) in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "node:     no node-linux package for $(uname -m); install Node $want_major yourself" >&2; return 1 ;;
  esac
  dir="$root/.data/node/$NODE_RUNTIME_VERSION"
  if [[ ! -x $dir/bin/node ]]; then
    echo "node:     fetching Node $NODE_RUNTIME_VERSION (npm package node-linux-$arch, ~50 MB) into .data/node (one-time)"
    mkdir -p "$root/.data/node"
    tmp=$(mktemp -d "$root/.data/node/.fetch.XXXXXX")
    # npm pack downloads the package tarball through the configured registry without installing it.
    if ! (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_RUNTIME_VERSION" >/dev/null) ||
       ! tar xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$tmp" || [[ ! -x $tmp/package/bin/node ]]; then
      rm -rf "$tmp"
      echo "node:     ERROR: could not fetch node-linux-$arch@$NODE_RUNTIME_VERSION from the npm registry" >&2
      return 1
    fi
    rm -rf "$dir"
    mv "$tmp/package" "$dir"   # complete or absent: a half-unpacked runtime is never on the PATH
    rm -rf "$tmp"
  fi
  export PATH="$dir/bin:$PATH"
  hash -r
  [[ $(node --version) == "v$NODE_RUNTIME_VERSION" ]] || { echo "node:     ERROR: $dir/bin/node is not v$NODE_RUNTIME_VERSION" >&2; return 1; }
  echo "node:     $(node --version) from .data/node (the system has Node $have_major)"
}
