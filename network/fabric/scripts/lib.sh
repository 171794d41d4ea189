#!/usr/bin/env bash
# Shared helpers for the network/fabric scripts. Sourced, never run: it only defines variables and functions.
# Everything a script starts listens on 127.0.0.1 and keeps its logs and pid files under $FABRIC_HOME.
# shellcheck disable=SC2034 # the variables are read by the scripts that source this file

FABRIC_ASSETS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$FABRIC_ASSETS/../.." && pwd)"
DECENTER_HOME="${DECENTER_HOME:-$REPO_ROOT/.decenter}"
FABRIC_HOME="$DECENTER_HOME/fabric"
CHANNEL="${FABRIC_CHANNEL:-decenter}"
CHAINCODE_NAME="${FABRIC_CHAINCODE:-decenter}"
CHAINCODE_VERSION="${FABRIC_CHAINCODE_VERSION:-1.0}"
CHAINCODE_DIR="${FABRIC_CHAINCODE_DIR:-$REPO_ROOT/chaincode}"
# Every port is derived from one base so that several networks (or a test) can run side by side.
PORT_BASE="${FABRIC_PORT_BASE:-7100}"
# 2 of the 3 founding orgs endorse every transaction of the chaincode (see docs/operators.md).
ENDORSEMENT_POLICY="${FABRIC_ENDORSEMENT_POLICY:-OutOf(2,'Org1MSP.peer','Org2MSP.peer','Org3MSP.peer')}"
LOG_DIR="$FABRIC_HOME/logs"
PID_DIR="$FABRIC_HOME/pids"
ORGS_DIR="$FABRIC_HOME/organizations"
ORG_LIST="$FABRIC_HOME/orgs.txt"
ORDERER_DIR="$ORGS_DIR/ordererorg"

log() { printf '[fabric] %s\n' "$*" >&2; }

die() {
  printf '[fabric] error: %s\n' "$*" >&2
  exit 1
}

# A network keeps the ports it was created with (they are in its genesis block): later runs of any script read
# them from $FABRIC_HOME/port-base, and a different FABRIC_PORT_BASE is refused rather than half applied.
if [[ -f "$FABRIC_HOME/port-base" ]]; then
  stored_base="$(cat "$FABRIC_HOME/port-base")"
  if [[ -n "${FABRIC_PORT_BASE:-}" && "$FABRIC_PORT_BASE" != "$stored_base" ]]; then
    die "the network in $FABRIC_HOME uses FABRIC_PORT_BASE=$stored_base, not $FABRIC_PORT_BASE; unset FABRIC_PORT_BASE or use another DECENTER_HOME"
  fi
  PORT_BASE="$stored_base"
fi

# Names the first missing binary and what to do about it; these scripts never download anything.
require_bins() {
  local bin
  for bin in "$@"; do
    if ! command -v "$bin" >/dev/null 2>&1; then
      die "'$bin' is not on the PATH. Put the Hyperledger Fabric 2.5 release binaries (peer, orderer, configtxgen, osnadmin, configtxlator, fabric-ca-server, fabric-ca-client or cryptogen) on the PATH; these scripts download nothing."
    fi
  done
}

# Fabric reads core.yaml and orderer.yaml from FABRIC_CFG_PATH; the release ships them in config/ beside bin/.
resolve_fabric_cfg() {
  if [[ -z "${FABRIC_CFG_PATH:-}" ]]; then
    FABRIC_CFG_PATH="$(cd "$(dirname "$(command -v peer)")/.." && pwd)/config"
  fi
  local file
  for file in core.yaml orderer.yaml; do
    [[ -f "$FABRIC_CFG_PATH/$file" ]] ||
      die "$FABRIC_CFG_PATH/$file is missing. Set FABRIC_CFG_PATH to the config/ folder of the Fabric release."
  done
  export FABRIC_CFG_PATH
}

# The chaincode-as-a-service builder ships with the release in builders/ccaas (detect, build, release).
resolve_ccaas_builder() {
  if [[ -z "${FABRIC_CCAAS_BUILDER:-}" ]]; then
    FABRIC_CCAAS_BUILDER="$(cd "$(dirname "$(command -v peer)")/.." && pwd)/builders/ccaas"
  fi
  [[ -x "$FABRIC_CCAAS_BUILDER/bin/detect" && -x "$FABRIC_CCAAS_BUILDER/bin/release" ]] ||
    die "no chaincode-as-a-service builder in $FABRIC_CCAAS_BUILDER. Set FABRIC_CCAAS_BUILDER to the release's builders/ccaas folder."
  export FABRIC_CCAAS_BUILDER
}

# Ports of org N (1-based; the orderer org is 0): base + 100*N + offset.
port_of() {
  local index="$1" offset="$2"
  echo $((PORT_BASE + 100 * index + offset))
}
peer_port() { port_of "$1" 51; }
peer_cc_port() { port_of "$1" 52; }
ops_port() { port_of "$1" 43; }
ca_port() { port_of "$1" 54; }
ca_ops_port() { port_of "$1" 44; }
cc_server_port() { port_of "$1" 59; }
orderer_port() { port_of 0 50; }
orderer_admin_port() { port_of 0 53; }

lower() { printf '%s' "$1" | tr '[:upper:]' '[:lower:]'; }

random_secret() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# "NAME INDEX" lines, one per member org, in the order they joined.
org_index() {
  local name="$1" line_name line_index
  [[ -f "$ORG_LIST" ]] || return 1
  while read -r line_name line_index; do
    if [[ "$line_name" == "$name" ]]; then
      echo "$line_index"
      return 0
    fi
  done <"$ORG_LIST"
  return 1
}

is_running() {
  local pid_file="$PID_DIR/$1.pid" pid
  [[ -f "$pid_file" ]] || return 1
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# Starts "$@" in the background with its output in $LOG_DIR/NAME.log and its pid in $PID_DIR/NAME.pid.
start_bg() {
  local name="$1"
  shift
  mkdir -p "$LOG_DIR" "$PID_DIR"
  if is_running "$name"; then
    log "$name is already running (pid $(cat "$PID_DIR/$name.pid"))"
    return 0
  fi
  "$@" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo "$!" >"$PID_DIR/$name.pid"
  log "started $name (pid $!), log $LOG_DIR/$name.log"
}

# Waits until something accepts connections on 127.0.0.1:PORT, or fails naming the log to read.
wait_port() {
  local port="$1" name="$2" tries=0
  until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    tries=$((tries + 1))
    if ! is_running "$name"; then
      die "$name exited before listening on 127.0.0.1:$port; see $LOG_DIR/$name.log"
    fi
    if ((tries > 120)); then
      die "$name does not listen on 127.0.0.1:$port after 60 s; see $LOG_DIR/$name.log"
    fi
    sleep 0.5
  done
}

org_dir() { echo "$ORGS_DIR/$(lower "$1")"; }
orderer_ca_file() { echo "$ORDERER_DIR/tlsca.pem"; }

# Points the peer CLI at org NAME's peer, acting as that org's admin.
use_org_admin() {
  local name="$1" index dir
  index="$(org_index "$name")" || die "unknown org $name; it is not in $ORG_LIST"
  dir="$(org_dir "$name")"
  export CORE_PEER_LOCALMSPID="${name}MSP"
  export CORE_PEER_MSPCONFIGPATH="$dir/users/admin/msp"
  CORE_PEER_ADDRESS="127.0.0.1:$(peer_port "$index")"
  export CORE_PEER_ADDRESS
  export CORE_PEER_TLS_ENABLED=true
  export CORE_PEER_TLS_ROOTCERT_FILE="$dir/tlsca.pem"
}

# Arguments that reach the orderer over TLS from the peer CLI.
orderer_args() {
  printf '%s\n' -o "127.0.0.1:$(orderer_port)" --tls --cafile "$(orderer_ca_file)"
}

# config/configtx.yaml with this network's ports in place of the defaults (base 7100). Two passes through
# placeholders, so that a new port is never taken for the default port of a later org.
render_configtx() {
  local out="$1"
  mkdir -p "$(dirname "$out")"
  sed -e 's/\b7150\b/@ORDERER@/g' -e 's/\b7251\b/@PEER1@/g' -e 's/\b7351\b/@PEER2@/g' \
    -e 's/\b7451\b/@PEER3@/g' "$FABRIC_ASSETS/config/configtx.yaml" >"$out.tmp"
  sed -e "s/@ORDERER@/$(orderer_port)/g" -e "s/@PEER1@/$(peer_port 1)/g" -e "s/@PEER2@/$(peer_port 2)/g" \
    -e "s/@PEER3@/$(peer_port 3)/g" "$out.tmp" >"$out"
  rm -f "$out.tmp"
}
