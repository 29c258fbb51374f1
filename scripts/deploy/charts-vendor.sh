#!/usr/bin/env bash
# Vendors the charts' file:// dependencies as plain directories under charts/, committed, so that
# `helm install <release> helm/agent-platform -f <values>` works from a fresh checkout with no
# `helm dependency` step (Helm loads unpacked chart directories under charts/ like packaged ones):
#
#   helm/platform-lib                     -> helm/{knowledge,operations,coordination}/charts/platform-lib/
#   helm/{knowledge,operations,coordination} -> helm/agent-platform/charts/<service>/   (without ci/)
#
#   bash scripts/deploy/charts-vendor.sh          rewrites the copies (run it after editing a chart)
#   bash scripts/deploy/charts-vendor.sh --check  exits 1 naming every difference (deploy:check runs it)
#
# Copies rather than symlinks: Helm prints a warning for every symlink it follows (six per command
# here), and GitOps tools (Argo CD) refuse symlinks that leave the chart. Do not run
# `helm dependency update` on these charts: it replaces the directories with .tgz packages.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HELM_DIR="$ROOT/helm"
SERVICES=(knowledge operations coordination)

# vendor_into <helm dir>: writes every vendored copy below that tree from its own sources.
vendor_into() {
  local dir=$1 svc
  for svc in "${SERVICES[@]}"; do
    rm -rf "$dir/$svc/charts" && mkdir -p "$dir/$svc/charts"
    cp -R "$dir/platform-lib" "$dir/$svc/charts/platform-lib"
  done
  rm -rf "$dir/agent-platform/charts" && mkdir -p "$dir/agent-platform/charts"
  for svc in "${SERVICES[@]}"; do
    cp -R "$dir/$svc" "$dir/agent-platform/charts/$svc"
    rm -rf "$dir/agent-platform/charts/$svc/ci"
  done
}

if [[ ${1:-} == --check ]]; then
  # Vendor into a scratch copy of the sources and compare its charts/ directories with the tree's.
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  for chart in platform-lib "${SERVICES[@]}" agent-platform; do
    mkdir -p "$tmp/$chart"
    tar -C "$HELM_DIR/$chart" --exclude=./charts -cf - . | tar -C "$tmp/$chart" -xf -
  done
  vendor_into "$tmp"
  status=0
  for chart in "${SERVICES[@]}" agent-platform; do
    if ! diff -r "$tmp/$chart/charts" "$HELM_DIR/$chart/charts" >"$tmp/diff" 2>&1; then
      echo "helm/$chart/charts/ differs from its sources (run: bash scripts/deploy/charts-vendor.sh):" >&2
      sed "s#$tmp#(expected)#g; s#$HELM_DIR#helm#g" "$tmp/diff" | head -n 20 | sed 's/^/  /' >&2
      status=1
    fi
  done
  exit "$status"
fi

vendor_into "$HELM_DIR"
echo "vendored: platform-lib into ${SERVICES[*]}; ${SERVICES[*]} into agent-platform (helm/*/charts/)"
