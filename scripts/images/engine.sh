# shellcheck shell=bash
# The container engine for the image builds and the image check: Debian's podman (with buildah,
# runc and fuse-overlayfs), installed with apt-get when missing and running as root, the way
# scripts/infra.sh installs the stores. Sourced by scripts/images/build.sh and
# scripts/images/check.sh; expects ROOT and scripts/infra/lib.sh (info, run_with_progress).
#
# Two adjustments for sandboxed machines, in a containers.conf of our own under .data/images
# (podman reads CONTAINERS_CONF instead of the system's; nothing under /etc is changed):
#   runtime = "runc"    crun refuses a hybrid cgroup v1/v2 setup; runc runs on both
#   default_ulimits     the default asks for more open files than such a sandbox may raise to
# Storage stays podman's default (/var/lib/containers as root): the images and their layer cache
# outlive `rm -rf .data` on purpose, the base image is the slow part (scripts/images/base.sh).

IMAGES_DATA="$ROOT/.data/images"
IMAGES_ENGINE_PACKAGES=(podman buildah skopeo runc fuse-overlayfs slirp4netns uidmap)

# True when podman is installed and can run a container; prints why not otherwise.
images_engine_usable() {
  command -v podman >/dev/null || { echo "podman is not installed"; return 1; }
  podman info >/dev/null 2>&1 || { echo "podman is installed but 'podman info' fails: $(podman info 2>&1 | tail -n1)"; return 1; }
}

images_engine_ensure() {
  mkdir -p "$IMAGES_DATA" "$IMAGES_DATA/logs"
  export CONTAINERS_CONF="$IMAGES_DATA/containers.conf"
  cat >"$CONTAINERS_CONF" <<'CONF'
# Written by scripts/images/engine.sh (regenerated on every run): see there for why.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
CONF
  local why
  if why=$(images_engine_usable); then
    info images "engine: $(podman --version) (runtime runc, CONTAINERS_CONF=.data/images/containers.conf)"
    return 0
  fi
  if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
    cat >&2 <<MSG
==================================================================
ERROR [images]: no usable container engine: $why.
The image build and check need podman (Debian: sudo apt-get install ${IMAGES_ENGINE_PACKAGES[*]}).
This script installs it itself only when running as root with apt-get.
To skip building and running the images on this machine, say so explicitly: IMAGES=skip
==================================================================
MSG
    return 1
  fi
  local log="$IMAGES_DATA/logs/engine-install.log"
  info images "$why: installing ${IMAGES_ENGINE_PACKAGES[*]} with apt-get (one-time; log: ${log#"$ROOT"/})"
  if ! run_with_progress images "$log" "apt-get install" bash -c \
       "DEBIAN_FRONTEND=noninteractive apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${IMAGES_ENGINE_PACKAGES[*]}"; then
    fail_with_log images "apt-get install ${IMAGES_ENGINE_PACKAGES[*]} failed" "$log"
  fi
  why=$(images_engine_usable) || fail_with_log images "podman installed but not usable: $why" "$log"
  info images "engine: $(podman --version) installed"
}
