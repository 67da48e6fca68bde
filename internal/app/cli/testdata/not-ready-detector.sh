#!/usr/bin/env bash
# A crude detector, as a detection-tool team might start with: it raises
# kube-prometheus's KubePodNotReady for every pod that is not Ready, in
# every namespace, every 2 seconds. EXTRA_ALERT, when set, is the name of
# one more alert it raises first (with no labels a scenario maps to a
# cause).
set -u
post() {
  curl -sf -X POST -H "Authorization: Bearer $GAMEDAY_TOKEN" -H 'Content-Type: application/json' \
    --data @- "$GAMEDAY_ALERTMANAGER_URL" >/dev/null
}
while true; do
  if [ -n "${EXTRA_ALERT:-}" ]; then
    printf '{"version":"4","status":"firing","receiver":"not-ready","alerts":[{"status":"firing","labels":{"alertname":"%s","severity":"warning"}}]}' "$EXTRA_ALERT" | post
  fi
  kubectl get pods -A --no-headers 2>/dev/null |
    awk '{ split($3, r, "/"); if (r[1] != r[2]) print $1, $2 }' |
    while read -r ns pod; do
      printf '{"version":"4","status":"firing","receiver":"not-ready","alerts":[{"status":"firing","labels":{"alertname":"KubePodNotReady","namespace":"%s","pod":"%s","severity":"warning"}}]}' "$ns" "$pod" | post
    done
  sleep 2
done
