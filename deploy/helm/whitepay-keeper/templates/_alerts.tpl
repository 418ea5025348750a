{{/*
The keeper's alert rules (docs/alerts.md), as the `groups:` of a Prometheus
rule file: the PrometheusRule's spec, and what test/ops/alerts.test.ts feeds to
`promtool test rules`. Every rule selects this release's series by `namespace`
and `keeper`, the target labels the ServiceMonitor sets.
*/}}
{{- define "whitepay-keeper.alertGroups" -}}
{{- $a := .Values.metrics.alerts -}}
{{- $sel := printf "namespace=%q,keeper=%q" .Release.Namespace (toString .Values.keeperId) -}}
{{- $labels := merge (dict "severity" "warning") $a.alertLabels -}}
groups:
  - name: whitepay-keeper-{{ .Values.keeperId }}
    interval: {{ $a.interval }}
    rules:
      - alert: WhitePayServiceDown
        expr: up{ {{- $sel -}} } == 0
        for: {{ $a.for }}
        labels: {{- toYaml (merge (dict "severity" "critical") $a.alertLabels) | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: {{ "{{" }} $labels.job {{ "}}" }} is not answering its scrape"
          description: "{{ "{{" }} $labels.pod {{ "}}" }} ({{ "{{" }} $labels.instance {{ "}}" }}) has been down for {{ $a.for }}: its part of the keeper (challenges, records, st, rounds or payments) is not running."
      - alert: WhitePayProviderUnpaid
        expr: max by (namespace, keeper, upkeeping, pid) (whitepay_provider_overdue_blocks{ {{- $sel -}} }) > 0
        for: {{ $a.for }}
        labels: {{- toYaml (merge (dict "severity" "critical") $a.alertLabels) | nindent 10 }}
        annotations:
          summary: "Provider {{ "{{" }} $labels.pid {{ "}}" }} was not paid within its first cycle of slots"
          description: "The running interval of {{ "{{" }} $labels.pid {{ "}}" }} at {{ "{{" }} $labels.upkeeping {{ "}}" }} is {{ "{{" }} $value {{ "}}" }} blocks past the end of its first cycle of leader slots (H + n*T after its ts): no keeper of the group paid it."
      - alert: WhitePayRoundsWithoutQuorum
        expr: |
          sum by (namespace, keeper) (increase(whitepay_rounds_total{ {{- $sel -}} ,outcome="failed"}[15m]))
            > {{ $a.roundFailureShare }} * sum by (namespace, keeper) (increase(whitepay_rounds_total{ {{- $sel -}} }[15m]))
        for: {{ $a.for }}
        labels: {{- toYaml $labels | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: rounds end without quorum"
          description: "More than {{ $a.roundFailureShare }} of the rounds this keeper led in 15 minutes ended without a quorum of signatures (outcome failed)."
      - alert: WhitePayWalletRunwayLow
        expr: |
          max by (namespace, keeper) (whitepay_wallet_balance_wei{ {{- $sel -}} })
            < {{ $a.walletRunwayHours }} * 3600 * sum by (namespace, keeper) (rate(whitepay_gas_spent_wei_total{ {{- $sel -}} }[{{ $a.walletSpendWindow }}]))
        for: {{ $a.for }}
        labels: {{- toYaml (merge (dict "severity" "critical") $a.alertLabels) | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: the wallet has less than {{ $a.walletRunwayHours }} h of gas"
          description: "At the gas spend of the last {{ $a.walletSpendWindow }}, the keeper account's balance ({{ "{{" }} $value {{ "}}" }} wei) runs out in less than {{ $a.walletRunwayHours }} hours. Fund the account."
      {{- if ne (toString $a.walletMinBalanceWei) "0" }}
      - alert: WhitePayWalletBalanceLow
        expr: max by (namespace, keeper) (whitepay_wallet_balance_wei{ {{- $sel -}} }) < {{ $a.walletMinBalanceWei }}
        for: {{ $a.for }}
        labels: {{- toYaml (merge (dict "severity" "critical") $a.alertLabels) | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: the wallet is below {{ $a.walletMinBalanceWei }} wei"
          description: "The keeper account's balance is {{ "{{" }} $value {{ "}}" }} wei. Fund the account."
      {{- end }}
      - alert: WhitePayIngestLag
        expr: max by (namespace, keeper) (whitepay_store_ingest_block_lag{ {{- $sel -}} }) > {{ $a.ingestLagBlocks }}
        for: {{ $a.for }}
        labels: {{- toYaml $labels | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: challenge records ingest is {{ "{{" }} $value {{ "}}" }} blocks behind"
          description: "The challenge-store's newest ingested record trails the chain head by more than {{ $a.ingestLagBlocks }} blocks: st computed now misses records."
      - alert: WhitePayFailedChallengesJump
        expr: |
          (
            sum by (namespace, keeper) (rate(whitepay_challenges_total{ {{- $sel -}} ,verdict!="ok"}[10m]))
              / sum by (namespace, keeper) (rate(whitepay_challenges_total{ {{- $sel -}} }[10m]))
          ) > {{ $a.failedChallengesShare }}
          and
          (
            sum by (namespace, keeper) (rate(whitepay_challenges_total{ {{- $sel -}} ,verdict!="ok"}[10m]))
              / sum by (namespace, keeper) (rate(whitepay_challenges_total{ {{- $sel -}} }[10m]))
          ) > {{ $a.failedChallengesJump }} * (
            (sum by (namespace, keeper) (rate(whitepay_challenges_total{ {{- $sel -}} ,verdict!="ok"}[6h] offset 10m)) or sum by (namespace, keeper) (rate(whitepay_challenges_total{ {{- $sel -}} }[6h] offset 10m)) * 0)
              / sum by (namespace, keeper) (rate(whitepay_challenges_total{ {{- $sel -}} }[6h] offset 10m))
          )
        for: {{ $a.for }}
        labels: {{- toYaml $labels | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: failed challenges jumped"
          description: "{{ "{{" }} $value | humanizePercentage {{ "}}" }} of the challenges of the last 10 minutes failed, more than {{ $a.failedChallengesJump }} times the share of the 6 hours before: providers or the challenger's network are failing."
      - alert: WhitePaySenderLockLost
        expr: sum by (namespace, keeper) (whitepay_sender_lock_held{ {{- $sel -}} }) == 0
        for: {{ $a.for }}
        labels: {{- toYaml (merge (dict "severity" "critical") $a.alertLabels) | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: no chain-submitter replica holds the sender lock"
          description: "No replica sends this keeper's transactions: its payments wait in the outbox."
      - alert: WhitePaySenderLockFlapping
        expr: sum by (namespace, keeper) (changes(whitepay_sender_lock_held{ {{- $sel -}} }[15m])) > {{ $a.senderLockChanges }}
        labels: {{- toYaml $labels | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: the sender lock is flapping"
          description: "The sender lock changed hands {{ "{{" }} $value {{ "}}" }} times in 15 minutes (Redis latency, or replicas that stall past the lock's TTL)."
      - alert: WhitePayPeersUnreachable
        expr: |
          sum by (namespace, keeper) (increase(whitepay_round_replies_total{ {{- $sel -}} ,outcome="no_answer"}[10m]))
            > {{ $a.peerNoAnswerShare }} * sum by (namespace, keeper) (increase(whitepay_round_replies_total{ {{- $sel -}} }[10m]))
        for: {{ $a.for }}
        labels: {{- toYaml $labels | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: peers do not answer its rounds"
          description: "More than {{ $a.peerNoAnswerShare }} of the answers this keeper's rounds asked for in 10 minutes never came (peers unreachable or past their deadline, by code: see whitepay_round_replies_total)."
      - alert: WhitePayBroadcastLagging
        expr: max by (namespace, keeper, peer) (whitepay_peer_broadcast_lag_blocks{ {{- $sel -}} }) > {{ .Values.services.consensusCoordinator.broadcast.lagMaxBlocks }}
        for: {{ $a.for }}
        labels: {{- toYaml $labels | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: its record broadcast to peer {{ "{{" }} $labels.peer {{ "}}" }} is {{ "{{" }} $value {{ "}}" }} blocks behind"
          description: "The oldest own record peer {{ "{{" }} $labels.peer {{ "}}" }} has not taken trails the head by more than {{ .Values.services.consensusCoordinator.broadcast.lagMaxBlocks }} blocks (the coordinator's /readyz reports check broadcast degraded). That peer may count this keeper idle for lack of its records. See whitepay_peer_record_pushes_total{outcome} (deadline_exceeded: the peer's challenge-store is slow; unavailable: unreachable) and the coordinator's warn lines naming the peer."
      - alert: WhitePayKeeperCountedIdle
        expr: sum by (namespace, keeper) (increase(whitepay_payments_counted_idle_total{ {{- $sel -}} }[15m])) > 0
        labels: {{- toYaml $labels | nindent 10 }}
        annotations:
          summary: "Keeper {{ .Values.keeperId }}: counted idle, not paid its share"
          description: "In 15 minutes {{ "{{" }} $value {{ "}}" }} confirmed payments counted this keeper idle (SPEC 3 item 5): no other keeper held a verified record of it for those intervals, so it was not paid for them. Check its challenger (running, reaching the providers) and its record broadcast (whitepay_peer_records_forwarded_total); GET /v1/idle on the coordinator names the providers and intervals it saw proposed."
{{- end -}}
