#!/usr/bin/env bash
# Builds the WhitePay service images from the Dockerfile without a Docker
# engine or a registry (buildah + podman, Debian 12, root), then smoke-tests
# each one: started with podman far enough to answer GET /healthz with 200.
#
#   scripts/images.sh [--tag TAG] [--no-smoke] [--smoke-only] [TARGET...]
#
#   TARGET      any of: challenger challenge-store st-calculator
#               consensus-coordinator chain-submitter provider (default: all)
#   --tag TAG   image tag (default $TAG or `dev`): localhost/whitepay/<target>:TAG
#   --no-smoke  build only (the smoke test is on by default)
#   --smoke-only  smoke-test images already built, do not build
#
# Steps:
#  1. Base image localhost/whitepay-base:bookworm-node<version>, made once and
#     reused: `debootstrap --variant=minbase bookworm` from the Debian mirror
#     apt is configured with, plus Debian's ca-certificates, plus this host's
#     Node (the resolved `command -v node`) with its corepack and npm in
#     /usr/local, like the official node images. Delete it to remake it:
#     `podman rmi localhost/whitepay-base:<tag>` (with the storage below).
#  2. `buildah bud --layers --isolation chroot --target <t>` per target, the
#     base passed as NODE_IMAGE. The build stage's layers are shared by all
#     targets (the first target pays for them). The host's CA bundle is
#     given to the build as the secret `ca` (mounted only while pnpm
#     downloads, copied into no image; the build trusts it through
#     NODE_EXTRA_CA_CERTS), for the npm registry behind a TLS-inspecting proxy.
#  3. Smoke test: PostgreSQL, NATS JetStream, Redis and anvil started by this
#     script on 127.0.0.1 (free ports), each image run with
#     `podman run --network host` (the container shares the host's loopback,
#     so it reaches those servers at 127.0.0.1 and its own /healthz is on a
#     host port; nothing is published beyond loopback) with a read-only root
#     filesystem and a tmpfs /tmp, like the Helm chart's securityContext.
#     The challenge-store image first runs its migration command.
#
# Storage: buildah and podman share one containers storage (driver vfs,
# graphroot $WHITEPAY_IMAGES_GRAPHROOT, default /var/lib/containers/storage)
# through the storage.conf this script writes; to use the images afterwards:
#   export CONTAINERS_STORAGE_CONF=.tmp/images/storage.conf CONTAINERS_CONF=.tmp/images/containers.conf
#   podman images localhost/whitepay/*
# State (rootfs, configs, smoke servers' data) lives in .tmp/images/.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)

ALL_TARGETS=(challenger challenge-store st-calculator consensus-coordinator chain-submitter provider)
TAG=${TAG:-dev}
SMOKE=1
BUILD=1
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) TAG=$2; shift 2 ;;
    --tag=*) TAG=${1#--tag=}; shift ;;
    --smoke) SMOKE=1; shift ;;
    --no-smoke) SMOKE=0; shift ;;
    --smoke-only) BUILD=0; SMOKE=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *)
      if [[ " ${ALL_TARGETS[*]} " != *" $1 "* ]]; then echo "unknown target $1 (one of: ${ALL_TARGETS[*]})" >&2; exit 2; fi
      TARGETS+=("$1"); shift ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=("${ALL_TARGETS[@]}")

STATE=$REPO/.tmp/images
mkdir -p "$STATE"
log() { printf '[images %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# --- tools -------------------------------------------------------------------
need=()
for t in debootstrap:debootstrap buildah:buildah podman:podman runc:runc; do
  command -v "${t%%:*}" >/dev/null || need+=("${t#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
fi

# --- one storage and one engine config for buildah and podman ----------------
GRAPHROOT=${WHITEPAY_IMAGES_GRAPHROOT:-/var/lib/containers/storage}
cat >"$STATE/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$GRAPHROOT"
runroot = "/run/containers/storage"
EOF
# The podman defaults fail here (setrlimit RLIMIT_NOFILE not permitted,
# cgroups in hybrid mode not supported): docs/images.md.
cat >"$STATE/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
export CONTAINERS_STORAGE_CONF=$STATE/storage.conf CONTAINERS_CONF=$STATE/containers.conf

# --- base image --------------------------------------------------------------
NODE_BIN=$(readlink -f "$(command -v node)")
NODE_VERSION=$("$NODE_BIN" -p 'process.versions.node')
case "$NODE_VERSION" in 20.*) ;; *) echo "host node is $NODE_VERSION, the images want Node 20" >&2; exit 1 ;; esac
NODE_LIB=$(dirname "$(dirname "$NODE_BIN")")/lib/node_modules
BASE_TAG=bookworm-node$NODE_VERSION
BASE=localhost/whitepay-base:$BASE_TAG

# The Debian mirror apt uses for bookworm (deb822 .sources or sources.list).
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk 'BEGIN{RS=""} /(^|\n)Suites:[^\n]*(^|[ \t])bookworm([ \t]|\n|$)/ { if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s=substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1=="deb" && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i !~ /^\[/) { if ($(i+1)=="bookworm") { print $i; exit } ; break } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  return 1
}

make_base() {
  local mirror rootfs=$STATE/rootfs
  mirror=$(debian_mirror) || { echo "no bookworm mirror in /etc/apt/sources.list*" >&2; exit 1; }
  log "base: debootstrap --variant=minbase bookworm from $mirror"
  rm -rf "$rootfs"
  debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$STATE/debootstrap.log" 2>&1 \
    || { tail -20 "$STATE/debootstrap.log"; exit 1; }
  log "base: node $NODE_VERSION ($NODE_BIN), corepack and npm from $NODE_LIB"
  install -m 0755 "$NODE_BIN" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  cp -a "$NODE_LIB/corepack" "$NODE_LIB/npm" "$rootfs/usr/local/lib/node_modules/"
  ln -sf ../lib/node_modules/corepack/dist/corepack.js "$rootfs/usr/local/bin/corepack"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # What the image does not need at run time.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  chroot "$rootfs" /usr/local/bin/node -e 'process.stdout.write(`node ${process.version} runs in the base\n`)'
  tar --numeric-owner -C "$rootfs" --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' -c . |
    podman import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' \
      --message "debootstrap minbase bookworm + node $NODE_VERSION" - "$BASE" >/dev/null
  rm -rf "$rootfs"
}

if podman image exists "$BASE"; then
  log "base: reusing $BASE"
elif [ "$BUILD" = 1 ]; then
  t0=$(date +%s)
  make_base
  log "base: $BASE made in $(($(date +%s) - t0)) s"
fi

# --- build -------------------------------------------------------------------
declare -A BUILD_S RESULT
HOST_CA=/etc/ssl/certs/ca-certificates.crt
if [ "$BUILD" = 1 ]; then
  ca_args=()
  if [ -f "$HOST_CA" ]; then
    ca_args=(--secret "id=ca,src=$HOST_CA")
  fi
  for t in "${TARGETS[@]}"; do
    log "build: $t"
    t0=$(date +%s)
    buildah bud --isolation chroot --layers \
      --build-arg "NODE_IMAGE=$BASE" "${ca_args[@]}" \
      --target "$t" -t "localhost/whitepay/$t:$TAG" -f Dockerfile . \
      || { log "build: $t FAILED"; exit 1; }
    BUILD_S[$t]=$(($(date +%s) - t0))
    log "build: $t done in ${BUILD_S[$t]} s"
  done
fi

# --- smoke -------------------------------------------------------------------
PIDS=()
PGDATA_DIR=
CONTAINERS=()
cleanup() {
  local c p
  for c in "${CONTAINERS[@]}"; do podman rm -f -t 5 "$c" >/dev/null 2>&1 || true; done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$PGDATA_DIR" ] && [ -f "$PGDATA_DIR/postmaster.pid" ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

free_port() { node -e 'const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_tcp() { # host port seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_servers() {
  local dir=$STATE/smoke
  rm -rf "$dir" && mkdir -p "$dir"
  NATS_PORT=$(free_port)
  nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$dir/nats" >"$dir/nats.log" 2>&1 &
  PIDS+=($!)
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no >"$dir/redis.log" 2>&1 &
  PIDS+=($!)
  ANVIL_PORT=$(free_port)
  local anvil
  anvil=$(cd packages/testkit && node --input-type=module -e 'import { createRequire } from "node:module"; import { dirname, join } from "node:path";
    const r = createRequire(join(process.cwd(), "package.json")); const d = dirname(r.resolve("@foundry-rs/anvil/package.json"));
    console.log(join(dirname(createRequire(join(d, "package.json")).resolve("@foundry-rs/anvil-linux-amd64/package.json")), "bin", "anvil"))')
  "$anvil" --host 127.0.0.1 --port "$ANVIL_PORT" --chain-id 31337 >"$dir/anvil.log" 2>&1 &
  PIDS+=($!)
  # PostgreSQL refuses to run as root: the postgres user owns its data dir.
  PG_BIN=/usr/lib/postgresql/15/bin
  [ -x "$PG_BIN/initdb" ] || PG_BIN=$(dirname "$(command -v initdb)")
  PG_PORT=$(free_port)
  PGDATA_DIR=$dir/pg
  mkdir -p "$PGDATA_DIR" && chown postgres: "$dir" "$PGDATA_DIR" && chmod 0700 "$PGDATA_DIR"
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PGDATA_DIR" -U whitepay --auth=trust --no-sync --no-instructions >"$dir/initdb.log" 2>&1
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$dir/pg.log" -w \
    -o "-p $PG_PORT -h 127.0.0.1 -k $PGDATA_DIR -c fsync=off" start >/dev/null
  "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U whitepay -d postgres -qc 'CREATE DATABASE whitepay' >/dev/null
  wait_tcp 127.0.0.1 "$NATS_PORT" 20 && wait_tcp 127.0.0.1 "$REDIS_PORT" 20 && wait_tcp 127.0.0.1 "$ANVIL_PORT" 30 \
    || { log "smoke: a server did not start (logs in $dir)"; exit 1; }
  log "smoke: nats :$NATS_PORT, redis :$REDIS_PORT, postgres :$PG_PORT, anvil :$ANVIL_PORT (127.0.0.1)"
}

# anvil's first well-known dev key (public test mnemonic) and a test BLS key.
TEST_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
TEST_BLS=0x$(printf '%064x' 424242)

smoke_env() { # target http-port grpc-port -> env lines
  local p http=$2 grpc=$3 db="postgres://whitepay@127.0.0.1:$PG_PORT/whitepay"
  case $1 in
    challenger) p=CHALLENGER ;;
    challenge-store) p=CHALLENGE_STORE ;;
    st-calculator) p=ST_CALCULATOR ;;
    consensus-coordinator) p=CONSENSUS_COORDINATOR ;;
    chain-submitter) p=CHAIN_SUBMITTER ;;
    provider) p=PROVIDER ;;
  esac
  echo "${p}_HTTP_HOST=127.0.0.1"
  echo "${p}_HTTP_PORT=$http"
  [ "$1" = provider ] || echo "${p}_KEEPER_ID=1"
  case $1 in
    challenger)
      echo "CHALLENGER_NATS_URL=nats://127.0.0.1:$NATS_PORT"
      echo "CHALLENGER_STORE_GRPC_URL=127.0.0.1:$STORE_GRPC"
      echo "CHALLENGER_KEEPER_PRIVATE_KEY=$TEST_KEY" ;;
    challenge-store)
      echo "CHALLENGE_STORE_GRPC_HOST=127.0.0.1"
      echo "CHALLENGE_STORE_GRPC_PORT=$grpc"
      echo "CHALLENGE_STORE_DATABASE_URL=$db"
      echo "CHALLENGE_STORE_NATS_URL=nats://127.0.0.1:$NATS_PORT" ;;
    st-calculator)
      echo "ST_CALCULATOR_GRPC_HOST=127.0.0.1"
      echo "ST_CALCULATOR_GRPC_PORT=$grpc"
      echo "ST_CALCULATOR_DATABASE_URL=$db" ;;
    consensus-coordinator)
      echo "CONSENSUS_COORDINATOR_GRPC_HOST=127.0.0.1"
      echo "CONSENSUS_COORDINATOR_GRPC_PORT=$grpc"
      echo "CONSENSUS_COORDINATOR_NATS_URL=nats://127.0.0.1:$NATS_PORT"
      echo "CONSENSUS_COORDINATOR_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
      echo "CONSENSUS_COORDINATOR_RPC_URL=http://127.0.0.1:$ANVIL_PORT"
      echo "CONSENSUS_COORDINATOR_PRIVATE_KEY=$TEST_KEY"
      echo "CONSENSUS_COORDINATOR_BLS_SECRET_KEY=$TEST_BLS"
      echo "CONSENSUS_COORDINATOR_ST_CALCULATOR_URL=127.0.0.1:$ST_GRPC"
      echo "CONSENSUS_COORDINATOR_CHALLENGE_STORE_URL=127.0.0.1:$STORE_GRPC"
      # One keeper smoke test, no peers: plaintext peer gRPC.
      echo "CONSENSUS_COORDINATOR_PEER_PLAINTEXT=true" ;;
    chain-submitter)
      echo "CHAIN_SUBMITTER_NATS_URL=nats://127.0.0.1:$NATS_PORT"
      echo "CHAIN_SUBMITTER_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
      echo "CHAIN_SUBMITTER_RPC_URL=http://127.0.0.1:$ANVIL_PORT"
      echo "CHAIN_SUBMITTER_CHAIN_ID=31337"
      echo "CHAIN_SUBMITTER_PRIVATE_KEY=$TEST_KEY"
      echo "CHAIN_SUBMITTER_CONFIRMATIONS=0" ;;
    provider)
      echo "PROVIDER_GRPC_HOST=127.0.0.1"
      echo "PROVIDER_GRPC_PORT=$grpc"
      echo "PROVIDER_DATA_DIR=/tmp/pieces"
      echo "PROVIDER_ADDRESS=0x$(printf '%040x' 1)" ;;
  esac
}

SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-90}
smoke() { # target
  local t=$1 img="localhost/whitepay/$1:$TAG" http grpc name code ready i
  http=$(free_port)
  grpc=$(free_port)
  case $t in challenge-store) grpc=$STORE_GRPC ;; st-calculator) grpc=$ST_GRPC ;; esac
  name=whitepay-smoke-$t-$$
  smoke_env "$t" "$http" "$grpc" >"$STATE/smoke/$t.env"
  log "smoke: $t ($img) on 127.0.0.1:$http"
  local migrated=
  if [ "$t" = challenge-store ]; then
    # The migration command the Helm chart's Job runs (Dockerfile header).
    if podman run --rm --network host --read-only --tmpfs /tmp:rw,size=64m -w /app \
      -e "STORE_DATABASE_URL=postgres://whitepay@127.0.0.1:$PG_PORT/whitepay" \
      "$img" node node_modules/@whitepay/store/dist/cli.js migrate >"$STATE/smoke/migrate.log" 2>&1; then
      migrated="migrate ok, "
      log "smoke: $t: node node_modules/@whitepay/store/dist/cli.js migrate (in /app) exited 0"
    else
      RESULT[$t]="FAIL (migrate, $STATE/smoke/migrate.log)"
      sed 's/^/    /' "$STATE/smoke/migrate.log"
      return
    fi
  fi
  local t0 elapsed
  t0=$(date +%s.%N)
  if ! podman run -d --name "$name" --network host --read-only --tmpfs /tmp:rw,size=64m \
    --env-file "$STATE/smoke/$t.env" "$img" >/dev/null; then
    RESULT[$t]="FAIL (podman run)"
    return
  fi
  CONTAINERS+=("$name")
  code=000
  for ((i = 0; i < SMOKE_TIMEOUT * 2; i++)); do # every 0.5 s
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$http/healthz" || true)
    [ "$code" = 200 ] && break
    [ "$(podman inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || break
    sleep 0.5
  done
  elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  ready=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$http/readyz" || true)
  local user
  user=$(podman exec "$name" id -u 2>/dev/null || echo '?')
  if [ "$code" = 200 ]; then
    RESULT[$t]="PASS ${migrated}healthz 200 ${elapsed} s after podman run (readyz $ready, uid $user)"
  else
    RESULT[$t]="FAIL healthz $code after ${elapsed} s"
    log "smoke: $t logs:"
    podman logs --tail 30 "$name" 2>&1 | sed 's/^/    /'
  fi
  podman logs "$name" >"$STATE/smoke/$t.log" 2>&1 || true
  podman stop -t 10 "$name" >/dev/null 2>&1 || true
  podman rm -f "$name" >/dev/null 2>&1 || true
  log "smoke: $t ${RESULT[$t]}"
}

if [ "$SMOKE" = 1 ]; then
  start_servers
  # The gRPC ports other services are pointed at (challenger → store,
  # coordinator → store and st-calculator); each is run alone, so these
  # dependencies need not answer for /healthz.
  STORE_GRPC=$(free_port)
  ST_GRPC=$(free_port)
  for t in "${TARGETS[@]}"; do smoke "$t"; done
fi

# --- summary -----------------------------------------------------------------
echo
echo "WhitePay images, tag $TAG, base $BASE ($(nproc) cores, $(date -u +%Y-%m-%d))"
printf '%-24s %-44s %10s %8s  %s\n' target image size build smoke
fail=0
for t in "${TARGETS[@]}"; do
  img="localhost/whitepay/$t:$TAG"
  size=$(podman image inspect -f '{{.Size}}' "$img" 2>/dev/null | awk '{ printf "%.0f MB", $1 / 1e6 }')
  build=${BUILD_S[$t]:+${BUILD_S[$t]} s}
  printf '%-24s %-44s %10s %8s  %s\n' "$t" "$img" "${size:-?}" "${build:--}" "${RESULT[$t]:--}"
  case ${RESULT[$t]:-} in FAIL*) fail=1 ;; esac
done
exit $fail
