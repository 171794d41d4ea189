#!/usr/bin/env bash
# Brings a local Hyperledger Fabric 2.5 network for DeCenter up from the Fabric binaries on the PATH:
#   crypto (Fabric CA, or cryptogen) -> channel genesis block (configtxgen) -> one Raft orderer joined to
#   `decenter` with osnadmin -> one peer per org joined to the channel -> the chaincode as a service
#   (deploy-chaincode.sh) -> $DECENTER_HOME/fabric/network.json for packages/ledger.
# Everything listens on 127.0.0.1; logs, pid files, crypto and ledgers live under $DECENTER_HOME/fabric.
# Running it again restarts what is stopped and keeps all state; down.sh stops it.
#
# Environment: DECENTER_HOME (default <repo>/.decenter), FABRIC_PORT_BASE (default 7100: orderer 7150,
# peers 7251/7351/7451, their chaincode servers 7259/7359/7459, CAs 7154/7254/7354/7454),
# FABRIC_CRYPTO (ca | cryptogen; default ca when fabric-ca-server is on the PATH), FABRIC_CFG_PATH (the
# release's config/ with core.yaml and orderer.yaml), FABRIC_CCAAS_BUILDER (the release's builders/ccaas).
# Usage: up.sh
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"

[[ $# -eq 0 ]] || die "usage: up.sh (configure it with environment variables; see the header of this script)"
if [[ ! "$PORT_BASE" =~ ^[0-9]+$ ]] || ((PORT_BASE < 1024 || PORT_BASE > 64000)); then
  die "FABRIC_PORT_BASE '$PORT_BASE' must be a number between 1024 and 64000"
fi
require_bins peer orderer configtxgen osnadmin

CRYPTO="${FABRIC_CRYPTO:-}"
if [[ -f "$FABRIC_HOME/crypto.done" ]]; then
  CRYPTO="$(cat "$FABRIC_HOME/crypto.done")"
elif [[ -z "$CRYPTO" ]]; then
  if command -v fabric-ca-server >/dev/null 2>&1 && command -v fabric-ca-client >/dev/null 2>&1; then
    CRYPTO=ca
  elif command -v cryptogen >/dev/null 2>&1; then
    CRYPTO=cryptogen
    log "fabric-ca-server is not on the PATH: using cryptogen; no identity will carry a role attribute"
  else
    die "neither fabric-ca-server/fabric-ca-client nor cryptogen is on the PATH; put the Fabric CA binaries (or cryptogen) on the PATH"
  fi
fi
case "$CRYPTO" in
  ca) require_bins fabric-ca-server fabric-ca-client ;;
  cryptogen) require_bins cryptogen ;;
  *) die "FABRIC_CRYPTO is '$CRYPTO'; expected ca or cryptogen" ;;
esac
resolve_fabric_cfg
resolve_ccaas_builder
mkdir -p "$FABRIC_HOME"/{config,channel,chaincode,data} "$LOG_DIR" "$PID_DIR"
[[ -f "$FABRIC_HOME/port-base" ]] || echo "$PORT_BASE" >"$FABRIC_HOME/port-base"

# 1. Identities. Fabric CA enrolls role attributes; its CAs keep running for later enrollments and add-org.sh.
if [[ ! -f "$FABRIC_HOME/crypto.done" ]]; then
  if [[ "$CRYPTO" == ca ]]; then
    "$FABRIC_ASSETS/scripts/ca-enroll.sh" Orderer 0
    for i in 1 2 3; do "$FABRIC_ASSETS/scripts/ca-enroll.sh" "Org$i" "$i"; done
  else
    "$FABRIC_ASSETS/scripts/cryptogen.sh"
  fi
  printf 'Org1 1\nOrg2 2\nOrg3 3\n' >"$ORG_LIST"
  echo "$CRYPTO" >"$FABRIC_HOME/crypto.done"
elif [[ "$CRYPTO" == ca ]]; then
  # A restart: the CAs come back too, with their databases, for later enrollments and add-org.sh.
  start_ca Orderer 0
  while read -r org index; do start_ca "$org" "$index"; done <"$ORG_LIST"
fi

# 2. The channel's genesis block, from configtx.yaml with this network's ports.
BLOCK="$FABRIC_HOME/channel/$CHANNEL.block"
if [[ ! -f "$BLOCK" ]]; then
  render_configtx "$FABRIC_HOME/config/configtx.yaml"
  configtxgen -configPath "$FABRIC_HOME/config" -profile DecenterChannel -channelID "$CHANNEL" \
    -outputBlock "$BLOCK.tmp" >>"$LOG_DIR/cli.log" 2>&1 ||
    die "configtxgen could not build the genesis block of $CHANNEL; see $LOG_DIR/cli.log"
  mv "$BLOCK.tmp" "$BLOCK"
  log "built the genesis block of channel $CHANNEL"
fi

# 3. The ordering service: one Raft node, joined to the channel through its admin endpoint.
start_orderer
join_orderer "$BLOCK"
wait_raft_leader
log "the orderer's Raft node has a leader for $CHANNEL"

# 4. One peer per member org, each joined to the channel.
mapfile -t ORGS < <(member_orgs)
for org in "${ORGS[@]}"; do start_peer "$org"; done
for org in "${ORGS[@]}"; do join_peer "$org" "$BLOCK"; done

# 5. The chaincode, as a service run by each org; 6. the connection file for the ledger client.
"$FABRIC_ASSETS/scripts/deploy-chaincode.sh"
"$FABRIC_ASSETS/scripts/write-network-json.sh"
log "the network is up; connect with DECENTER_NETWORK=fabric DECENTER_HOME=$DECENTER_HOME"
