#!/usr/bin/env bash
# Writes $DECENTER_HOME/fabric/network.json, the connection file packages/ledger reads when
# DECENTER_NETWORK=fabric: the gateway peer (FABRIC_GATEWAY_ORG's peer0, Org1 by default), the channel, the
# chaincode and every member org's identities. Paths are relative to the file, so the folder can move.
# Roles: with Fabric CA the certificates carry `role` and network.json says the same; with cryptogen no
# certificate does, so every identity is listed as a member (what the chaincode will treat it as).
# Usage: write-network-json.sh
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"

[[ -f "$ORG_LIST" ]] || die "no network in $FABRIC_HOME; run network/fabric/scripts/up.sh first"
GATEWAY_ORG="${FABRIC_GATEWAY_ORG:-Org1}"
gateway_index="$(org_index "$GATEWAY_ORG")" || die "FABRIC_GATEWAY_ORG $GATEWAY_ORG is not a member org"
crypto="$(cat "$FABRIC_HOME/crypto.done")"

role_of() {
  if [[ "$crypto" != ca ]]; then
    echo member
    return 0
  fi
  case "$1" in
    admin) echo admin ;;
    executor1) echo executor ;;
    validator1) echo validator ;;
    *) echo member ;;
  esac
}

entries=()
while read -r org; do
  rel="organizations/$(lower "$org")"
  for user in admin user1 user2 executor1 validator1; do
    [[ -f "$FABRIC_HOME/$rel/users/$user/msp/signcerts/cert.pem" ]] || continue
    entries+=("$(printf '    { "org": "%s", "mspId": "%sMSP", "user": "%s", "role": "%s",\n      "cert": "%s", "key": "%s" }' \
      "$org" "$org" "$user" "$(role_of "$user")" \
      "$rel/users/$user/msp/signcerts/cert.pem" "$rel/users/$user/msp/keystore/key.pem")")
  done
done < <(member_orgs)

{
  printf '{\n'
  printf '  "peer": {\n    "endpoint": "127.0.0.1:%s",\n' "$(peer_port "$gateway_index")"
  printf '    "tlsRootCert": "organizations/%s/tlsca.pem",\n' "$(lower "$GATEWAY_ORG")"
  printf '    "hostAlias": "peer0.%s.decenter.local"\n  },\n' "$(lower "$GATEWAY_ORG")"
  printf '  "channel": "%s",\n  "chaincode": "%s",\n  "identities": [\n' "$CHANNEL" "$CHAINCODE_NAME"
  last=$((${#entries[@]} - 1))
  for i in "${!entries[@]}"; do
    if ((i < last)); then printf '%s,\n' "${entries[$i]}"; else printf '%s\n' "${entries[$i]}"; fi
  done
  printf '  ]\n}\n'
} >"$FABRIC_HOME/network.json.tmp"
mv "$FABRIC_HOME/network.json.tmp" "$FABRIC_HOME/network.json"
log "wrote $FABRIC_HOME/network.json (gateway: peer0 of $GATEWAY_ORG)"
