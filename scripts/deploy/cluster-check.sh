#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# npm run deploy:cluster-check — the deployment artifacts against a REAL Kubernetes API server:
# etcd and kube-apiserver (scripts/deploy/kube-apiserver.sh builds and caches it; ~14 min the first
# time) on loopback, with token authentication, RBAC and Pod Security admission. There is no
# scheduler, controller manager or kubelet, so pods never run: what is real is the API server's
# validation, defaulting, admission and server-side dry-run, and Helm's whole release lifecycle.
#
#   1. start      etcd + kube-apiserver on 127.0.0.1 (data, keys, kubeconfig under .data/cluster-check)
#   2. CRDs       ServiceMonitor (prometheus-operator, through the Go module proxy), established
#   3. kustomize  both overlays: apply --dry-run=server, then a real apply, into namespaces that
#                 enforce Pod Security "restricted" (and warn: a pod template that would be refused
#                 is a failure, since no controller ever creates the pods here)
#   4. helm       from a copy of the checkout's files only (as a fresh clone has them):
#                 install of helm/agent-platform with values-production.yaml (bootstrap hook on),
#                 hook Jobs completed by this script in the kubelet's place, hook leftovers none;
#                 upgrade with a changed config rolls the Deployment's checksum annotation;
#                 uninstall leaves nothing the release created
#   5. admission  a privileged pod and a root pod are refused by Pod Security; a compliant one is admitted
#
# Not part of `npm test` (the first kube-apiserver build alone takes longer than a cold CI can spend).
# Exits non-zero on any failure; etcd and kube-apiserver are always stopped (trap).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=tools.sh
source "$ROOT/scripts/deploy/tools.sh"
# shellcheck source=kube-apiserver.sh
source "$ROOT/scripts/deploy/kube-apiserver.sh"

DIR="$ROOT/.data/cluster-check"
ETCD_PORT=${CLUSTER_CHECK_ETCD_PORT:-52379}
API_PORT=${CLUSTER_CHECK_API_PORT:-56443}
HELM="$DEPLOY_BIN/helm"
KUBECTL=${KUBECTL:-$(command -v kubectl || true)}
KUBECONFIG="$DIR/kubeconfig"
export KUBECONFIG
RELEASE=platform
HELM_NS=agents
start=$SECONDS
declare -a SUMMARY=()
FAILED=0
step() { echo; echo "== $*"; }
ok() { SUMMARY+=("ok    $*"); echo "  ok: $*"; }
fail() { SUMMARY+=("FAIL  $*"); echo "  FAIL: $*" >&2; FAILED=1; }
k() { "$KUBECTL" "$@"; }

ETCD_PID="" API_PID="" COMPLETER_PID=""
stop_all() {
  local pid
  for pid in $COMPLETER_PID $API_PID $ETCD_PID; do
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}
summary() {
  local rc=$?
  stop_all
  ((rc == 0 && FAILED == 0)) || FAILED=1
  echo
  echo "== deploy:cluster-check summary ($((SECONDS - start)) s; logs: .data/cluster-check/*.log)"
  printf '  %s\n' "${SUMMARY[@]}"
  if ((FAILED)); then echo "  RESULT: FAILED"; exit 1; fi
  echo "  RESULT: passed (kube-apiserver $KUBE_APISERVER_VERSION, etcd $(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p'))"
}
trap summary EXIT

[[ -x $KUBECTL ]] || { echo "cluster-check: kubectl is required (apt-get install kubectl, or set KUBECTL)" >&2; exit 1; }

step "1. start etcd and kube-apiserver on 127.0.0.1"
deploy_tools_install
kube_apiserver_build
if ! command -v etcd >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "  etcd: apt-get install etcd-server"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
  else
    echo "cluster-check: etcd is required (Debian: apt-get install etcd-server)" >&2
    exit 1
  fi
fi
for port in "$ETCD_PORT" $((ETCD_PORT + 1)) "$API_PORT"; do
  if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
    echo "cluster-check: port $port is in use (another cluster-check running? set CLUSTER_CHECK_ETCD_PORT / CLUSTER_CHECK_API_PORT)" >&2
    exit 1
  fi
done
# A fresh cluster every run: nothing left from an earlier one can make a check pass.
rm -rf "$DIR" && mkdir -p "$DIR/certs"
chmod 700 "$DIR"
TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$TOKEN,cluster-check-admin,cluster-check-admin,system:masters" >"$DIR/tokens.csv"
openssl genrsa -out "$DIR/sa.key" 2048 2>/dev/null
openssl rsa -in "$DIR/sa.key" -pubout -out "$DIR/sa.pub" 2>/dev/null

etcd --name cluster-check --data-dir "$DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "cluster-check=http://127.0.0.1:$((ETCD_PORT + 1))" >"$DIR/etcd.log" 2>&1 &
ETCD_PID=$!
# --allow-privileged: the privileged pod below must be refused by Pod Security admission, as in a
# real cluster, not by the API server's own switch. --endpoint-reconciler-type=none: no
# kubernetes Endpoints to keep for a server that no pod could reach anyway.
"$KUBE_APISERVER_BIN" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --cert-dir "$DIR/certs" \
  --token-auth-file "$DIR/tokens.csv" \
  --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$DIR/sa.pub" --service-account-signing-key-file "$DIR/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 \
  --endpoint-reconciler-type none \
  --allow-privileged=true \
  >"$DIR/kube-apiserver.log" 2>&1 &
API_PID=$!
t0=$SECONDS
until [[ $(curl -sk -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "https://127.0.0.1:$API_PORT/readyz") == 200 ]]; do
  kill -0 "$API_PID" 2>/dev/null || { tail -n 30 "$DIR/kube-apiserver.log" >&2; echo "cluster-check: kube-apiserver exited" >&2; exit 1; }
  kill -0 "$ETCD_PID" 2>/dev/null || { tail -n 30 "$DIR/etcd.log" >&2; echo "cluster-check: etcd exited" >&2; exit 1; }
  ((SECONDS - t0 < 120)) || { tail -n 30 "$DIR/kube-apiserver.log" >&2; echo "cluster-check: no /readyz 200 after 120 s" >&2; exit 1; }
  sleep 1
done
# The server's certificate is self-signed into certs/ by kube-apiserver: trust exactly that one.
k config set-cluster check --server "https://127.0.0.1:$API_PORT" --certificate-authority "$DIR/certs/apiserver.crt" --embed-certs >/dev/null
k config set-credentials admin --token "$TOKEN" >/dev/null
k config set-context check --cluster check --user admin >/dev/null
k config use-context check >/dev/null
ok "kube-apiserver $(k version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n1) ready in $((SECONDS - t0)) s (RBAC, token auth, Pod Security admission; etcd $(etcd --version | sed -n 's/^etcd Version: //p'))"

step "2. CRDs the charts use"
prom_dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")
k apply --server-side -f "$prom_dir/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" >/dev/null
k wait --for condition=Established --timeout 60s crd/servicemonitors.monitoring.coreos.com >/dev/null
ok "ServiceMonitor CRD ($PROMETHEUS_OPERATOR_VERSION) established"

# restricted_ns <name>: a namespace that enforces Pod Security "restricted" and warns about pod
# templates that would violate it, plus the `default` ServiceAccount (normally made by the
# controller manager, which does not run here) so that pods can be admitted at all.
restricted_ns() {
  k create namespace "$1" --dry-run=client -o yaml | k apply -f - >/dev/null
  k label --overwrite namespace "$1" pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest \
    pod-security.kubernetes.io/warn=restricted pod-security.kubernetes.io/warn-version=latest >/dev/null
  k -n "$1" create serviceaccount default --dry-run=client -o yaml | k apply -f - >/dev/null
}

# apply_checked <what> <log> <kubectl apply args...>: stdin is applied; fails on an error or on
# any Pod Security warning (every workload's pod template must be admissible).
apply_checked() {
  local what=$1 log=$2
  shift 2
  if ! k apply "$@" -f - >"$log" 2>&1; then
    fail "$what: $(grep -m3 -iE 'error|invalid|forbidden' "$log" | tr '\n' ' ')"
    return 1
  fi
  if grep -q 'would violate PodSecurity' "$log"; then
    fail "$what: $(grep -m1 'would violate PodSecurity' "$log")"
    return 1
  fi
  return 0
}

step "3. kustomize overlays: server-side dry run, then a real apply"
for overlay in dev prod; do
  rendered="$DIR/kustomize-$overlay.yaml"
  "$DEPLOY_BIN/kustomize" build "k8s/overlays/$overlay" >"$rendered"
  ns=$(awk '/^kind: Namespace$/ { n = 1 } n && /^  name: / { print $2; exit }' "$rendered")
  [[ -n $ns ]] || { fail "kustomize $overlay: no Namespace object"; continue; }
  restricted_ns "$ns"
  count=$(grep -c '^kind: ' "$rendered")
  if apply_checked "kustomize $overlay (dry-run=server)" "$DIR/kustomize-$overlay-dry-run.log" --dry-run=server <"$rendered" &&
    apply_checked "kustomize $overlay (apply)" "$DIR/kustomize-$overlay-apply.log" <"$rendered"; then
    enforce=$(k get namespace "$ns" -o jsonpath='{.metadata.labels.pod-security\.kubernetes\.io/enforce}')
    [[ $enforce == restricted ]] || fail "kustomize $overlay: namespace $ns lost its enforce=restricted label ($enforce)"
    stored=$(k -n "$ns" get deployments -o name | wc -l)
    ok "kustomize $overlay: $count objects accepted by dry-run=server and applied into $ns (enforce=$enforce; $stored Deployments stored; no Pod Security warning)"
  fi
done

step "4. helm: install, upgrade, uninstall of helm/agent-platform (values-production.yaml)"
# Only the files a fresh clone has (tracked, plus new files not ignored: what a commit would hold),
# so an ignored, locally built charts/*.tgz or Chart.lock cannot make the install pass.
CHART_SRC="$DIR/checkout"
mkdir -p "$CHART_SRC"
git ls-files -z --cached --others --exclude-standard -- helm | while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -C "$CHART_SRC" -xf -
CHART="$CHART_SRC/helm/agent-platform"
restricted_ns "$HELM_NS"
# The bootstrap hook's Secret exists in a real install; the API server does not need the others
# (no pod starts), the hook runner below only needs the Job objects.

# In the kubelet's and the Job controller's place: every hook Job that appears is marked complete
# (status subresource, the conditions the Job controller sets), so Helm's hook waits end as in a
# real cluster. The order Jobs appeared in is logged for the assertions below.
complete_jobs() {
  local seen=" " job now
  while true; do
    for job in $(k -n "$HELM_NS" get jobs -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.succeeded}{"\n"}{end}' 2>/dev/null | awk '$2 != "1" { print $1 }'); do
      now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
      if k -n "$HELM_NS" patch job "$job" --subresource=status --type=merge -p "{\"status\":{\"startTime\":\"$now\",\"completionTime\":\"$now\",\"succeeded\":1,\"conditions\":[{\"type\":\"SuccessCriteriaMet\",\"status\":\"True\",\"lastProbeTime\":\"$now\",\"lastTransitionTime\":\"$now\"},{\"type\":\"Complete\",\"status\":\"True\",\"lastProbeTime\":\"$now\",\"lastTransitionTime\":\"$now\"}]}}" >>"$DIR/hook-jobs.log" 2>&1; then
        echo "completed $job" >>"$DIR/hook-jobs.order"
      fi
    done
    sleep 0.5
  done
}
: >"$DIR/hook-jobs.order"
complete_jobs &
COMPLETER_PID=$!

BOOTSTRAP=(--set operations.bootstrap.enabled=true --set operations.bootstrap.existingSecret=operations-postgres-admin)
deployment=$RELEASE-knowledge
checksum() { k -n "$HELM_NS" get deployment "$deployment" -o jsonpath='{.spec.template.metadata.annotations.checksum/config}'; }
# all_stored <release> <namespace> <what>: every object of the release's manifest is on the server.
all_stored() {
  local missing
  missing=$("$HELM" get manifest "$1" -n "$2" | k -n "$2" get -f - -o name 2>&1 | grep -iE 'not ?found|error' || true)
  [[ -z $missing ]] || fail "$3: objects of the manifest not on the server: $(echo "$missing" | paste -sd' ')"
}
# left_in <namespace>: everything namespaced that can be listed, whatever its labels, minus what this
# script made itself (a release object without the release's labels, or a hook leftover, shows up).
left_in() {
  local resources
  resources=$(k api-resources --verbs=list --namespaced -o name | grep -vE '^(events|events\.events\.k8s\.io)$' | paste -sd, -)
  k get "$resources" -n "$1" -o name 2>/dev/null | grep -vE '^(serviceaccount/default|configmap/kube-root-ca\.crt)$' || true
}
hook_leftovers() {
  k -n "$HELM_NS" get jobs,serviceaccounts,networkpolicies,pods -l app.kubernetes.io/instance=$RELEASE -o name 2>/dev/null |
    grep -E -- '-(migrate|bootstrap|test-readyz)$' || true
}

# The documented command, without --kube-version (the server's version is used) and without --wait
# (no pod ever becomes ready here).
if "$HELM" install "$RELEASE" "$CHART" -n "$HELM_NS" -f "$CHART/values-production.yaml" "${BOOTSTRAP[@]}" --timeout 120s >"$DIR/helm-install.log" 2>&1; then
  objects=$(k get "$(k api-resources --verbs=list --namespaced -o name | paste -sd, -)" -n "$HELM_NS" -l app.kubernetes.io/instance=$RELEASE -o name 2>/dev/null | wc -l)
  order=$(sed 's/^completed //' "$DIR/hook-jobs.order" | paste -sd' ')
  ok "helm install $RELEASE (status $("$HELM" status "$RELEASE" -n "$HELM_NS" | sed -n 's/^STATUS: //p')): $objects labelled objects stored; hook Jobs in order: $order"
  [[ $order == "$RELEASE-operations-bootstrap $RELEASE-operations-migrate" ]] ||
    fail "helm install: hook Jobs ran as '$order', expected bootstrap, then migrate"
  left=$(hook_leftovers)
  [[ -z $left ]] && ok "hooks after install: Jobs, ServiceAccount and NetworkPolicy deleted (hook-succeeded)" || fail "hook objects left after install: $(echo "$left" | paste -sd' ')"
  all_stored "$RELEASE" "$HELM_NS" "helm install"
  policy=$(k -n "$HELM_NS" get poddisruptionbudget "$RELEASE-knowledge" -o jsonpath='{.spec.unhealthyPodEvictionPolicy}' 2>/dev/null || true)
  [[ $policy == AlwaysAllow ]] || fail "PodDisruptionBudget unhealthyPodEvictionPolicy is '$policy'"
else
  fail "helm install: $(grep -m3 -iE 'error' "$DIR/helm-install.log" | tr '\n' ' ')"
fi

before=$(checksum || true)
: >"$DIR/hook-jobs.order"
if "$HELM" upgrade "$RELEASE" "$CHART" -n "$HELM_NS" -f "$CHART/values-production.yaml" "${BOOTSTRAP[@]}" \
  --set knowledge.logLevel=debug --timeout 120s >"$DIR/helm-upgrade.log" 2>&1; then
  after=$(checksum || true)
  revision=$(k -n "$HELM_NS" get deployment "$deployment" -o jsonpath='{.metadata.generation}')
  if [[ -n $before && -n $after && $before != "$after" ]]; then
    ok "helm upgrade (knowledge.logLevel=debug): $deployment checksum/config ${before:0:12}… -> ${after:0:12}… (generation $revision: the pod template changed, a rollout would start); hooks ran again: $(sed 's/^completed //' "$DIR/hook-jobs.order" | paste -sd' ')"
  else
    fail "helm upgrade: checksum/config of $deployment did not change ('${before:0:12}' -> '${after:0:12}')"
  fi
  unchanged=$(k -n "$HELM_NS" get deployment "$RELEASE-coordination" -o jsonpath='{.metadata.generation}')
  [[ $unchanged == 1 ]] || fail "helm upgrade: $RELEASE-coordination changed too (generation $unchanged) although its config did not"
  left=$(hook_leftovers)
  [[ -z $left ]] || fail "hook objects left after upgrade: $(echo "$left" | paste -sd' ')"
else
  fail "helm upgrade: $(grep -m3 -iE 'error' "$DIR/helm-upgrade.log" | tr '\n' ' ')"
fi

if "$HELM" uninstall "$RELEASE" -n "$HELM_NS" --timeout 120s >"$DIR/helm-uninstall.log" 2>&1; then
  left=$(left_in "$HELM_NS")
  if [[ -z $left ]]; then
    ok "helm uninstall: namespace $HELM_NS holds nothing the release or its hooks created (every namespaced resource type listed)"
  else
    fail "helm uninstall left: $(echo "$left" | paste -sd' ')"
  fi
else
  fail "helm uninstall: $(cat "$DIR/helm-uninstall.log" | tr '\n' ' ')"
fi

# The other profile: every optional object (ServiceMonitor, Ingress, HPA, Grafana dashboard, the
# bootstrap hook as set in the file), installed and uninstalled in the same namespace.
: >"$DIR/hook-jobs.order"
if "$HELM" install "$RELEASE" "$CHART" -n "$HELM_NS" -f "$CHART/ci/all-features-values.yaml" --timeout 120s >"$DIR/helm-install-all-features.log" 2>&1; then
  all_stored "$RELEASE" "$HELM_NS" "helm install (all features)"
  kinds=$("$HELM" get manifest "$RELEASE" -n "$HELM_NS" | sed -n 's/^kind: //p' | sort -u | paste -sd' ')
  [[ $kinds == *ServiceMonitor* ]] || fail "helm install (all features): no ServiceMonitor in the manifest ($kinds)"
  left=$(hook_leftovers)
  [[ -z $left ]] || fail "hook objects left after install (all features): $(echo "$left" | paste -sd' ')"
  if "$HELM" uninstall "$RELEASE" -n "$HELM_NS" --timeout 120s >>"$DIR/helm-install-all-features.log" 2>&1 && [[ -z $(left_in "$HELM_NS") ]]; then
    ok "helm install + uninstall, ci/all-features-values.yaml: every object stored ($kinds), hooks $(sed 's/^completed //' "$DIR/hook-jobs.order" | paste -sd' '), nothing left"
  else
    fail "helm uninstall (all features) left: $(left_in "$HELM_NS" | paste -sd' ')"
  fi
else
  fail "helm install (all features): $(grep -m3 -iE 'error' "$DIR/helm-install-all-features.log" | tr '\n' ' ')"
fi
kill "$COMPLETER_PID" 2>/dev/null || true
wait "$COMPLETER_PID" 2>/dev/null || true
COMPLETER_PID=""

step "5. Pod Security admission"
restricted_ns admission-check
pod() { # pod <name> <securityContext json of its container>
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s"},"spec":{"containers":[{"name":"c","image":"registry.example.com/agent-platform/knowledge:0.1.0","securityContext":%s}]}}' "$1" "$2"
}
compliant='{"runAsNonRoot":true,"runAsUser":1000,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}'
for bad in 'privileged|{"privileged":true}' 'root|{"runAsUser":0,"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]},"seccompProfile":{"type":"RuntimeDefault"}}'; do
  name=${bad%%|*}
  if out=$(pod "$name" "${bad#*|}" | k -n admission-check create -f - 2>&1); then
    fail "a $name pod was admitted into a restricted namespace"
  elif grep -q 'violates PodSecurity "restricted' <<<"$out"; then
    ok "$name pod refused: $(grep -o 'violates PodSecurity.*' <<<"$out" | cut -c1-150)"
  else
    fail "$name pod refused, but not by Pod Security: $out"
  fi
done
if out=$(pod compliant "$compliant" | k -n admission-check create -f - 2>&1); then
  ok "a compliant pod (non-root, no privilege escalation, no capabilities, RuntimeDefault seccomp) is admitted"
else
  fail "the compliant pod was refused: $out"
fi
