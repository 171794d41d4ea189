#!/usr/bin/env bash
# Deploys the DeCenter chaincode as a service on every member org's peer:
#   package (package-ccaas.sh) -> each org starts its chaincode server with the package ID -> install on each
#   peer -> approveformyorg per org -> commit once a majority approved.
# The endorsement policy is the chaincode definition's: a majority of the member orgs' peers, i.e.
# OutOf(2,'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer') for the founding three (FABRIC_ENDORSEMENT_POLICY
# overrides it). With --upgrade an already committed definition gets the next sequence, which is how the policy
# grows to include an org that add-org.sh admitted.
# Usage: deploy-chaincode.sh [--upgrade]
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"

UPGRADE=false
case "${1:-}" in
  '') ;;
  --upgrade) UPGRADE=true ;;
  *) die "usage: deploy-chaincode.sh [--upgrade]" ;;
esac
require_bins peer
resolve_fabric_cfg
[[ -f "$ORG_LIST" ]] || die "no network in $FABRIC_HOME; run network/fabric/scripts/up.sh first"
[[ -f "$CHAINCODE_DIR/dist/index.js" ]] ||
  die "the chaincode is not built; run: npm ci --prefix $CHAINCODE_DIR && npm run build --prefix $CHAINCODE_DIR"
[[ -x "$CHAINCODE_DIR/node_modules/.bin/fabric-chaincode-node" ]] ||
  die "the chaincode's dependencies are missing; run: npm ci --prefix $CHAINCODE_DIR"

mapfile -t ORGS < <(member_orgs)
mapfile -t ORDERER < <(orderer_args)

majority_policy() {
  local need=$((${#ORGS[@]} / 2 + 1)) members=() org
  for org in "${ORGS[@]}"; do members+=("'${org}MSP.peer'"); done
  local IFS=,
  echo "OutOf($need,${members[*]})"
}
POLICY="${FABRIC_ENDORSEMENT_POLICY:-$(majority_policy)}"

PACKAGE="$FABRIC_HOME/chaincode/$CHAINCODE_NAME.tar.gz"
LABEL="${CHAINCODE_NAME}_$CHAINCODE_VERSION"
PACKAGE_ID="$("$FABRIC_ASSETS/scripts/package-ccaas.sh" "$PACKAGE" "$LABEL")"
echo "$PACKAGE_ID" >"$FABRIC_HOME/chaincode/package-id"
log "chaincode package $PACKAGE, id $PACKAGE_ID"

for org in "${ORGS[@]}"; do
  start_chaincode_server "$org" "$PACKAGE_ID"
  use_org_admin "$org"
  installed="$(peer lifecycle chaincode queryinstalled 2>>"$LOG_DIR/cli.log" || true)"
  if grep -qF "$PACKAGE_ID" <<<"$installed"; then
    log "the chaincode package is already installed on peer0 of $org"
  else
    peer lifecycle chaincode install "$PACKAGE" >>"$LOG_DIR/cli.log" 2>&1 ||
      die "installing the chaincode on peer0 of $org failed; see $LOG_DIR/cli.log"
    log "installed the chaincode on peer0 of $org"
  fi
done

# The committed sequence of the definition, or nothing when none is committed yet.
committed_sequence() {
  local committed sequence
  use_org_admin "${ORGS[0]}"
  committed="$(peer lifecycle chaincode querycommitted --channelID "$CHANNEL" --name "$CHAINCODE_NAME" \
    --output json 2>/dev/null || true)"
  sequence="$(sed -n 's/.*"sequence": *\([0-9][0-9]*\).*/\1/p' <<<"$committed")"
  echo "${sequence%%$'\n'*}"
}

current="$(committed_sequence)"
if [[ -n "$current" && "$UPGRADE" == false ]]; then
  log "chaincode $CHAINCODE_NAME is already committed on $CHANNEL (sequence $current)"
  exit 0
fi
SEQUENCE=$((${current:-0} + 1))
DEFINITION=(--channelID "$CHANNEL" --name "$CHAINCODE_NAME" --version "$CHAINCODE_VERSION"
  --sequence "$SEQUENCE" --signature-policy "$POLICY")

# The ordering service elects its Raft leader a few seconds after the channel is joined, and a new org's peer
# needs a moment to catch up: retry while they do.
with_retries() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if "$@" >>"$LOG_DIR/cli.log" 2>&1; then return 0; fi
    log "attempt $attempt of $1 failed; retrying"
    sleep 3
  done
  return 1
}

# Approving the same definition twice is refused, so an org that already approved (an earlier run, or an
# attempt whose reply was lost) is skipped.
approve() {
  local org="$1" readiness
  use_org_admin "$org"
  readiness="$(peer lifecycle chaincode checkcommitreadiness "${DEFINITION[@]}" --output json 2>/dev/null || true)"
  if grep -q "\"${org}MSP\": *true" <<<"$readiness"; then return 0; fi
  peer lifecycle chaincode approveformyorg "${ORDERER[@]}" "${DEFINITION[@]}" --package-id "$PACKAGE_ID"
}

# Likewise a commit whose reply was lost must not be sent again.
commit() {
  if [[ "$(committed_sequence)" == "$SEQUENCE" ]]; then return 0; fi
  use_org_admin "${ORGS[0]}"
  peer lifecycle chaincode commit "${ORDERER[@]}" "${DEFINITION[@]}" "${PEERS[@]}"
}

for org in "${ORGS[@]}"; do
  with_retries approve "$org" || die "$org could not approve the chaincode definition; see $LOG_DIR/cli.log"
  log "$org approved $CHAINCODE_NAME sequence $SEQUENCE with policy $POLICY"
done

PEERS=()
for org in "${ORGS[@]}"; do
  index="$(org_index "$org")"
  PEERS+=(--peerAddresses "127.0.0.1:$(peer_port "$index")" --tlsRootCertFiles "$(org_dir "$org")/tlsca.pem")
done
with_retries commit || die "committing the chaincode definition failed; see $LOG_DIR/cli.log"
log "committed $CHAINCODE_NAME sequence $SEQUENCE on $CHANNEL"
