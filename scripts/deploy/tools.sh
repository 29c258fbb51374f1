# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# Installs (idempotently) what scripts/deploy-check.sh needs, all through the Go module proxy:
#   .data/bin/{helm,kubeconform,kustomize}       go install <module>@<pinned version>
#   .data/deploy/k8s-schemas/v<k8s>-strict/      kubeconform schemas generated from the Kubernetes
#                                                OpenAPI spec in k8s.io/kubernetes (+ ServiceMonitor CRD)
#   .data/deploy/compose-spec.json               the Compose Specification schema (compose-go)
# Sourced by scripts/deploy-check.sh; expects ROOT to be set. Versions: scripts/deploy/versions.env.

# shellcheck source=versions.env
source "$ROOT/scripts/deploy/versions.env"
DEPLOY_BIN="$ROOT/.data/bin"
DEPLOY_DATA="$ROOT/.data/deploy"
SCHEMA_DIR="$DEPLOY_DATA/k8s-schemas"
COMPOSE_SCHEMA="$DEPLOY_DATA/compose-spec.json"
# Never let go fetch a toolchain (not reachable): the machine's Go must satisfy each module.
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--buildvcs=false}"

tools_need_go() {
  command -v go >/dev/null 2>&1 || {
    echo "deploy-check: Go is required to install helm, kubeconform and kustomize (go install) and to fetch schemas (go mod download)" >&2
    exit 1
  }
}

# go_tool <binary> <package path> <module path> <version> [ldflags]: installed unless that exact
# module version, built with those ldflags, is there.
go_tool() {
  local bin=$1 pkg=$2 mod=$3 version=$4 ldflags=${5:-} info have have_flags
  info=$(go version -m "$DEPLOY_BIN/$bin" 2>/dev/null || true)
  have=$(awk -v m="$mod" '$1 == "mod" && $2 == m { print $3 }' <<<"$info")
  have_flags=$(sed -n 's/^[[:space:]]*build[[:space:]]*-ldflags=//p' <<<"$info")
  have_flags=${have_flags#\"}
  have_flags=${have_flags%\"}
  if [[ $have == "$version" && $have_flags == "$ldflags" ]]; then
    echo "  $bin $version (installed)"
    return 0
  fi
  tools_need_go
  echo "  $bin $version: go install $pkg@$version ..."
  local t0=$SECONDS
  # From / so no go.mod around us can interfere; GOBIN puts the binary in .data/bin.
  (cd / && GOBIN="$DEPLOY_BIN" go install ${ldflags:+-ldflags="$ldflags"} "$pkg@$version")
  echo "  $bin $version installed in $((SECONDS - t0)) s"
}

# The ldflags of Helm's own release build (its Makefile): the version, and the Kubernetes version
# that `helm template`/`helm lint` assume without --kube-version, derived from Helm's client-go
# (v0.37 -> 1.37). Without them a go-installed helm assumes Kubernetes 1.20, which every chart's
# kubeVersion (>=1.30) refuses, and the documented commands would fail only here.
helm_ldflags() {
  local client_go major minor p
  client_go=$(go_mod_require "helm.sh/helm/v3@$HELM_VERSION" k8s.io/client-go)
  client_go=${client_go#v}
  major=$((${client_go%%.*} + 1))
  minor=${client_go#*.}
  minor=${minor%%.*}
  printf -- '-X helm.sh/helm/v3/internal/version.version=%s' "$HELM_VERSION"
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    printf -- ' -X %s.k8sVersionMajor=%s -X %s.k8sVersionMinor=%s' "$p" "$major" "$p" "$minor"
  done
}

# go_mod_require <module>@<version> <dependency>: the version that module's go.mod requires.
go_mod_require() {
  awk -v d="$2" '$1 == d { print $2; exit }' "$(module_dir "$1")/go.mod"
}

# module_dir <module>@<version>: downloads (cached) and prints the module's directory.
module_dir() {
  tools_need_go
  (cd / && go mod download -json "$1") | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const m = JSON.parse(s);
      if (m.Error || !m.Dir) { console.error(m.Error || "no Dir in go mod download output"); process.exit(1); }
      console.log(m.Dir);
    });'
}

deploy_tools_install() {
  mkdir -p "$DEPLOY_BIN" "$DEPLOY_DATA"
  go_tool helm helm.sh/helm/v3/cmd/helm helm.sh/helm/v3 "$HELM_VERSION" "$(helm_ldflags)"
  go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform github.com/yannh/kubeconform "$KUBECONFORM_VERSION"
  go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
}

deploy_schemas_install() {
  local converter="$ROOT/scripts/deploy/k8s-schemas.ts" prom_dir crd version dir stamp want
  prom_dir=""
  for version in $KUBERNETES_VERSIONS; do
    dir="$SCHEMA_DIR/v$version-strict"
    # Regenerated when the converter or a pinned version changes.
    want="$(sha256sum "$converter" | cut -c1-16) k8s=$version prometheus-operator=$PROMETHEUS_OPERATOR_VERSION"
    stamp="$dir/.stamp"
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
      echo "  kubernetes v$version schemas (present)"
      continue
    fi
    [[ -n $prom_dir ]] || prom_dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")
    crd="$prom_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml"
    local k8s_dir
    k8s_dir=$(module_dir "k8s.io/kubernetes@v$version")
    echo "  kubernetes v$version schemas: generating from k8s.io/kubernetes@v$version/api/openapi-spec/swagger.json"
    (cd "$ROOT" && npx --no-install tsx scripts/deploy/k8s-schemas.ts --swagger "$k8s_dir/api/openapi-spec/swagger.json" --crd "$crd" --out "$dir" | sed 's/^/    /')
    echo "$want" >"$stamp"
  done
  if [[ -f $COMPOSE_SCHEMA && -f $COMPOSE_SCHEMA.version && $(cat "$COMPOSE_SCHEMA.version") == "$COMPOSE_GO_VERSION" ]]; then
    echo "  compose-spec.json $COMPOSE_GO_VERSION (present)"
  else
    local compose_dir
    compose_dir=$(module_dir "github.com/compose-spec/compose-go/v2@$COMPOSE_GO_VERSION")
    cp "$compose_dir/schema/compose-spec.json" "$COMPOSE_SCHEMA"
    chmod u+w "$COMPOSE_SCHEMA"
    echo "$COMPOSE_GO_VERSION" >"$COMPOSE_SCHEMA.version"
    echo "  compose-spec.json from github.com/compose-spec/compose-go/v2@$COMPOSE_GO_VERSION"
  fi
}
