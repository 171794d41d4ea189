#!/usr/bin/env bash
# Starting the orderer, the peers and the chaincode servers. Sourced after lib.sh, never run.
# core.yaml and orderer.yaml come from the Fabric release (FABRIC_CFG_PATH); every setting this network needs
# is overridden through CORE_* and ORDERER_* variables, so nothing listens beyond 127.0.0.1.

start_orderer() {
  local node="$ORDERER_DIR/orderers/orderer0" data="$FABRIC_HOME/data/orderer0"
  mkdir -p "$data"
  start_bg orderer0 env \
    ORDERER_GENERAL_LISTENADDRESS=127.0.0.1 \
    ORDERER_GENERAL_LISTENPORT="$(orderer_port)" \
    ORDERER_GENERAL_LOCALMSPID=OrdererMSP \
    ORDERER_GENERAL_LOCALMSPDIR="$node/msp" \
    ORDERER_GENERAL_TLS_ENABLED=true \
    ORDERER_GENERAL_TLS_CERTIFICATE="$node/tls/server.crt" \
    ORDERER_GENERAL_TLS_PRIVATEKEY="$node/tls/server.key" \
    ORDERER_GENERAL_TLS_ROOTCAS="[$node/tls/ca.crt]" \
    ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE="$node/tls/server.crt" \
    ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY="$node/tls/server.key" \
    ORDERER_GENERAL_CLUSTER_ROOTCAS="[$node/tls/ca.crt]" \
    ORDERER_GENERAL_BOOTSTRAPMETHOD=none \
    ORDERER_CHANNELPARTICIPATION_ENABLED=true \
    ORDERER_ADMIN_LISTENADDRESS="127.0.0.1:$(orderer_admin_port)" \
    ORDERER_ADMIN_TLS_ENABLED=true \
    ORDERER_ADMIN_TLS_CERTIFICATE="$node/tls/server.crt" \
    ORDERER_ADMIN_TLS_PRIVATEKEY="$node/tls/server.key" \
    ORDERER_ADMIN_TLS_ROOTCAS="[$node/tls/ca.crt]" \
    ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true \
    ORDERER_ADMIN_TLS_CLIENTROOTCAS="[$ORDERER_DIR/tlsca.pem]" \
    ORDERER_FILELEDGER_LOCATION="$data/ledger" \
    ORDERER_CONSENSUS_WALDIR="$data/etcdraft/wal" \
    ORDERER_CONSENSUS_SNAPDIR="$data/etcdraft/snapshot" \
    ORDERER_OPERATIONS_LISTENADDRESS="127.0.0.1:$(ops_port 0)" \
    ORDERER_METRICS_PROVIDER=prometheus \
    orderer
  wait_port "$(orderer_port)" orderer0
  wait_port "$(orderer_admin_port)" orderer0
}

# A plain HTTP/1.0 GET through bash's /dev/tcp (curl is not a prerequisite): prints headers and body.
http_get() {
  local port="$1" path="$2"
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
  cat <&3
  exec 3<&-
}

# The orderer orders transactions only once its Raft node knows a leader for the channel, a few seconds after
# it (re)starts; until then the gateway refuses every submit with UNAVAILABLE ("no orderers could successfully
# process transaction"). The leader_changes counter on the operations endpoint counts from the process start.
wait_raft_leader() {
  local tries metrics
  for ((tries = 0; tries < 120; tries++)); do
    metrics="$(http_get "$(ops_port 0)" /metrics 2>/dev/null || true)"
    if grep -Eq "^consensus_etcdraft_leader_changes\{channel=\"$CHANNEL\"\} [1-9]" <<<"$metrics"; then
      return 0
    fi
    sleep 0.5
  done
  die "the orderer has no Raft leader for $CHANNEL after 60 s; see $LOG_DIR/orderer0.log"
}

# osnadmin authenticates with the orderer org admin's TLS client certificate.
osnadmin_args() {
  printf '%s\n' -o "127.0.0.1:$(orderer_admin_port)" \
    --ca-file "$ORDERER_DIR/orderers/orderer0/tls/ca.crt" \
    --client-cert "$ORDERER_DIR/users/admin/tls/signcerts/cert.pem" \
    --client-key "$ORDERER_DIR/users/admin/tls/keystore/key.pem"
}

join_orderer() {
  local block="$1" args
  mapfile -t args < <(osnadmin_args)
  # osnadmin prints the admin API's HTTP status rather than failing on it: read the status line.
  # Captured before grep reads it: with pipefail an early grep exit could fail the pipeline through SIGPIPE.
  local listed
  listed="$(osnadmin channel list "${args[@]}" --channelID "$CHANNEL" 2>/dev/null || true)"
  if grep -q '^Status: 200' <<<"$listed"; then
    log "the orderer already serves channel $CHANNEL"
    return 0
  fi
  local output
  output="$(osnadmin channel join "${args[@]}" --channelID "$CHANNEL" --config-block "$block" 2>&1 || true)"
  printf '%s\n' "$output" >>"$LOG_DIR/cli.log"
  grep -q '^Status: 201' <<<"$output" ||
    die "osnadmin could not join the orderer to $CHANNEL; see $LOG_DIR/cli.log and $LOG_DIR/orderer0.log"
  log "joined the orderer to channel $CHANNEL"
}

# One peer per org. CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG fills {{.ccport}} in the package's connection.json,
# so this peer dials its own org's chaincode server.
start_peer() {
  local org="$1" index dir data port
  index="$(org_index "$org")" || die "unknown org $org"
  dir="$(org_dir "$org")"
  data="$FABRIC_HOME/data/peer0-$(lower "$org")"
  port="$(peer_port "$index")"
  mkdir -p "$data"
  local builders
  builders="[{\"name\": \"ccaas_builder\", \"path\": \"$FABRIC_CCAAS_BUILDER\", \"propagateEnvironment\": [\"CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG\"]}]"
  start_bg "peer0-$(lower "$org")" env \
    CORE_PEER_ID="peer0.$(lower "$org").decenter.local" \
    CORE_PEER_ADDRESS="127.0.0.1:$port" \
    CORE_PEER_LISTENADDRESS="127.0.0.1:$port" \
    CORE_PEER_CHAINCODEADDRESS="127.0.0.1:$(peer_cc_port "$index")" \
    CORE_PEER_CHAINCODELISTENADDRESS="127.0.0.1:$(peer_cc_port "$index")" \
    CORE_PEER_GOSSIP_BOOTSTRAP="127.0.0.1:$port" \
    CORE_PEER_GOSSIP_EXTERNALENDPOINT="127.0.0.1:$port" \
    CORE_PEER_LOCALMSPID="${org}MSP" \
    CORE_PEER_MSPCONFIGPATH="$dir/peers/peer0/msp" \
    CORE_PEER_TLS_ENABLED=true \
    CORE_PEER_TLS_CERT_FILE="$dir/peers/peer0/tls/server.crt" \
    CORE_PEER_TLS_KEY_FILE="$dir/peers/peer0/tls/server.key" \
    CORE_PEER_TLS_ROOTCERT_FILE="$dir/peers/peer0/tls/ca.crt" \
    CORE_PEER_GATEWAY_ENABLED=true \
    CORE_PEER_FILESYSTEMPATH="$data" \
    CORE_LEDGER_SNAPSHOTS_ROOTDIR="$data/snapshots" \
    CORE_OPERATIONS_LISTENADDRESS="127.0.0.1:$(ops_port "$index")" \
    CORE_METRICS_PROVIDER=disabled \
    CORE_CHAINCODE_EXTERNALBUILDERS="$builders" \
    CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG="{\"ccport\": \"$(cc_server_port "$index")\"}" \
    peer node start
  wait_port "$port" "peer0-$(lower "$org")"
}

join_peer() {
  local org="$1" block="$2"
  use_org_admin "$org"
  local channels
  channels="$(peer channel list 2>/dev/null || true)"
  if grep -qx "$CHANNEL" <<<"$channels"; then
    log "peer0 of $org already joined $CHANNEL"
    return 0
  fi
  peer channel join -b "$block" >>"$LOG_DIR/cli.log" 2>&1 ||
    die "peer0 of $org could not join $CHANNEL; see $LOG_DIR/cli.log"
  log "joined peer0 of $org to channel $CHANNEL"
}

# Each org runs the chaincode itself (`npm start` in chaincode/ does the same from CHAINCODE_SERVER_ADDRESS
# and CHAINCODE_ID); exec'ing the server directly makes the pid file name the server process itself.
start_chaincode_server() {
  local org="$1" package_id="$2" index address
  index="$(org_index "$org")" || die "unknown org $org"
  address="127.0.0.1:$(cc_server_port "$index")"
  # CORE_PEER_LOCALMSPID is what ctx.stub.getMspID() answers inside the chaincode: the org running it.
  start_bg "chaincode-$(lower "$org")" env -C "$CHAINCODE_DIR" \
    CHAINCODE_SERVER_ADDRESS="$address" CHAINCODE_ID="$package_id" CORE_PEER_LOCALMSPID="${org}MSP" \
    node_modules/.bin/fabric-chaincode-node server --chaincode-address="$address" --chaincode-id="$package_id"
  wait_port "$(cc_server_port "$index")" "chaincode-$(lower "$org")"
}

# An org's Fabric CA from the configuration ca-enroll.sh wrote under its home (INDEX 0: the orderer org's CA).
start_ca() {
  local org="$1" index="$2" name home
  if [[ "$index" == 0 ]]; then
    name=ordererorg
    home="$ORDERER_DIR/ca"
  else
    name="$(lower "$org")"
    home="$(org_dir "$org")/ca"
  fi
  [[ -f "$home/fabric-ca-server-config.yaml" ]] || die "no CA configuration in $home; run ca-enroll.sh $org $index"
  start_bg "ca-$name" env FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS="127.0.0.1:$(ca_ops_port "$index")" \
    fabric-ca-server start -H "$home" --address 127.0.0.1 --port "$(ca_port "$index")"
  wait_port "$(ca_port "$index")" "ca-$name"
}

# Member orgs, in the order they joined.
member_orgs() {
  local name _index
  while read -r name _index; do
    echo "$name"
  done <"$ORG_LIST"
}
