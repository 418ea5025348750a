#!/usr/bin/env bash
# The Helm chart run in real containers (the containers tier): builds the six
# images with scripts/images.sh (buildah on a debootstrap base; reused when
# built), then runs test/chart/podman.ts: four keepers from the chart README's
# quick start, every rendered container started with `podman run` on a podman
# network, until every provider is paid twice with exact balances.
#
#   bash scripts/chart-podman.sh [--tag TAG] [--no-build] [--keep]
#
# Not part of .ci/run: building the images takes longer than the CI budget
# leaves on two cores (docs/images.md has the timings); docs/images.md keeps
# this script's last output.
set -euo pipefail
cd "$(dirname "$0")/.."
TAG="${TAG:-dev}"
BUILD=1
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) TAG=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --keep) ARGS+=(--keep); shift ;;
    *) echo "usage: chart-podman.sh [--tag TAG] [--no-build] [--keep]" >&2; exit 2 ;;
  esac
done
if [ "$BUILD" = 1 ]; then bash scripts/images.sh --tag "$TAG" --no-smoke; fi
exec node --conditions=development --import tsx test/chart/podman.ts --tag "$TAG" "${ARGS[@]}"
