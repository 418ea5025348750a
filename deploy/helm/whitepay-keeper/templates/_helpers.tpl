{{/*
Chart name, truncated to 63 characters (a DNS label).
*/}}
{{- define "whitepay-keeper.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Full name: `<release>-<chart>`, or the release name when it already contains the chart name.
*/}}
{{- define "whitepay-keeper.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "whitepay-keeper.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Standard labels. Call with (dict "ctx" $ "component" "challenger").
*/}}
{{- define "whitepay-keeper.labels" -}}
helm.sh/chart: {{ include "whitepay-keeper.chart" .ctx }}
{{ include "whitepay-keeper.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: whitepay
whitepay.io/keeper-id: {{ .ctx.Values.keeperId | quote }}
{{- end }}

{{/*
Selector labels (immutable on Deployments: never add to them).
*/}}
{{- define "whitepay-keeper.selectorLabels" -}}
app.kubernetes.io/name: {{ include "whitepay-keeper.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end }}

{{/*
The five services: values key, resource name, env prefix, whether it serves
gRPC, which shared dependencies it takes, and which files of the key Secret it
reads, per `keys.format` (env suffix → Secret key, a file under
/etc/whitepay/keys). What each service reads is its config schema
(`services/<name>/src/config.ts`); test/k8s/chart-env.test.ts checks every
rendered variable against it.
*/}}
{{- define "whitepay-keeper.components" -}}
challenger:
  name: challenger
  prefix: CHALLENGER
  grpc: false
  uses: [nats, rpc]
  keys:
    hex: { KEEPER_PRIVATE_KEY_FILE: account-key, NATS_SIGNING_KEY_FILE: bus-key, NATS_MAC_KEY_FILE: bus-mac-key }
    keystore: { KEEPER_KEYSTORE_FILE: account-keystore.json, KEEPER_KEYSTORE_PASSWORD_FILE: account-keystore-password, NATS_SIGNING_KEY_FILE: bus-key, NATS_MAC_KEY_FILE: bus-mac-key }
  internalToken: true
challengeStore:
  name: challenge-store
  prefix: CHALLENGE_STORE
  grpc: true
  uses: [nats, postgres]
  keys: { hex: { NATS_MAC_KEY_FILE: bus-mac-key }, keystore: { NATS_MAC_KEY_FILE: bus-mac-key } }
  internalToken: true
stCalculator:
  name: st-calculator
  prefix: ST_CALCULATOR
  grpc: true
  uses: [postgres]
  keys: { hex: {}, keystore: {} }
  internalToken: true
consensusCoordinator:
  name: consensus-coordinator
  prefix: CONSENSUS_COORDINATOR
  grpc: true
  uses: [nats, redis, rpc, factory]
  keys:
    hex: { PRIVATE_KEY_FILE: account-key, BLS_SECRET_KEY_FILE: bls-secret-key, NATS_SIGNING_KEY_FILE: bus-key }
    keystore:
      NATS_SIGNING_KEY_FILE: bus-key
      KEYSTORE_FILE: account-keystore.json
      KEYSTORE_PASSWORD_FILE: account-keystore-password
      BLS_KEYSTORE_FILE: bls-keystore.json
      BLS_KEYSTORE_PASSWORD_FILE: bls-keystore-password
  internalToken: true
chainSubmitter:
  name: chain-submitter
  prefix: CHAIN_SUBMITTER
  grpc: false
  uses: [nats, redis, rpc, factory]
  keys:
    hex: { PRIVATE_KEY_FILE: account-key, NATS_SIGNING_KEY_FILE: bus-key }
    keystore: { KEYSTORE_FILE: account-keystore.json, KEYSTORE_PASSWORD_FILE: account-keystore-password, NATS_SIGNING_KEY_FILE: bus-key }
  internalToken: false
{{- end }}

{{/*
Service image. Call with (dict "ctx" $ "name" "challenger" "image" .Values.services.challenger.image).
The registry is `global.imageRegistry` (umbrella charts), else `image.registry`;
it is prepended to derived repositories only (an explicit `repository` is a full
name). A `digest` pins the image as `repo@sha256:...` and wins over the tag.
*/}}
{{- define "whitepay-keeper.image" -}}
{{- $img := .ctx.Values.image }}
{{- $registry := $img.registry }}
{{- with .ctx.Values.global }}{{ with .imageRegistry }}{{ $registry = . }}{{ end }}{{ end }}
{{- $repo := .image.repository }}
{{- if not $repo }}
{{- $repo = printf "%s/%s" $img.repositoryPrefix .name }}
{{- if $registry }}
{{- $repo = printf "%s/%s" (trimSuffix "/" $registry) $repo }}
{{- end }}
{{- end }}
{{- if .image.digest }}
{{- printf "%s@%s" $repo .image.digest }}
{{- else }}
{{- $tag := .image.tag | default $img.tag | default .ctx.Chart.AppVersion }}
{{- printf "%s:%s" $repo $tag }}
{{- end }}
{{- end }}

{{- define "whitepay-keeper.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "whitepay-keeper.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* Names of the Secrets and the keys inside them. */}}
{{- define "whitepay-keeper.keysSecretName" -}}
{{- .Values.keys.existingSecret | default (printf "%s-keys" (include "whitepay-keeper.fullname" .)) }}
{{- end }}

{{/* Where the key Secret's files are mounted in the pods that read them. */}}
{{- define "whitepay-keeper.keysDir" -}}/etc/whitepay/keys{{- end }}

{{/*
The keys of the key Secret, by `keys.format`, with the inline value of each
(what the chart's own Secret writes): `hex` → `account-key`, `bls-secret-key`;
`keystore` → `account-keystore.json`, `account-keystore-password`,
`bls-keystore.json`, `bls-keystore-password`. A YAML map key → value.
*/}}
{{- define "whitepay-keeper.keyValues" -}}
{{- $k := .Values.keys }}
{{- if eq $k.format "keystore" }}
account-keystore.json: {{ $k.accountKeystore | quote }}
account-keystore-password: {{ $k.accountKeystorePassword | quote }}
bls-keystore.json: {{ $k.blsKeystore | quote }}
bls-keystore-password: {{ $k.blsKeystorePassword | quote }}
{{- else }}
account-key: {{ $k.accountKey | quote }}
bls-secret-key: {{ $k.blsSecretKey | quote }}
{{- end }}
admin-token: {{ $k.adminToken | quote }}
internal-token: {{ $k.internalToken | quote }}
bus-key: {{ $k.busKey | quote }}
bus-mac-key: {{ $k.busMacKey | quote }}
{{- end }}

{{/*
The keys the key Secret holds, as far as the pods read them (a YAML map key →
true). The chart's own Secret: the keys whose inline value is set. An existing
Secret, which the chart cannot look into: the keys of `keys.format`, and
`admin-token` / `internal-token` when `keys.existingSecretTokens` says it holds
them. Only these are mounted and named by a `<PREFIX>_*_FILE` variable, so an
optional token that is not there is neither a failed mount nor a file the
service cannot read at start.
*/}}
{{- define "whitepay-keeper.keysHeld" -}}
{{- $k := .Values.keys }}
{{- $values := include "whitepay-keeper.keyValues" . | fromYaml }}
{{- $held := dict }}
{{- range $key, $value := $values }}
{{- $token := or (eq $key "admin-token") (eq $key "internal-token") (eq $key "bus-key") (eq $key "bus-mac-key") }}
{{- if $k.existingSecret }}
{{- if or (not $token) (and (eq $key "admin-token") $k.existingSecretTokens.adminToken) (and (eq $key "internal-token") $k.existingSecretTokens.internalToken) (and (eq $key "bus-key") $k.existingSecretTokens.busKey) (and (eq $key "bus-mac-key") $k.existingSecretTokens.busMacKey) }}
{{- $_ := set $held $key true }}
{{- end }}
{{- else if $value }}
{{- $_ := set $held $key true }}
{{- end }}
{{- end }}
{{- toYaml $held }}
{{- end }}

{{/*
The files of the key Secret one service reads: env suffix → Secret key (a YAML
map). Its keys of `keys.format` (the component table), `ADMIN_TOKEN_FILE` and
(for the gRPC callers and servers) `INTERNAL_TOKEN_FILE`, each only when the
Secret holds it. Call with (dict "ctx" $ "c" $component).
*/}}
{{- define "whitepay-keeper.keyFiles" -}}
{{- $held := include "whitepay-keeper.keysHeld" .ctx | fromYaml }}
{{- $files := dict }}
{{- range $env, $key := index .c.keys .ctx.Values.keys.format }}
{{- if hasKey $held $key }}{{ $_ := set $files $env $key }}{{ end }}
{{- end }}
{{- if hasKey $held "admin-token" }}{{ $_ := set $files "ADMIN_TOKEN_FILE" "admin-token" }}{{ end }}
{{- if and .c.internalToken (hasKey $held "internal-token") }}{{ $_ := set $files "INTERNAL_TOKEN_FILE" "internal-token" }}{{ end }}
{{- if $files }}{{ toYaml $files }}{{ end }}
{{- end }}

{{- define "whitepay-keeper.postgresSecretName" -}}
{{- if and .Values.postgres.existingSecret (not .Values.staging.enabled) }}
{{- .Values.postgres.existingSecret }}
{{- else }}
{{- printf "%s-postgres" (include "whitepay-keeper.fullname" .) }}
{{- end }}
{{- end }}

{{- define "whitepay-keeper.postgresSecretKey" -}}
{{- if and .Values.postgres.existingSecret (not .Values.staging.enabled) }}
{{- .Values.postgres.existingSecretKey }}
{{- else }}url{{- end }}
{{- end }}

{{/* The PostgreSQL URL the chart stores in its own Secret. */}}
{{- define "whitepay-keeper.postgresUrl" -}}
{{- if .Values.staging.enabled }}
{{- $pg := .Values.staging.postgres }}
{{- printf "postgres://%s:%s@%s-postgres:5432/%s" (urlquery $pg.user) (urlquery $pg.password) (include "whitepay-keeper.fullname" .) $pg.database }}
{{- else }}
{{- .Values.postgres.url }}
{{- end }}
{{- end }}

{{- define "whitepay-keeper.natsUrl" -}}
{{- if .Values.staging.enabled }}
{{- printf "nats://%s-nats:4222" (include "whitepay-keeper.fullname" .) }}
{{- else }}
{{- .Values.nats.url }}
{{- end }}
{{- end }}

{{- define "whitepay-keeper.redisUrl" -}}
{{- if .Values.staging.enabled }}
{{- printf "redis://%s-redis:6379" (include "whitepay-keeper.fullname" .) }}
{{- else }}
{{- .Values.redis.url }}
{{- end }}
{{- end }}

{{/* Redis URL comes from a Secret only for an external Redis with existingSecret. */}}
{{- define "whitepay-keeper.redisFromSecret" -}}
{{- if and .Values.redis.existingSecret (not .Values.staging.enabled) }}true{{- end }}
{{- end }}

{{- define "whitepay-keeper.natsNamespace" -}}
{{- .Values.config.natsNamespace | default (printf "k%v" .Values.keeperId) }}
{{- end }}

{{/*
camelCase -> SNAKE_CASE, exactly as packages/base `envName` does.
*/}}
{{- define "whitepay-keeper.snake" -}}
{{- regexReplaceAll "([a-z0-9])([A-Z])" . "${1}_${2}" | upper }}
{{- end }}

{{/*
A value as an environment string. YAML numbers reach templates as float64,
which `toString` prints in exponent form past 1e6 (`1.5e+07`): integral
numbers are printed as integers.
*/}}
{{- define "whitepay-keeper.envValue" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) }}{{ int64 . }}{{ else }}{{ toString . }}{{ end }}
{{- end }}

{{/* `host:port` of this release's Service for a component's gRPC port. */}}
{{- define "whitepay-keeper.grpcAddress" -}}
{{- printf "%s-%s:%v" (include "whitepay-keeper.fullname" .ctx) .name .ctx.Values.ports.grpc }}
{{- end }}

{{/*
The address of this keeper's bus key: `nats.signer`, else this keeper's
`account` in `group.keepers` (the bus key is then the account key); `""` when
neither (a service with a key uses its own; the challenge-store refuses to start).
*/}}
{{- define "whitepay-keeper.busSigner" -}}
{{- $v := .Values }}
{{- if $v.nats.signer }}{{ $v.nats.signer }}{{ else }}
{{- range $v.group.keepers }}{{ if eq (int64 .id) (int64 $v.keeperId) }}{{ .account }}{{ end }}{{ end }}
{{- end }}
{{- end }}

{{/*
`name=value,…` of the stream caps (`nats.streams`), as packages/bus reads
`NATS_STREAM_MAX_BYTES` / `NATS_STREAM_MAX_AGE_SECONDS`. Call with (dict "ctx" $ "field" "maxBytes").
*/}}
{{- define "whitepay-keeper.streamLimits" -}}
{{- $s := .ctx.Values.nats.streams }}
{{- $names := dict "records" "records" "peerOut" "peer-out" "blocks" "blocks" "payments" "payments" "reorgs" "reorgs" "challengeTasks" "challenge-tasks" }}
{{- $out := list }}
{{- range $key := keys $names | sortAlpha }}
{{- $out = append $out (printf "%s=%s" (index $names $key) (include "whitepay-keeper.envValue" (index (index $s $key) $.field))) }}
{{- end }}
{{- join "," $out }}
{{- end }}

{{/*
Non-secret environment of one service, as a YAML map (rendered into the ConfigMap).
`services.<name>.config` is merged last, so it overrides what the chart derives.
Call with (dict "ctx" $ "key" $valuesKey "c" $component "values" $serviceValues).
*/}}
{{- define "whitepay-keeper.configEnv" -}}
{{- $v := .ctx.Values }}
{{- $p := .c.prefix }}
{{- $env := dict }}
{{- $_ := set $env "LOG_LEVEL" $v.config.logLevel }}
{{- $_ := set $env "HTTP_HOST" "0.0.0.0" }}
{{- $_ := set $env "HTTP_PORT" $v.ports.http }}
{{- $_ := set $env "READ_OPEN" $v.config.readOpen }}
{{- $_ := set $env "KEEPER_ID" $v.keeperId }}
{{- if .c.grpc }}
{{- $_ := set $env "GRPC_HOST" "0.0.0.0" }}
{{- $_ := set $env "GRPC_PORT" $v.ports.grpc }}
{{- end }}
{{- if has "nats" .c.uses }}
{{- $_ := set $env "NATS_NAMESPACE" (include "whitepay-keeper.natsNamespace" .ctx) }}
{{- with include "whitepay-keeper.natsUrl" .ctx }}{{ $_ := set $env "NATS_URL" . }}{{ end }}
{{- with include "whitepay-keeper.busSigner" .ctx }}{{ $_ := set $env "NATS_SIGNER" . }}{{ end }}
{{- $_ := set $env "NATS_STREAM_MAX_BYTES" (include "whitepay-keeper.streamLimits" (dict "ctx" .ctx "field" "maxBytes")) }}
{{- $_ := set $env "NATS_STREAM_MAX_AGE_SECONDS" (include "whitepay-keeper.streamLimits" (dict "ctx" .ctx "field" "maxAgeSeconds")) }}
{{- end }}
{{- if and (has "redis" .c.uses) (not (include "whitepay-keeper.redisFromSecret" .ctx)) }}
{{- with include "whitepay-keeper.redisUrl" .ctx }}{{ $_ := set $env "REDIS_URL" . }}{{ end }}
{{- end }}
{{- if has "rpc" .c.uses }}
{{- with $v.chain.rpcUrl }}{{ $_ := set $env "RPC_URL" . }}{{ end }}
{{- end }}
{{- if and (has "factory" .c.uses) $v.chain.factoryAddress }}
{{- $_ := set $env "FACTORY_ADDRESS" $v.chain.factoryAddress }}
{{- $_ := set $env "FACTORY_FROM_BLOCK" $v.chain.factoryFromBlock }}
{{- end }}
{{- $keepers := $v.group.keepers }}
{{- if eq .key "challenger" }}
{{- $_ := set $env "STORE_GRPC_URL" (include "whitepay-keeper.grpcAddress" (dict "ctx" .ctx "name" "challenge-store")) }}
{{- $providers := list }}
{{- range $v.providers }}{{ $providers = append $providers (printf "%s=%s" .pid .address) }}{{ end }}
{{- with $providers }}{{ $_ := set $env "PROVIDERS" (join "," .) }}{{ end }}
{{- else if eq .key "challengeStore" }}
{{- $members := list }}
{{- range $keepers }}{{ $members = append $members (printf "%d=%s" (int64 .id) .account) }}{{ end }}
{{- with $members }}{{ $_ := set $env "PEER_KEEPERS" (join "," .) }}{{ end }}
{{- else if eq .key "stCalculator" }}
{{- $ids := list }}
{{- range $keepers }}{{ $ids = append $ids (printf "%d" (int64 .id)) }}{{ end }}
{{- with $ids }}{{ $_ := set $env "GROUP_KEEPERS" (join "," .) }}{{ end }}
{{- else if eq .key "consensusCoordinator" }}
{{- $_ := set $env "ST_CALCULATOR_URL" (include "whitepay-keeper.grpcAddress" (dict "ctx" .ctx "name" "st-calculator")) }}
{{- $_ := set $env "CHALLENGE_STORE_URL" (include "whitepay-keeper.grpcAddress" (dict "ctx" .ctx "name" "challenge-store")) }}
{{- $peers := list }}
{{- range $keepers }}
{{- if and (ne (int64 .id) (int64 $v.keeperId)) .peerAddress }}{{ $peers = append $peers (printf "%d=%s" (int64 .id) .peerAddress) }}{{ end }}
{{- end }}
{{- with $peers }}{{ $_ := set $env "PEERS" (join "," .) }}{{ end }}
{{- with .values.broadcast }}
{{- $_ := set $env "FORWARD_BATCH_MAX" .batchMax }}
{{- $_ := set $env "FORWARD_BATCH_MAX_BYTES" .batchMaxBytes }}
{{- $_ := set $env "FORWARD_FLUSH_MS" .flushMs }}
{{- $_ := set $env "FORWARD_DEADLINE_MS" .deadlineMs }}
{{- $_ := set $env "FORWARD_DEADLINE_PER_RECORD_MS" .deadlinePerRecordMs }}
{{- $_ := set $env "FORWARD_LAG_MAX_BLOCKS" .lagMaxBlocks }}
{{- end }}
{{- if $v.peer.plaintext }}
{{- $_ := set $env "PEER_PLAINTEXT" "true" }}
{{- else if $v.peer.tls.existingSecret }}
{{- $_ := set $env "PEER_TLS_CA_FILE" "/etc/whitepay/peer-tls/ca.crt" }}
{{- $_ := set $env "PEER_TLS_CERT_FILE" "/etc/whitepay/peer-tls/tls.crt" }}
{{- $_ := set $env "PEER_TLS_KEY_FILE" "/etc/whitepay/peer-tls/tls.key" }}
{{- else }}
{{- fail "peer.tls.existingSecret is required: the Secret (ca.crt, tls.crt, tls.key) of this keeper's peer certificate, naming urn:whitepay:keeper:<id>:<account> (or peer.plaintext=true for a network on one machine)" }}
{{- end }}
{{- else if eq .key "chainSubmitter" }}
{{- with $v.chain.chainId }}{{ $_ := set $env "CHAIN_ID" . }}{{ end }}
{{- end }}
{{- $env = merge $env (include "whitepay-keeper.tlsEnv" . | fromYaml) }}
{{- range $key, $value := .values.config }}
{{- $_ := set $env (include "whitepay-keeper.snake" $key) $value }}
{{- end }}
{{- range $name := keys $env | sortAlpha }}
{{ $p }}_{{ $name }}: {{ include "whitepay-keeper.envValue" (index $env $name) | quote }}
{{- end }}
{{- end }}

{{/*
Secret environment of one service (EnvVar list). Call like configEnv. The
database and Redis URLs come from their Secrets; the keys and tokens are files
of the key Secret mounted at /etc/whitepay/keys (`whitepay-keeper.keyFiles`),
named by `<PREFIX>_*_FILE`, so no key is ever a value in the environment.
*/}}
{{- define "whitepay-keeper.secretEnv" -}}
{{- $ctx := .ctx }}
{{- $p := .c.prefix }}
{{- if has "postgres" .c.uses }}
- name: {{ $p }}_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "whitepay-keeper.postgresSecretName" $ctx }}
      key: {{ include "whitepay-keeper.postgresSecretKey" $ctx }}
{{- end }}
{{- if and (has "redis" .c.uses) (include "whitepay-keeper.redisFromSecret" $ctx) }}
- name: {{ $p }}_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $ctx.Values.redis.existingSecret }}
      key: {{ $ctx.Values.redis.existingSecretKey }}
{{- end }}
{{- $dir := include "whitepay-keeper.keysDir" $ctx }}
{{- range $env, $key := include "whitepay-keeper.keyFiles" . | fromYaml }}
- name: {{ $p }}_{{ $env }}
  value: {{ printf "%s/%s" $dir $key | quote }}
{{- end }}
{{- end }}

{{/*
Checksum of the rendered config and the chart's Secrets, and `keys.revision`:
pods roll when the chart's objects change, or when the revision is bumped
after an existing Secret was rotated.
*/}}
{{- define "whitepay-keeper.configChecksum" -}}
{{- $cm := include (print .Template.BasePath "/configmap.yaml") . }}
{{- $sec := include (print .Template.BasePath "/secrets.yaml") . }}
{{- print $cm $sec (toString (.Values.keys.revision | default "")) | sha256sum }}
{{- end }}

{{/*
Comma-separated names of the existing (not chart-made) Secrets one service
reads (the key Secret only where files of it are mounted), for the
stakater/Reloader annotation. Call with (dict "ctx" $ "c" $component).
*/}}
{{- define "whitepay-keeper.existingSecrets" -}}
{{- $v := .ctx.Values }}
{{- $names := list }}
{{- if and $v.keys.existingSecret (include "whitepay-keeper.keyFiles" .) }}{{ $names = append $names $v.keys.existingSecret }}{{ end }}
{{- if not $v.staging.enabled }}
{{- if and (has "postgres" .c.uses) $v.postgres.existingSecret }}{{ $names = append $names $v.postgres.existingSecret }}{{ end }}
{{- if and (has "redis" .c.uses) $v.redis.existingSecret }}{{ $names = append $names $v.redis.existingSecret }}{{ end }}
{{- end }}
{{- with include "whitepay-keeper.tlsSecrets" . }}{{ $names = concat $names (splitList "," .) }}{{ end }}
{{- $names | uniq | join "," }}
{{- end }}

{{/*
What a keeper cannot start without. Rendering fails with the list, instead
of producing pods that crash on their configuration (or cannot even be
created, for a Secret key that is not there).
*/}}
{{- define "whitepay-keeper.validate" -}}
{{- $v := .Values }}
{{- $missing := list }}
{{- if not $v.staging.enabled }}
{{- if not $v.nats.url }}{{ $missing = append $missing "nats.url" }}{{ end }}
{{- if not (or $v.redis.url $v.redis.existingSecret) }}{{ $missing = append $missing "redis.url (or redis.existingSecret)" }}{{ end }}
{{- if not (or $v.postgres.url $v.postgres.existingSecret) }}{{ $missing = append $missing "postgres.url (or postgres.existingSecret)" }}{{ end }}
{{- end }}
{{- if and (or $v.services.chainSubmitter.enabled $v.services.consensusCoordinator.enabled $v.services.challenger.enabled) (not $v.chain.rpcUrl) }}{{ $missing = append $missing "chain.rpcUrl" }}{{ end }}
{{- if and (or $v.keys.busKey (and $v.keys.existingSecret $v.keys.existingSecretTokens.busKey)) (not $v.nats.signer) }}{{ $missing = append $missing "nats.signer (the address of keys.busKey)" }}{{ end }}
{{- /* k8s/staging.sh passes the group (its plan's group.yaml) after staging-values.yaml */}}
{{- if and $v.services.challengeStore.enabled (not $v.staging.enabled) (not (include "whitepay-keeper.busSigner" .)) }}{{ $missing = append $missing "group.keepers with this keeper's entry (or nats.signer): the challenge-store checks the bus signatures against it" }}{{ end }}
{{- if eq $v.keys.format "keystore" }}
{{- if not (or $v.keys.existingSecret (and $v.keys.accountKeystore $v.keys.accountKeystorePassword $v.keys.blsKeystore $v.keys.blsKeystorePassword)) }}{{ $missing = append $missing "keys.existingSecret (or keys.accountKeystore, keys.accountKeystorePassword, keys.blsKeystore and keys.blsKeystorePassword)" }}{{ end }}
{{- else if not (or $v.keys.existingSecret (and $v.keys.accountKey $v.keys.blsSecretKey)) }}{{ $missing = append $missing "keys.existingSecret (or keys.accountKey and keys.blsSecretKey)" }}{{ end }}
{{- with $missing }}
{{- fail (printf "whitepay-keeper: set %s (see the chart README's quick start)" (join ", " .)) }}
{{- end }}
{{- end }}
