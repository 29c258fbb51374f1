#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# npm run images:build — builds the three service images from the one Dockerfile with a real engine:
#
#   1. engine   podman (Debian's), installed with apt-get when missing and running as root
#               (scripts/images/engine.sh); its containers.conf lives in .data/images
#   2. base     NODE_IMAGE: node:24-trixie-slim made locally, Docker Hub being out of reach
#               (scripts/images/base.sh: debootstrap + Node from the npm registry), cached by a hash
#               of its recipe and inputs. IMAGES_NODE_IMAGE=<image> uses that one instead.
#   3. images   agent-platform/<service>:${IMAGE_TAG:-dev}, each with its size and build time;
#               OCI labels from package.json's version and git; the machine's CA bundle, when
#               there is one, as the build secret npm_ca (egress proxies that re-sign TLS)
#   4. budget   every image at most IMAGES_BUDGET_MB (see below), or this fails
#
# Prints the image names on the last line as `IMAGES=<knowledge> <operations> <coordination>`.
# Logs: .data/images/logs/. Concurrent runs wait for each other (flock).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../infra/lib.sh
source scripts/infra/lib.sh
# shellcheck source=../lib/node-runtime.sh
source scripts/lib/node-runtime.sh
# shellcheck source=engine.sh
source scripts/images/engine.sh
# shellcheck source=base.sh
source scripts/images/base.sh

# Size budget per image (uncompressed, as `podman image inspect` reports it). Measured at 0.1.0:
# base 222 MB (Debian minbase ≈ 80 MB, the node binary ≈ 120 MB, npm ≈ 20 MB, kept in the lower layer
# when the runtime stage removes it), knowledge 292, operations 359, coordination 276 MB: the service's
# production node_modules and dist on top (operations the most: pg, @prisma/client with its runtimes
# for every database, and the migrator's WebAssembly schema engine). 400 MB leaves room for ordinary
# dependency growth and fails on the mistakes that matter: dev dependencies, the npm cache, a second
# copy of node_modules, another service's dependencies, or build tools in the runtime stage (each
# ≥ 70 MB here).
IMAGES_BUDGET_MB=${IMAGES_BUDGET_MB:-400}
IMAGE_TAG=${IMAGE_TAG:-dev}
SERVICES=(knowledge operations coordination)
declare -A PORTS=([knowledge]=4101 [operations]=4102 [coordination]=4103)

mkdir -p "$IMAGES_DATA/logs"
exec 8>"$IMAGES_DATA/build.lock"
flock -w 1800 8 || die images "timed out waiting for another images build (lock .data/images/build.lock)"

images_engine_ensure

if [[ -n ${IMAGES_NODE_IMAGE:-} ]]; then
  base=$IMAGES_NODE_IMAGE
  info images "base image $base (IMAGES_NODE_IMAGE)"
else
  base=$(images_base_ensure)
fi

# The CA bundle npm must trust inside the build: what Node is told to trust here, npm's cafile, or
# the system bundle (it contains any CA the machine's administrator added).
ca=""
for candidate in "${NODE_EXTRA_CA_CERTS:-}" "$(npm config get cafile 2>/dev/null || true)" /etc/ssl/certs/ca-certificates.crt; do
  if [[ -n $candidate && $candidate != null && -s $candidate ]]; then ca=$candidate; break; fi
done
secret_args=()
[[ -n $ca ]] && secret_args=(--secret "id=npm_ca,src=$ca")

version=$(node -p 'require("./services/knowledge/package.json").version')
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# The commit's time, not the clock's: an unchanged checkout rebuilds to the very same image.
created=$(git log -1 --format=%cI 2>/dev/null || echo unknown)
source_url=$(git config --get remote.origin.url 2>/dev/null || echo unknown)

declare -a report=()
names=()
over=0
for service in "${SERVICES[@]}"; do
  name="localhost/agent-platform/$service:$IMAGE_TAG"
  log="$IMAGES_DATA/logs/build-$service.log"
  t0=$(now_ms)
  info images "building $name (log: ${log#"$ROOT"/})"
  if ! run_with_progress images "$log" "podman build $service" podman build \
      --network=host --layers --pull=never --format docker \
      --file Dockerfile \
      --build-arg "NODE_IMAGE=$base" \
      --build-arg "SERVICE=$service" --build-arg "PORT=${PORTS[$service]}" \
      --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
      --build-arg "CREATED=$created" --build-arg "SOURCE=$source_url" \
      "${secret_args[@]}" \
      --tag "$name" .; then
    fail_with_log images "podman build of $service failed" "$log"
  fi
  took=$(since "$t0")
  bytes=$(podman image inspect --format '{{.Size}}' "$name")
  mb=$((bytes / 1000000))
  verdict=ok
  if ((mb > IMAGES_BUDGET_MB)); then verdict="OVER BUDGET"; over=1; fi
  report+=("$(printf '%-13s %5d MB  built in %7s  %s' "$service" "$mb" "$took" "$verdict")")
  names+=("$name")
done

echo
echo "== images (budget ${IMAGES_BUDGET_MB} MB each, uncompressed; base $base $(podman image inspect --format '{{.Size}}' "$base" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
printf '  %s\n' "${report[@]}"
printf '%s\n' "${report[@]}" >"$IMAGES_DATA/sizes.txt"
if ((over)); then
  echo "ERROR [images]: an image is over the ${IMAGES_BUDGET_MB} MB budget (see the reasons in scripts/images/build.sh)" >&2
  exit 1
fi
echo "IMAGES=${names[*]}"
