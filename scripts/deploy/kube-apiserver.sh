#!/usr/bin/env bash
# shellcheck shell=bash
# Builds a real kube-apiserver (the version in KUBE_APISERVER_VERSION, default: the first of
# KUBERNETES_VERSIONS in versions.env) from the Go module proxy, cached as
# .data/bin/kube-apiserver-v<version>. Used by scripts/deploy/cluster-check.sh.
#
#   bash scripts/deploy/kube-apiserver.sh      builds if missing, prints the binary's path
#   source scripts/deploy/kube-apiserver.sh    defines kube_apiserver_build (sets KUBE_APISERVER_BIN)
#
# Why a wrapper module: `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.x` is refused because
# k8s.io/kubernetes' go.mod has replace directives (its staging modules point at ./staging/src/...
# inside the repository). A module of our own (generated under .data/kube-apiserver/, never
# committed) requires k8s.io/kubernetes and replaces each staging module with its published
# v0.<minor>.<patch> release, which is the same code. The version ldflags matter: without them the
# binary reports v0.0.0-master and every chart's kubeVersion constraint refuses the server.
# The first (cold) build took 832 s on 2 cores (+2.7 GB of Go build cache, a 114 MB binary); then it
# is instant. Set KUBE_APISERVER_BIN to use a kube-apiserver of your own instead.

KA_ROOT="${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
# shellcheck source=versions.env
source "$KA_ROOT/scripts/deploy/versions.env"
KUBE_APISERVER_VERSION=${KUBE_APISERVER_VERSION:-${KUBERNETES_VERSIONS%% *}}

# "still going" lines every 10 s while a long command runs, its output going to a log.
ka_run_with_progress() {
  local log=$1 what=$2 pid t0=$SECONDS next=10 line
  shift 2
  "$@" </dev/null >"$log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS - t0 >= next)); then
      next=$((next + 10))
      line=$(tail -n1 "$log" 2>/dev/null | cut -c1-100)
      echo "  kube-apiserver: $what: $((SECONDS - t0)) s so far, $(du -sh "$(go env GOCACHE)" 2>/dev/null | cut -f1) build cache${line:+ (last: $line)}"
    fi
  done
  wait "$pid"
}

kube_apiserver_build() {
  local version=$KUBE_APISERVER_VERSION
  local major=${version%%.*} rest=${version#*.}
  local minor=${rest%%.*} patch=${rest#*.}
  local staging_version="v0.$minor.$patch"
  local bin_dir="$KA_ROOT/.data/bin" src="$KA_ROOT/.data/kube-apiserver/v$version"
  local log="$KA_ROOT/.data/logs/kube-apiserver-build.log"
  if [[ -n ${KUBE_APISERVER_BIN:-} ]]; then
    [[ -x $KUBE_APISERVER_BIN ]] || { echo "kube-apiserver: KUBE_APISERVER_BIN=$KUBE_APISERVER_BIN is not executable" >&2; return 1; }
    return 0
  fi
  KUBE_APISERVER_BIN="$bin_dir/kube-apiserver-v$version"
  if [[ -x $KUBE_APISERVER_BIN ]] && "$KUBE_APISERVER_BIN" --version 2>/dev/null | grep -qx "Kubernetes v$version"; then
    return 0
  fi
  command -v go >/dev/null 2>&1 || { echo "kube-apiserver: Go is required to build kube-apiserver v$version" >&2; return 1; }
  export GOTOOLCHAIN=local
  mkdir -p "$bin_dir" "$src" "$(dirname "$log")"
  local kdir
  kdir=$(cd / && go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [[ -n $kdir && -f $kdir/go.mod ]] || { echo "kube-apiserver: go mod download k8s.io/kubernetes@v$version failed" >&2; return 1; }
  # The replace block of k8s.io/kubernetes, each ./staging/src/<module> turned into <module> <staging_version>.
  {
    echo "module local/kube-apiserver-build"
    echo
    sed -n 's/^go \(.*\)$/go \1/p' "$kdir/go.mod" | head -n1
    sed -n 's/^godebug \(.*\)$/godebug \1/p' "$kdir/go.mod"
    echo
    echo "require k8s.io/kubernetes v$version"
    echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$kdir/go.mod" | sed -n "s#^\t\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 $staging_version#p"
    echo ")"
  } >"$src/go.mod.new"
  # go.mod.gen keeps what we generated (`go get` then adds the full requirement list to go.mod).
  if ! cmp -s "$src/go.mod.new" "$src/go.mod.gen" || [[ ! -f $src/go.mod ]]; then
    cp "$src/go.mod.new" "$src/go.mod" && rm -f "$src/go.sum"
  fi
  mv -f "$src/go.mod.new" "$src/go.mod.gen"
  local t0=$SECONDS
  echo "  kube-apiserver v$version: building from k8s.io/kubernetes@v$version (one-time, ~20 min cold; log: $log)"
  local pkg=k8s.io/kubernetes/cmd/kube-apiserver
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$version -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  # `go get` resolves the module graph under our replaces and writes go.sum; then a normal build.
  if ! ka_run_with_progress "$log" "resolving modules" bash -c "cd '$src' && go get '$pkg@v$version'"; then
    echo "kube-apiserver: go get $pkg@v$version failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    return 1
  fi
  if ! ka_run_with_progress "$log" "go build" bash -c "cd '$src' && go build -trimpath -buildvcs=false -ldflags '$ldflags' -o '$KUBE_APISERVER_BIN.tmp' '$pkg'"; then
    echo "kube-apiserver: go build failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    return 1
  fi
  mv -f "$KUBE_APISERVER_BIN.tmp" "$KUBE_APISERVER_BIN"
  local got
  got=$("$KUBE_APISERVER_BIN" --version 2>&1)
  [[ $got == "Kubernetes v$version" ]] || { echo "kube-apiserver: built binary reports '$got', expected 'Kubernetes v$version'" >&2; return 1; }
  echo "  kube-apiserver v$version built in $((SECONDS - t0)) s ($(du -h "$KUBE_APISERVER_BIN" | cut -f1))"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  kube_apiserver_build
  echo "$KUBE_APISERVER_BIN"
fi
