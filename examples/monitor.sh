#!/usr/bin/env bash
# Start a background import and watch it until it ends; exit 0 only if it completed with no
# item errors (1 otherwise, 2 if it could not be started).
#   WSYNC_CONFIG=/etc/wsync/wsync.toml FEED=wholesaler ./monitor.sh
# Optional: WSYNC (the wsync command), POLL_SECONDS (default 5).
set -euo pipefail

: "${FEED:?set FEED to a feed name from wsync.toml (or a feed path/URL)}"
WSYNC="${WSYNC:-wsync}"
POLL_SECONDS="${POLL_SECONDS:-5}"
# wsync reads WSYNC_CONFIG itself; pass it explicitly too so the command line says which file.
config_args=()
if [[ -n "${WSYNC_CONFIG:-}" ]]; then
  config_args=(--config "$WSYNC_CONFIG")
fi

if ! job_id="$("$WSYNC" "${config_args[@]}" import "$FEED" --background --json | jq -r '.job_id // empty')" \
    || [[ -z "$job_id" ]]; then
  echo "monitor: the import could not be started (see the message above)" >&2
  exit 2
fi
echo "monitor: job $job_id started for feed $FEED" >&2

while :; do
  doc="$("$WSYNC" "${config_args[@]}" status "$job_id" --json)"
  status="$(jq -r '.job.status' <<<"$doc")"
  case "$status" in
    completed|failed|cancelled) break ;;
  esac
  echo "monitor: job $job_id $status, $(jq -r '.job.progress' <<<"$doc")%," \
       "$(jq -r '.job.total_processed' <<<"$doc") processed" >&2
  sleep "$POLL_SECONDS"
done

jq -r '.job | "job \(.id) \(.status): processed \(.total_processed), created \(.total_created), updated \(.total_updated), errors \(.total_errors)"' <<<"$doc"
jq -r '.job.error_messages[]' <<<"$doc" >&2
jq -r '.job.errors[] | "  \(.sku // "-") [\(.stage)] \(.message)"' <<<"$doc" >&2

if [[ "$status" == "completed" && "$(jq -r '.job.total_errors' <<<"$doc")" == "0" ]]; then
  exit 0
fi
exit 1
