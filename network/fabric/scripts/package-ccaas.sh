#!/usr/bin/env bash
# Builds the chaincode-as-a-service package of the DeCenter chaincode with tar and gzip only, and prints its
# package ID (LABEL:sha256 of the package, what `peer lifecycle chaincode calculatepackageid` prints).
#   package.tar.gz = metadata.json {"type":"ccaas","label":LABEL} + code.tar.gz (connection.json)
# connection.json tells the peer's ccaas builder where the chaincode server listens. The default address is a
# template the builder fills from each peer's CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG ({"ccport":"7259"}), so one
# package (one package ID) serves every org while each org runs its own chaincode server.
# The archive is byte-for-byte reproducible (sorted names, zero owners and times, gzip -n): every org can build
# it itself and gets the same package ID.
#
# Usage: package-ccaas.sh OUTPUT.tar.gz [LABEL]
# Environment: CCAAS_ADDRESS (default 127.0.0.1:{{.ccport}}), CCAAS_DIAL_TIMEOUT (default 10s),
#              CCAAS_TLS_ROOT_CERT (a PEM file: the peer then requires TLS to the chaincode server)
set -euo pipefail

[[ $# -ge 1 && $# -le 2 ]] || {
  echo "usage: package-ccaas.sh OUTPUT.tar.gz [LABEL]" >&2
  exit 2
}
OUTPUT="$1"
LABEL="${2:-decenter_1.0}"
ADDRESS="${CCAAS_ADDRESS:-127.0.0.1:{{.ccport\}\}}"
DIAL_TIMEOUT="${CCAAS_DIAL_TIMEOUT:-10s}"
TLS_ROOT_CERT="${CCAAS_TLS_ROOT_CERT:-}"

if [[ ! "$LABEL" =~ ^[A-Za-z0-9_.+-]+$ ]]; then
  echo "package-ccaas.sh: label '$LABEL' may only hold letters, digits and _ . + -" >&2
  exit 2
fi
if [[ ! "$DIAL_TIMEOUT" =~ ^[0-9]+(ms|s|m)$ ]]; then
  echo "package-ccaas.sh: CCAAS_DIAL_TIMEOUT '$DIAL_TIMEOUT' must be a duration such as 10s" >&2
  exit 2
fi
if [[ "$ADDRESS" =~ [\"\\[:space:]] ]]; then
  echo "package-ccaas.sh: CCAAS_ADDRESS '$ADDRESS' must be host:port without quotes or spaces" >&2
  exit 2
fi
for tool in tar gzip sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "package-ccaas.sh: '$tool' is not on the PATH" >&2
    exit 1
  }
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/code" "$WORK/pkg"

if [[ -n "$TLS_ROOT_CERT" ]]; then
  [[ -r "$TLS_ROOT_CERT" ]] || {
    echo "package-ccaas.sh: cannot read CCAAS_TLS_ROOT_CERT $TLS_ROOT_CERT" >&2
    exit 1
  }
  # PEM lines joined with \n: the JSON string form of the certificate.
  root_cert="$(awk 'BEGIN { ORS = "" } { sub(/\r$/, ""); print $0 "\\n" }' "$TLS_ROOT_CERT")"
  tls_fields=$(printf '  "tls_required": true,\n  "client_auth_required": false,\n  "root_cert": "%s"' "$root_cert")
else
  tls_fields='  "tls_required": false'
fi
printf '{\n  "address": "%s",\n  "dial_timeout": "%s",\n%s\n}\n' "$ADDRESS" "$DIAL_TIMEOUT" "$tls_fields" \
  >"$WORK/code/connection.json"
printf '{"type":"ccaas","label":"%s"}\n' "$LABEL" >"$WORK/pkg/metadata.json"

deterministic_tar() {
  local dir="$1"
  shift
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='@0' --format=ustar -C "$dir" -cf - "$@" | gzip -n -9
}
deterministic_tar "$WORK/code" connection.json >"$WORK/pkg/code.tar.gz"
mkdir -p "$(dirname "$OUTPUT")"
deterministic_tar "$WORK/pkg" metadata.json code.tar.gz >"$OUTPUT.tmp"
mv "$OUTPUT.tmp" "$OUTPUT"

hash="$(sha256sum "$OUTPUT" | cut -d ' ' -f 1)"
echo "$LABEL:$hash"
