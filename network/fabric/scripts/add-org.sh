#!/usr/bin/env bash
# Admits a new member org into the running network's channel, keeping all state:
#   enroll the org's identities with its own Fabric CA (ca-enroll.sh) -> its channel definition
#   (configtxgen -printOrg) -> fetch the channel config -> add the org and its anchor peer -> compute the update
#   (configtxlator compute_update) -> sign it by the admins of a majority of the current member orgs (the
#   channel's Application/Admins policy is MAJORITY Admins) -> submit it -> start the org's peer and join it ->
#   redefine the chaincode so the majority endorsement policy includes the new org -> rewrite network.json.
# A real consortium runs the same steps apart: the new org sends its definition (org.json), each existing
# admin signs the update envelope with `peer channel signconfigtx`, and the last one submits it.
# Usage: add-org.sh NAME       e.g. add-org.sh Org4 (MSP ID Org4MSP)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"

[[ $# -eq 1 ]] || die "usage: add-org.sh NAME (e.g. add-org.sh Org4)"
NAME="$1"
[[ "$NAME" =~ ^[A-Z][A-Za-z0-9]{0,30}$ ]] ||
  die "org name '$NAME' must start with a capital letter and hold only letters and digits (e.g. Org4)"
[[ -f "$ORG_LIST" ]] || die "no network in $FABRIC_HOME; run network/fabric/scripts/up.sh first"
if org_index "$NAME" >/dev/null; then die "$NAME is already a member org"; fi
[[ "$(cat "$FABRIC_HOME/crypto.done")" == ca ]] ||
  die "this network was generated with cryptogen; add-org.sh enrolls the new org with Fabric CA: bring the network up with FABRIC_CRYPTO=ca"
require_bins peer configtxgen configtxlator fabric-ca-server fabric-ca-client node
resolve_fabric_cfg
resolve_ccaas_builder
is_running orderer0 || die "the orderer is not running; run network/fabric/scripts/up.sh first"

mapfile -t ORGS < <(member_orgs)
mapfile -t ORDERER < <(orderer_args)
INDEX=0
while read -r _name index; do
  if ((index > INDEX)); then INDEX="$index"; fi
done <"$ORG_LIST"
INDEX=$((INDEX + 1))
MSP_ID="${NAME}MSP"
WORK="$FABRIC_HOME/channel/add-$(lower "$NAME")"
rm -rf "$WORK"
mkdir -p "$WORK"

# 1. The new org's identities, from its own CA.
"$FABRIC_ASSETS/scripts/ca-enroll.sh" "$NAME" "$INDEX"

# 2. Its channel definition: the same policies as the founding orgs (config/configtx.yaml).
cat >"$WORK/configtx.yaml" <<YAML
Organizations:
  - Name: $MSP_ID
    ID: $MSP_ID
    MSPDir: ../../organizations/$(lower "$NAME")/msp
    Policies:
      Readers:
        Type: Signature
        Rule: "OR('$MSP_ID.admin', '$MSP_ID.peer', '$MSP_ID.client')"
      Writers:
        Type: Signature
        Rule: "OR('$MSP_ID.admin', '$MSP_ID.client')"
      Admins:
        Type: Signature
        Rule: "OR('$MSP_ID.admin')"
      Endorsement:
        Type: Signature
        Rule: "OR('$MSP_ID.peer')"
YAML
configtxgen -configPath "$WORK" -printOrg "$MSP_ID" >"$WORK/org.json" 2>>"$LOG_DIR/cli.log" ||
  die "configtxgen could not print the definition of $MSP_ID; see $LOG_DIR/cli.log"

# 3. The current channel configuration, as JSON.
use_org_admin "${ORGS[0]}"
peer channel fetch config "$WORK/config_block.pb" "${ORDERER[@]}" -c "$CHANNEL" >>"$LOG_DIR/cli.log" 2>&1 ||
  die "cannot fetch the configuration of $CHANNEL; see $LOG_DIR/cli.log"
configtxlator proto_decode --input "$WORK/config_block.pb" --type common.Block --output "$WORK/config_block.json"

# 4. The same configuration with the new org (and its anchor peer) in the Application group.
node "$FABRIC_ASSETS/scripts/config-update.cjs" add-org "$WORK" "$MSP_ID" 127.0.0.1 "$(peer_port "$INDEX")"
configtxlator proto_encode --input "$WORK/config.json" --type common.Config --output "$WORK/config.pb"
configtxlator proto_encode --input "$WORK/modified_config.json" --type common.Config --output "$WORK/modified_config.pb"
configtxlator compute_update --channel_id "$CHANNEL" --original "$WORK/config.pb" \
  --updated "$WORK/modified_config.pb" --output "$WORK/update.pb"
configtxlator proto_decode --input "$WORK/update.pb" --type common.ConfigUpdate --output "$WORK/update.json"
node "$FABRIC_ASSETS/scripts/config-update.cjs" envelope "$WORK" "$CHANNEL"
configtxlator proto_encode --input "$WORK/update_envelope.json" --type common.Envelope \
  --output "$WORK/update_envelope.pb"

# 5. Signatures of a majority of the current member orgs' admins; the last signer submits the update.
NEED=$((${#ORGS[@]} / 2 + 1))
for ((i = 0; i < NEED - 1; i++)); do
  use_org_admin "${ORGS[$i]}"
  peer channel signconfigtx -f "$WORK/update_envelope.pb" >>"$LOG_DIR/cli.log" 2>&1 ||
    die "the admin of ${ORGS[$i]} could not sign the update; see $LOG_DIR/cli.log"
  log "the admin of ${ORGS[$i]} signed the admission of $NAME"
done
use_org_admin "${ORGS[$((NEED - 1))]}"
peer channel update -f "$WORK/update_envelope.pb" -c "$CHANNEL" "${ORDERER[@]}" >>"$LOG_DIR/cli.log" 2>&1 ||
  die "the channel update admitting $NAME was refused; see $LOG_DIR/cli.log"
log "channel $CHANNEL now admits $MSP_ID (signed by $NEED of ${#ORGS[@]} member orgs)"

# 6. The new org's peer joins from the genesis block and catches up from the orderer.
echo "$NAME $INDEX" >>"$ORG_LIST"
start_peer "$NAME"
join_peer "$NAME" "$FABRIC_HOME/channel/$CHANNEL.block"

# 7. The chaincode on the new peer, and a new definition whose majority policy counts the new org.
"$FABRIC_ASSETS/scripts/deploy-chaincode.sh" --upgrade
"$FABRIC_ASSETS/scripts/write-network-json.sh"
log "$NAME is a member of $CHANNEL; its identities are in $FABRIC_HOME/network.json"
