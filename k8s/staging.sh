#!/usr/bin/env bash
# A WhitePay staging cluster on kind that pays: builds the service images,
# loads them into the cluster, starts an anvil chain, runs the network plan
# the local network runs (test/devnet/plan-cli.ts: factory, the user's
# Upkeeping, keepers registered with proofs of possession, the group file,
# each keeper's keys), installs the group of keepers keeper-1..N (each with
# its own staging NATS, Redis and PostgreSQL from the chart's
# `staging.enabled`), starts a provider node (k8s/provider.yaml), stores and
# registers its pieces, adds the providers on chain, and waits until every
# provider has been paid twice.
#
#   bash k8s/staging.sh          # create (or update) the cluster and the keepers, wait for payments
#   bash k8s/staging.sh down     # delete the cluster
#
# Needs docker, kind, node and pnpm (the workspace installed: `bash scripts/bootstrap.sh`);
# kubectl and helm fall back to the binaries scripts/check-helm.sh extracts into
# node_modules/.cache/whitepay-helm. Environment: CLUSTER (whitepay-staging), NAMESPACE (whitepay),
# KEEPERS (4, at most 9: keeper accounts are anvil's funded dev accounts 1..9), PROVIDERS (3),
# TAG (staging), PLAN_DIR (.staging: the plan with every key — keep it private).
#
# test/chart/chart-run.int.test.ts runs every step of this script but kind and the images
# (the same plan commands, the chart README's install, k8s/provider.yaml) in `pnpm check`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${CLUSTER:-whitepay-staging}"
NAMESPACE="${NAMESPACE:-whitepay}"
KEEPERS="${KEEPERS:-4}"
PROVIDERS="${PROVIDERS:-3}"
TAG="${TAG:-staging}"
PLAN_DIR="${PLAN_DIR:-$ROOT/.staging}"
CHART="$ROOT/deploy/helm/whitepay-keeper"
STAGING_VALUES="$CHART/ci/staging-values.yaml"
SERVICES=(challenger challenge-store st-calculator consensus-coordinator chain-submitter provider)
HELM="${HELM:-$(command -v helm || echo "$ROOT/node_modules/.cache/whitepay-helm/helm/helm")}"
KUBECTL="${KUBECTL:-$(command -v kubectl || echo "$ROOT/node_modules/.cache/whitepay-helm/kubectl/kubectl")}"
# Local ports of the port-forwards the plan reaches the cluster through.
ANVIL_PORT="${ANVIL_PORT:-18545}"
PROVIDER_PORT="${PROVIDER_PORT:-17000}"
STORE_PORT_BASE="${STORE_PORT_BASE:-17100}"

log() { printf '\033[1m== %s\033[0m\n' "$*"; }

# The image of a service, as the chart names it with the staging values
# (`<image.repositoryPrefix>/<service>:<image.tag>`).
image_of() { printf 'whitepay/%s:%s\n' "$1" "$TAG"; }

# Every image this script builds, one per line.
built_images() {
  local svc
  for svc in "${SERVICES[@]}"; do image_of "$svc"; done
}

# Keeper ids of the plan: 1..KEEPERS.
keeper_ids() { seq 1 "$KEEPERS"; }

# `helm upgrade --install` arguments of keeper $1, one per line.
keeper_helm_args() {
  local i="$1"
  printf '%s\n' \
    "keeper-$i" "$CHART" \
    --namespace "$NAMESPACE" \
    --values "$STAGING_VALUES" \
    --values "$PLAN_DIR/group.yaml" \
    --set "keeperId=$i" \
    --set "image.tag=$TAG" \
    --set "keys.existingSecret=keeper-$i-keys"
}

# The consensus-coordinator Service of keeper {id}, as the other keepers reach it.
peer_template() { printf 'keeper-{id}-whitepay-keeper-consensus-coordinator:50051\n'; }

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "staging.sh: $tool is required" >&2; exit 1; }
  done
}

plan() { (cd "$ROOT" && node --conditions=development --import tsx test/devnet/plan-cli.ts "$@" --plan "$PLAN_DIR/plan.json"); }

FORWARDS=()
# Forwards local port $2 to port $3 of $1 (svc/... or deploy/...) until the script exits.
forward() {
  "$KUBECTL" -n "$NAMESPACE" port-forward "$1" "$2:$3" >/dev/null 2>&1 &
  FORWARDS+=("$!")
  local tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; do
    tries=$((tries + 1))
    [[ $tries -lt 60 ]] || { echo "staging.sh: port-forward to $1 did not come up" >&2; exit 1; }
    sleep 1
  done
}
stop_forwards() {
  local pid
  for pid in "${FORWARDS[@]}"; do kill "$pid" 2>/dev/null || true; done
}

create_cluster() {
  if kind get clusters | grep -qx "$CLUSTER"; then
    log "kind cluster $CLUSTER exists"
  else
    log "creating kind cluster $CLUSTER"
    kind create cluster --name "$CLUSTER" --config "$ROOT/k8s/kind-config.yaml" --wait 120s
  fi
  "$KUBECTL" config use-context "kind-$CLUSTER" >/dev/null
  "$KUBECTL" create namespace "$NAMESPACE" --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
}

build_images() {
  local svc
  for svc in "${SERVICES[@]}"; do
    log "building $(image_of "$svc")"
    docker build --target "$svc" --tag "$(image_of "$svc")" "$ROOT"
    kind load docker-image --name "$CLUSTER" "$(image_of "$svc")"
  done
}

start_chain() {
  log "starting anvil"
  "$KUBECTL" -n "$NAMESPACE" apply -f "$ROOT/k8s/anvil.yaml"
  "$KUBECTL" -n "$NAMESPACE" rollout status deployment/anvil --timeout 300s
  forward svc/anvil "$ANVIL_PORT" 8545
}

# Factory, Upkeeping, keepers registered; the group file and each keeper's key Secret.
plan_group() {
  mkdir -p "$PLAN_DIR" && chmod 700 "$PLAN_DIR"
  log "network plan: chain, $KEEPERS keepers, $PROVIDERS providers"
  plan chain --rpc "http://127.0.0.1:$ANVIL_PORT" --keepers "$KEEPERS" --providers "$PROVIDERS"
  plan group --out "$PLAN_DIR/group.yaml" --peer "$(peer_template)" --provider-address whitepay-provider:7000
  local i
  for i in $(keeper_ids); do
    plan keys --keeper "$i" --out "$PLAN_DIR/keeper-$i.env"
    "$KUBECTL" -n "$NAMESPACE" create secret generic "keeper-$i-keys" --from-env-file="$PLAN_DIR/keeper-$i.env" \
      --dry-run=client -o yaml | "$KUBECTL" apply -f - >/dev/null
  done
}

install_keepers() {
  local i args
  for i in $(keeper_ids); do
    mapfile -t args < <(keeper_helm_args "$i")
    log "installing keeper-$i"
    "$HELM" upgrade --install "${args[@]}" --wait --timeout 10m
  done
}

# The provider node, its pieces stored and registered with every keeper, the providers added on chain.
start_providers() {
  log "starting the provider node"
  "$KUBECTL" -n "$NAMESPACE" apply -f "$ROOT/k8s/provider.yaml"
  "$KUBECTL" -n "$NAMESPACE" rollout status deployment/whitepay-provider --timeout 300s
  forward svc/whitepay-provider "$PROVIDER_PORT" 7000
  local i stores=()
  for i in $(keeper_ids); do
    forward "svc/keeper-$i-whitepay-keeper-challenge-store" "$((STORE_PORT_BASE + i))" 50051
    stores+=("$i=127.0.0.1:$((STORE_PORT_BASE + i))")
  done
  plan provision --rpc "http://127.0.0.1:$ANVIL_PORT" --provider-address "127.0.0.1:$PROVIDER_PORT" \
    --store "$(IFS=,; echo "${stores[*]}")"
}

wait_payments() {
  log "waiting until every provider is paid twice"
  plan wait --rpc "http://127.0.0.1:$ANVIL_PORT" --payments 2 --timeout 900
}

main() {
  case "${1:-up}" in
    up)
      need docker kind node
      trap stop_forwards EXIT
      create_cluster
      build_images
      start_chain
      plan_group
      install_keepers
      start_providers
      wait_payments
      "$KUBECTL" -n "$NAMESPACE" get pods -o wide
      ;;
    down) need kind; kind delete cluster --name "$CLUSTER" ;;
    *) echo "usage: staging.sh [up|down]" >&2; exit 2 ;;
  esac
}

# Sourcing the script (as test/k8s/staging.test.ts does) defines the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
