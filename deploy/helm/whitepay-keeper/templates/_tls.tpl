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
The TLS file variables of one component, without its prefix (`NATS_TLS_CA_FILE: /etc/whitepay/nats-tls/ca.crt`), as a YAML map.
*/}}
{{- define "whitepay-keeper.tlsEnv" -}}
{{- $env := dict }}
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
