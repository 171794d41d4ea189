#!/usr/bin/env bash
# Starts one org's Fabric CA on 127.0.0.1 and enrolls the org's node and users into the layout up.sh uses:
#   organizations/<org>/{msp, tlsca.pem, peers/peer0 | orderers/orderer0, users/<user>/msp}
# Members: admin (admin), user1 and user2 (member), executor1 (executor), validator1 (validator); the role
# rides in the enrollment certificate as the attribute `role` (--id.attrs role=<role>:ecert), which the
# chaincode reads with ctx.clientIdentity.getAttributeValue('role').
# Usage: ca-enroll.sh ORG INDEX      e.g. ca-enroll.sh Org1 1  (ORG "Orderer" with INDEX 0: the orderer org)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/nodes.sh
source "$(dirname "${BASH_SOURCE[0]}")/nodes.sh"

[[ $# -eq 2 ]] || die "usage: ca-enroll.sh ORG INDEX (e.g. ca-enroll.sh Org1 1, or ca-enroll.sh Orderer 0)"
ORG="$1"
INDEX="$2"
[[ "$ORG" =~ ^[A-Za-z][A-Za-z0-9]*$ ]] || die "org name '$ORG' must be letters and digits, starting with a letter"
[[ "$INDEX" =~ ^[0-9]+$ ]] || die "org index '$INDEX' must be a number"
require_bins fabric-ca-server fabric-ca-client

LOWER="$(lower "$ORG")"
if [[ "$INDEX" == 0 ]]; then
  DIR="$ORDERER_DIR"
  CA_CONFIG_NAME=ordererorg
else
  DIR="$(org_dir "$ORG")"
  CA_CONFIG_NAME="$LOWER"
fi
CA_NAME="ca-$CA_CONFIG_NAME"
CA_HOME="$DIR/ca"
PORT="$(ca_port "$INDEX")"
CA_URL_HOST="127.0.0.1:$PORT"
mkdir -p "$CA_HOME/secrets"
chmod 700 "$CA_HOME/secrets"

secret_of() {
  local file="$CA_HOME/secrets/$1"
  [[ -f "$file" ]] || (umask 077 && random_secret >"$file")
  cat "$file"
}

REGISTRAR_SECRET="$(secret_of registrar)"
# The server's copy of the shipped config, with the registrar's secret in place of its placeholder: the server
# ignores -b once a config file exists. A member org admitted later (add-org.sh) has no shipped config: derive
# it from Org1's, renaming the org.
if [[ ! -f "$CA_HOME/fabric-ca-server-config.yaml" ]]; then
  shipped="$FABRIC_ASSETS/config/fabric-ca/$CA_CONFIG_NAME/fabric-ca-server-config.yaml"
  [[ -f "$shipped" ]] || shipped="$FABRIC_ASSETS/config/fabric-ca/org1/fabric-ca-server-config.yaml"
  (umask 077 && sed -e "s/org1/$CA_CONFIG_NAME/g" -e "s/@REGISTRAR_SECRET@/$REGISTRAR_SECRET/" "$shipped" \
    >"$CA_HOME/fabric-ca-server-config.yaml")
fi

start_ca "$ORG" "$INDEX"
# The CA writes its self-signed certificate once it is up; the port can open a moment before that.
for _ in $(seq 1 40); do
  [[ -s "$CA_HOME/ca-cert.pem" ]] && break
  sleep 0.25
done
[[ -s "$CA_HOME/ca-cert.pem" ]] || die "the CA did not write $CA_HOME/ca-cert.pem; see $LOG_DIR/ca-$CA_CONFIG_NAME.log"

export FABRIC_CA_CLIENT_HOME="$CA_HOME/client"
fabric-ca-client enroll -u "http://registrar:$REGISTRAR_SECRET@$CA_URL_HOST" --caname "$CA_NAME" \
  -M "$CA_HOME/registrar/msp" >>"$LOG_DIR/ca-$CA_CONFIG_NAME-client.log" 2>&1 ||
  die "cannot enroll the registrar of $CA_NAME; see $LOG_DIR/ca-$CA_CONFIG_NAME-client.log"

# Registers NAME once (a second run finds it registered and keeps its secret).
register() {
  local name="$1" type="$2" attrs="${3:-}" secret
  secret="$(secret_of "$name")"
  if fabric-ca-client identity list --id "$name" --caname "$CA_NAME" -u "http://$CA_URL_HOST" \
    -M "$CA_HOME/registrar/msp" >/dev/null 2>&1; then
    return 0
  fi
  local args=(register --caname "$CA_NAME" -u "http://$CA_URL_HOST" -M "$CA_HOME/registrar/msp"
    --id.name "$name" --id.secret "$secret" --id.type "$type" --id.affiliation "$CA_CONFIG_NAME.decenter")
  [[ -n "$attrs" ]] && args+=(--id.attrs "$attrs")
  fabric-ca-client "${args[@]}" >>"$LOG_DIR/ca-$CA_CONFIG_NAME-client.log" 2>&1 ||
    die "cannot register $name with $CA_NAME; see $LOG_DIR/ca-$CA_CONFIG_NAME-client.log"
}

# NodeOUs: the OU the CA stamps from the identity type decides client, peer, admin or orderer.
write_node_ous() {
  cat >"$1/config.yaml" <<'YAML'
NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/ca.pem
    OrganizationalUnitIdentifier: orderer
YAML
}

# Enrolls NAME into MSP_DIR with stable file names: signcerts/cert.pem, keystore/key.pem, cacerts/ca.pem.
enroll() {
  local name="$1" msp="$2" profile="${3:-}" secret
  secret="$(secret_of "$name")"
  rm -rf "$msp"
  local args=(enroll -u "http://$name:$secret@$CA_URL_HOST" --caname "$CA_NAME" -M "$msp"
    --csr.hosts "127.0.0.1,localhost,$name.$CA_CONFIG_NAME.decenter.local")
  [[ -n "$profile" ]] && args+=(--enrollment.profile "$profile")
  fabric-ca-client "${args[@]}" >>"$LOG_DIR/ca-$CA_CONFIG_NAME-client.log" 2>&1 ||
    die "cannot enroll $name with $CA_NAME; see $LOG_DIR/ca-$CA_CONFIG_NAME-client.log"
  local key
  key="$(find "$msp/keystore" -type f | head -n 1)"
  mv "$key" "$msp/keystore/key.pem.tmp" && find "$msp/keystore" -type f ! -name key.pem.tmp -delete
  mv "$msp/keystore/key.pem.tmp" "$msp/keystore/key.pem"
  find "$msp/signcerts" -type f -exec mv {} "$msp/signcerts/cert.pem.tmp" \;
  mv "$msp/signcerts/cert.pem.tmp" "$msp/signcerts/cert.pem"
  rm -rf "$msp/cacerts" "$msp/tlscacerts" "$msp/intermediatecerts" "$msp/tlsintermediatecerts"
  mkdir -p "$msp/cacerts"
  cp "$CA_HOME/ca-cert.pem" "$msp/cacerts/ca.pem"
  write_node_ous "$msp"
}

# A node (peer or orderer): an MSP for signing and a TLS key pair from the same CA's tls profile.
enroll_node() {
  local name="$1" node_dir="$2"
  enroll "$name" "$node_dir/msp"
  enroll "$name" "$node_dir/tls-msp" tls
  mkdir -p "$node_dir/tls"
  cp "$node_dir/tls-msp/signcerts/cert.pem" "$node_dir/tls/server.crt"
  cp "$node_dir/tls-msp/keystore/key.pem" "$node_dir/tls/server.key"
  cp "$CA_HOME/ca-cert.pem" "$node_dir/tls/ca.crt"
  rm -rf "$node_dir/tls-msp"
}

# The org's channel MSP: its CA as identity root and TLS root, with the NodeOU classification.
mkdir -p "$DIR/msp/cacerts" "$DIR/msp/tlscacerts"
cp "$CA_HOME/ca-cert.pem" "$DIR/msp/cacerts/ca.pem"
cp "$CA_HOME/ca-cert.pem" "$DIR/msp/tlscacerts/ca.pem"
cp "$CA_HOME/ca-cert.pem" "$DIR/tlsca.pem"
write_node_ous "$DIR/msp"

if [[ "$INDEX" == 0 ]]; then
  register orderer0 orderer
  register admin admin
  enroll_node orderer0 "$DIR/orderers/orderer0"
  enroll admin "$DIR/users/admin/msp"
  # osnadmin authenticates with a TLS client certificate from this CA.
  enroll admin "$DIR/users/admin/tls" tls
else
  register peer0 peer
  register admin admin 'role=admin:ecert'
  register user1 client 'role=member:ecert'
  register user2 client 'role=member:ecert'
  register executor1 client 'role=executor:ecert'
  register validator1 client 'role=validator:ecert'
  enroll_node peer0 "$DIR/peers/peer0"
  for user in admin user1 user2 executor1 validator1; do
    enroll "$user" "$DIR/users/$user/msp"
  done
fi
log "enrolled the identities of $ORG with $CA_NAME on 127.0.0.1:$PORT"
