{{/*
TLS of the connections to NATS, Redis and PostgreSQL (`nats.tls`, `redis.tls`,
`postgres.tls`), kept apart from the other helpers. Each dependency whose
`tls.existingSecret` is set has its Secret (`ca.crt`, and `tls.crt`/`tls.key`
with `clientCert`) mounted read-only at /etc/whitepay/<dep>-tls in the pods of
the components that use it, and the `<PREFIX>_<NATS|REDIS|DATABASE>_TLS_*_FILE`
variables pointing there. Off with staging.enabled: the in-release servers
speak plaintext.

`whitepay-keeper.depTls`: the dependencies of one component with TLS on, as a
YAML map dep -> {secret, clientCert, env, dir}. Call with (dict "ctx" $ "c" $component);
`c` needs only `uses`.
*/}}
{{- define "whitepay-keeper.depTls" -}}
{{- $v := .ctx.Values }}
{{- $out := dict }}
{{- $envOf := dict "nats" "NATS" "redis" "REDIS" "postgres" "DATABASE" }}
{{- if not $v.staging.enabled }}
{{- range $dep := list "nats" "redis" "postgres" }}
{{- $t := (index $v $dep).tls | default dict }}
{{- if and (has $dep $.c.uses) $t.existingSecret }}
{{- $_ := set $out $dep (dict "secret" $t.existingSecret "clientCert" (default false $t.clientCert) "env" (index $envOf $dep) "dir" (printf "/etc/whitepay/%s-tls" $dep)) }}
{{- end }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}

{{/*
`whitepay-keeper.natsAuth`: the NATS credentials of one component from a mounted Secret
(`nats.auth`: `kind` password with `user`, token, or creds — an NKey/JWT `.creds` file), as a YAML map
{secret, kind, user, key, dir}, or {} when off, staging is on, or the component does not use NATS.
The Secret's key is `password`, `token` or `user.creds`; mounted read-only at /etc/whitepay/nats-auth.
*/}}
{{- define "whitepay-keeper.natsAuth" -}}
{{- $v := .ctx.Values }}
{{- $a := $v.nats.auth | default dict }}
{{- if and (not $v.staging.enabled) (has "nats" .c.uses) $a.existingSecret }}
{{- $kind := $a.kind | default "password" }}
{{- $key := get (dict "password" "password" "token" "token" "creds" "user.creds") $kind }}
{{- if not $key }}{{ fail (printf "whitepay-keeper: nats.auth.kind must be password, token or creds, not %q" $kind) }}{{ end }}
{{- if and (eq $kind "password") (not $a.user) }}{{ fail "whitepay-keeper: nats.auth.kind password needs nats.auth.user" }}{{ end }}
{{- toYaml (dict "secret" $a.existingSecret "kind" $kind "user" ($a.user | default "") "key" $key "dir" "/etc/whitepay/nats-auth") }}
{{- end }}
{{- end }}

{{/*
The TLS file variables of one component, without its prefix (`NATS_TLS_CA_FILE: /etc/whitepay/nats-tls/ca.crt`), as a YAML map.
*/}}
{{- define "whitepay-keeper.tlsEnv" -}}
{{- $env := dict }}
{{- with include "whitepay-keeper.natsAuth" . | fromYaml }}
{{- if eq .kind "password" }}
{{- $_ := set $env "NATS_USER" .user }}
{{- $_ := set $env "NATS_PASSWORD_FILE" (printf "%s/%s" .dir .key) }}
{{- else if eq .kind "token" }}
{{- $_ := set $env "NATS_TOKEN_FILE" (printf "%s/%s" .dir .key) }}
{{- else }}
{{- $_ := set $env "NATS_CREDS_FILE" (printf "%s/%s" .dir .key) }}
{{- end }}
{{- end }}
{{- range $dep, $t := include "whitepay-keeper.depTls" . | fromYaml }}
{{- $_ := set $env (printf "%s_TLS_CA_FILE" $t.env) (printf "%s/ca.crt" $t.dir) }}
{{- if $t.clientCert }}
{{- $_ := set $env (printf "%s_TLS_CERT_FILE" $t.env) (printf "%s/tls.crt" $t.dir) }}
{{- $_ := set $env (printf "%s_TLS_KEY_FILE" $t.env) (printf "%s/tls.key" $t.dir) }}
{{- end }}
{{- end }}
{{- toYaml $env }}
{{- end }}

{{/*
volumeMounts entries of one component's TLS Secrets (nothing when TLS is off).
*/}}
{{- define "whitepay-keeper.tlsVolumeMounts" -}}
{{- with include "whitepay-keeper.natsAuth" . | fromYaml }}
- name: nats-auth
  mountPath: {{ .dir }}
  readOnly: true
{{- end }}
{{- range $dep, $t := include "whitepay-keeper.depTls" . | fromYaml }}
- name: {{ $dep }}-tls
  mountPath: {{ $t.dir }}
  readOnly: true
{{- end }}
{{- end }}

{{/*
volumes entries of one component's TLS Secrets: only the keys it reads, so a
Secret without them fails the pod's start by name.
*/}}
{{- define "whitepay-keeper.tlsVolumes" -}}
{{- with include "whitepay-keeper.natsAuth" . | fromYaml }}
- name: nats-auth
  secret:
    secretName: {{ .secret }}
    defaultMode: 0400
    items:
      - key: {{ .key }}
        path: {{ .key }}
{{- end }}
{{- range $dep, $t := include "whitepay-keeper.depTls" . | fromYaml }}
- name: {{ $dep }}-tls
  secret:
    secretName: {{ $t.secret }}
    defaultMode: 0400
    items:
      - key: ca.crt
        path: ca.crt
      {{- if $t.clientCert }}
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
      {{- end }}
{{- end }}
{{- end }}

{{/*
Names of the TLS Secrets one component reads, comma-separated (for the Reloader annotation).
*/}}
{{- define "whitepay-keeper.tlsSecrets" -}}
{{- $names := list }}
{{- range $dep, $t := include "whitepay-keeper.depTls" . | fromYaml }}{{ $names = append $names $t.secret }}{{ end }}
{{- with include "whitepay-keeper.natsAuth" . | fromYaml }}{{ $names = append $names .secret }}{{ end }}
{{- join "," $names }}
{{- end }}

{{/*
A TLS Secret for Redis needs a rediss:// URL (a redis:// one would make the service refuse to start).
*/}}
{{- define "whitepay-keeper.validateTls" -}}
{{- $v := .Values }}
{{- if and (not $v.staging.enabled) $v.redis.tls.existingSecret $v.redis.url (not $v.redis.existingSecret) (not (hasPrefix "rediss://" $v.redis.url)) }}
{{- fail "whitepay-keeper: redis.tls.existingSecret needs a rediss:// redis.url" }}
{{- end }}
{{- end }}
