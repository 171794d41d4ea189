#!/usr/bin/env bash
# Generates the consortium's crypto material with cryptogen (no CA process) and lays it out as ca-enroll.sh
# does, so the rest of up.sh does not care which was used. No certificate carries a `role` attribute: every
# identity counts as a `member` in the chaincode (see config/crypto-config.yaml).
# Usage: cryptogen.sh
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_bins cryptogen

OUT="$FABRIC_HOME/cryptogen"
rm -rf "$OUT"
cryptogen generate --config="$FABRIC_ASSETS/config/crypto-config.yaml" --output="$OUT" >/dev/null ||
  die "cryptogen failed on $FABRIC_ASSETS/config/crypto-config.yaml"

# Copies one identity's MSP with stable file names (signcerts/cert.pem, keystore/key.pem).
copy_msp() {
  local from="$1" to="$2"
  rm -rf "$to"
  mkdir -p "$(dirname "$to")"
  cp -r "$from" "$to"
  local cert key
  cert="$(find "$to/signcerts" -type f | head -n 1)"
  key="$(find "$to/keystore" -type f | head -n 1)"
  [[ "$cert" == "$to/signcerts/cert.pem" ]] || mv "$cert" "$to/signcerts/cert.pem"
  [[ "$key" == "$to/keystore/key.pem" ]] || mv "$key" "$to/keystore/key.pem"
}

# A TLS client pair laid out as an MSP folder, the shape osnadmin's arguments are taken from.
copy_tls_pair() {
  local from="$1" to="$2"
  rm -rf "$to"
  mkdir -p "$to/signcerts" "$to/keystore"
  cp "$from/client.crt" "$to/signcerts/cert.pem"
  cp "$from/client.key" "$to/keystore/key.pem"
}

orderer_src="$OUT/ordererOrganizations/ordererorg.decenter.local"
rm -rf "$ORDERER_DIR"
mkdir -p "$ORDERER_DIR/orderers/orderer0"
cp -r "$orderer_src/msp" "$ORDERER_DIR/msp"
cp "$orderer_src"/tlsca/*.pem "$ORDERER_DIR/tlsca.pem"
copy_msp "$orderer_src/orderers/orderer0.ordererorg.decenter.local/msp" "$ORDERER_DIR/orderers/orderer0/msp"
cp -r "$orderer_src/orderers/orderer0.ordererorg.decenter.local/tls" "$ORDERER_DIR/orderers/orderer0/tls"
copy_msp "$orderer_src/users/Admin@ordererorg.decenter.local/msp" "$ORDERER_DIR/users/admin/msp"
copy_tls_pair "$orderer_src/users/Admin@ordererorg.decenter.local/tls" "$ORDERER_DIR/users/admin/tls"

for org in Org1 Org2 Org3; do
  lower_org="$(lower "$org")"
  src="$OUT/peerOrganizations/$lower_org.decenter.local"
  dir="$(org_dir "$org")"
  rm -rf "$dir"
  mkdir -p "$dir/peers/peer0"
  cp -r "$src/msp" "$dir/msp"
  cp "$src"/tlsca/*.pem "$dir/tlsca.pem"
  copy_msp "$src/peers/peer0.$lower_org.decenter.local/msp" "$dir/peers/peer0/msp"
  cp -r "$src/peers/peer0.$lower_org.decenter.local/tls" "$dir/peers/peer0/tls"
  copy_msp "$src/users/Admin@$lower_org.decenter.local/msp" "$dir/users/admin/msp"
  copy_msp "$src/users/User1@$lower_org.decenter.local/msp" "$dir/users/user1/msp"
  copy_msp "$src/users/User2@$lower_org.decenter.local/msp" "$dir/users/user2/msp"
  copy_msp "$src/users/User3@$lower_org.decenter.local/msp" "$dir/users/executor1/msp"
  copy_msp "$src/users/User4@$lower_org.decenter.local/msp" "$dir/users/validator1/msp"
done
log "generated the consortium's crypto material with cryptogen (no role attributes)"
