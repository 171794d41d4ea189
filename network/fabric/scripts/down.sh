#!/usr/bin/env bash
# Stops what up.sh and add-org.sh started, by their pid files only (never by process name), and keeps all
# state: up.sh starts the same network again. Pass --purge to delete $DECENTER_HOME/fabric afterwards.
# Usage: down.sh [--purge]
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PURGE=false
case "${1:-}" in
  '') ;;
  --purge) PURGE=true ;;
  *) die "usage: down.sh [--purge]" ;;
esac

stop_pid_file() {
  local file="$1" name pid
  name="$(basename "$file" .pid)"
  pid="$(cat "$file")"
  if [[ ! "$pid" =~ ^[0-9]+$ ]]; then
    log "ignoring $file: it does not hold a pid"
    rm -f "$file"
    return 0
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < 40)); do
      sleep 0.25
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$file"
}

if [[ -d "$PID_DIR" ]]; then
  # Clients first (chaincode servers), then peers, then the orderer and the CAs.
  for pattern in 'chaincode-*' 'peer0-*' 'orderer*' 'ca-*'; do
    for file in "$PID_DIR"/$pattern.pid; do
      if [[ -e "$file" ]]; then stop_pid_file "$file"; fi
    done
  done
fi
if [[ "$PURGE" == true ]]; then
  rm -rf "$FABRIC_HOME"
  log "deleted $FABRIC_HOME"
fi
log "the network is down"
