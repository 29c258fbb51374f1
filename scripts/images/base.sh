# shellcheck shell=bash
# The base image the service images build on when Docker Hub's node:24-trixie-slim is out of reach:
# the same thing made from Debian's and npm's registries only. Sourced by scripts/images/build.sh;
# expects ROOT, scripts/infra/lib.sh, scripts/lib/node-runtime.sh and scripts/images/engine.sh.
#
# Recipe (what node:24-trixie-slim is, minus its build helpers):
#   1. debootstrap --variant=minbase trixie from the Debian mirror apt uses on this machine
#   2. Node $NODE_RUNTIME_VERSION (the npm registry's node-linux-<arch>, the official binary; the
#      version scripts/lib/node-runtime.sh runs the tests on) as /usr/local/bin/node
#   3. npm as pinned by package.json's packageManager, in /usr/local/lib/node_modules/npm (the build
#      stages run npm ci; the runtime stage removes it)
#   4. user and group `node`, uid/gid 1000, home /home/node
#   5. no apt lists or .deb cache, no man pages, locales or docs (copyright files stay), no logs
# Cached: the tag carries a hash of this file and of every input above, so the image is rebuilt
# exactly when one of them changes (≈ 1 min cold: debootstrap ≈ 40 s, import ≈ 10 s).

IMAGES_BASE_REPO=localhost/agent-platform/node-base
IMAGES_DEBIAN_SUITE=trixie

# The first Debian archive URI apt is configured with (deb822 .sources or one-line sources.list).
images_debian_mirror() {
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
  [[ -n $uri ]] || uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }')
  echo "${uri:-http://deb.debian.org/debian}"
}

images_npm_version() {
  node -p 'const m = /^npm@(\d+\.\d+\.\d+)$/.exec(require(process.argv[1]).packageManager ?? ""); if (!m) throw new Error("package.json packageManager is not npm@x.y.z"); m[1]' "$ROOT/package.json"
}

images_node_arch() {
  case $(uname -m) in
    x86_64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) echo "no node-linux package for $(uname -m)" >&2; return 1 ;;
  esac
}

# localhost/agent-platform/node-base:<node version>-<hash of the recipe and its inputs>
images_base_tag() {
  local hash
  hash=$( { cat "$ROOT/scripts/images/base.sh"
            echo "$NODE_RUNTIME_VERSION $(images_npm_version) $(images_node_arch) $(images_debian_mirror) $IMAGES_DEBIAN_SUITE"; } | sha256sum | cut -c1-12)
  echo "$IMAGES_BASE_REPO:$NODE_RUNTIME_VERSION-$hash"
}

# An npm package's tarball, fetched once into .data/images/cache; prints its path.
images_npm_tarball() {
  local spec=$1 cache="$IMAGES_DATA/cache" name file
  name=${spec%@*}
  file="$cache/${name//\//-}-${spec##*@}.tgz"
  if [[ ! -s $file ]]; then
    mkdir -p "$cache"
    local tmp
    tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null) || { rm -rf "$tmp"; echo "npm pack $spec failed" >&2; return 1; }
    mv "$tmp"/*.tgz "$file"
    rm -rf "$tmp"
  fi
  echo "$file"
}

# Prints the base image's name, building it first when no image with this tag exists.
images_base_ensure() {
  local tag
  tag=$(images_base_tag)
  if podman image exists "$tag"; then
    info images "base image $tag (cached)" >&2
    echo "$tag"
    return 0
  fi
  command -v debootstrap >/dev/null || {
    if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
      echo "ERROR [images]: debootstrap is missing (apt-get install debootstrap), needed to make the base image" >&2
      return 1
    fi
    info images "installing debootstrap with apt-get" >&2
    { DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap; } >"$IMAGES_DATA/logs/debootstrap-install.log" 2>&1 ||
      fail_with_log images "apt-get install debootstrap failed" "$IMAGES_DATA/logs/debootstrap-install.log"
  }
  local t0 mirror arch npm_version node_tgz npm_tgz rootfs log="$IMAGES_DATA/logs/base.log"
  t0=$(now_ms)
  mirror=$(images_debian_mirror)
  arch=$(images_node_arch)
  npm_version=$(images_npm_version)
  info images "building base image $tag: debootstrap $IMAGES_DEBIAN_SUITE from $mirror, Node $NODE_RUNTIME_VERSION, npm $npm_version (one-time; log: ${log#"$ROOT"/})" >&2
  node_tgz=$(images_npm_tarball "node-linux-$arch@$NODE_RUNTIME_VERSION")
  npm_tgz=$(images_npm_tarball "npm@$npm_version")
  # Left by a failed run (build.sh holds the lock). A debootstrap that was killed leaves its /proc
  # (and /sys) mounted inside the tree, where rm -rf cannot go: unmount those first.
  findmnt -rn -o TARGET | grep -F "$IMAGES_DATA/base-rootfs." | sort -r | xargs -r -n1 umount -l
  rm -rf "$IMAGES_DATA"/base-rootfs.*
  rootfs=$(mktemp -d "$IMAGES_DATA/base-rootfs.XXXXXX")
  run_with_progress images "$log" "debootstrap" debootstrap --variant=minbase "$IMAGES_DEBIAN_SUITE" "$rootfs" "$mirror" >&2 ||
    fail_with_log images "debootstrap --variant=minbase $IMAGES_DEBIAN_SUITE $rootfs $mirror failed" "$log"
  # One && chain: `set -e` does not apply on the left of `||`.
  {
    tar xzf "$node_tgz" -C "$rootfs/usr/local" --strip-components=1 package/bin/node &&
    mkdir -p "$rootfs/usr/local/lib/node_modules/npm" &&
    tar xzf "$npm_tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 &&
    ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm" &&
    ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx" &&
    chroot "$rootfs" groupadd --gid 1000 node &&
    chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node &&
    chroot "$rootfs" /usr/local/bin/node --version &&
    chroot "$rootfs" /usr/local/bin/npm --version &&
    rm -rf "$rootfs"/var/cache/apt/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/* \
      "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/info/* "$rootfs"/tmp/* "$rootfs"/root/.npm &&
    find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  } >>"$log" 2>&1 || fail_with_log images "assembling the base image's file tree failed" "$log"
  tar --numeric-owner -C "$rootfs" -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_RUNTIME_VERSION" \
    --change 'CMD ["node"]' \
    --change "LABEL org.opencontainers.image.title=agent-platform-node-base" \
    --change "LABEL org.opencontainers.image.description=Debian $IMAGES_DEBIAN_SUITE minbase + Node $NODE_RUNTIME_VERSION + npm $npm_version, user node (1000)" \
    --change "LABEL org.opencontainers.image.version=$NODE_RUNTIME_VERSION" \
    - "$tag" >>"$log" 2>&1 || fail_with_log images "podman import of the base image failed" "$log"
  rm -rf "$rootfs"
  info images "base image $tag built in $(since "$t0") ($(podman image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }'))" >&2
  # Older base images (other recipe hashes) are only taking space now; ones still in use stay.
  podman images --format '{{.Repository}}:{{.Tag}}' "$IMAGES_BASE_REPO" | grep -vxF "$tag" | xargs -r podman rmi >/dev/null 2>&1 || true
  echo "$tag"
}
