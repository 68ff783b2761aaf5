#!/usr/bin/env bash
# Certificates for station-edge's HQ broker (a pilot or a test): run it again to add stations;
# nothing that exists is remade, so issued certificates stay valid.
#
#   make-certs.sh [--hq-host NAME]... [--foreign-ca] [--revoke STATION] OUT_DIR [STATION_ID ...]
#
# OUT_DIR/
#   ca.crt ca.key            station CA: signs the broker's server certificate and one client
#                            certificate per station; the broker trusts it on 8883 (stations)
#   crl.pem                  revocations of the station CA (the broker's crlfile)
#   hq-ca.crt hq-ca.key      HQ CA: signs the HQ service's client certificate; the broker
#                            trusts it only on the HQ listener (8884), so no station can
#                            connect there and no HQ certificate works on 8883
#   broker.crt broker.key    server certificate, SAN localhost, 127.0.0.1 and every --hq-host
#   hq.crt hq.key            HQ service client certificate, CN "hq"
#   stations/ID.crt ID.key   one per station, CN = the station id (= its MQTT username and client id)
#   foreign/...              with --foreign-ca: another CA and a station certificate it signed,
#                            which the broker must refuse (for tests)
set -euo pipefail

usage() { sed -n '4,5p' "$0" | sed 's/^# *//' >&2; exit 2; }

HQ_HOSTS=()
FOREIGN=false
REVOKE=()
while [ $# -gt 0 ]; do
    case "$1" in
        --hq-host) [ $# -ge 2 ] || usage; HQ_HOSTS+=("$2"); shift 2 ;;
        --foreign-ca) FOREIGN=true; shift ;;
        --revoke) [ $# -ge 2 ] || usage; REVOKE+=("$2"); shift 2 ;;
        -h|--help) usage ;;
        --*) echo "make-certs.sh: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -ge 1 ] || usage
OUT=$1
shift
STATIONS=("$@")

DAYS_CA=3650
DAYS_LEAF=825
KEY_ALGORITHM=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256)

for sid in "${STATIONS[@]}" "${REVOKE[@]}"; do
    # the station id becomes the MQTT username, client id and a topic level (st/ID/...)
    if ! [[ "$sid" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ ]]; then
        echo "make-certs.sh: station id '$sid' must be letters, digits, '_', '.' or '-'" >&2
        exit 2
    fi
    if [[ "$sid" == hq* || "$sid" == all ]]; then
        echo "make-certs.sh: station id '$sid' is reserved (HQ's identities, the hq/all/ broadcasts)" >&2
        exit 2
    fi
done

mkdir -p "$OUT/stations" "$OUT/.ca"
umask 077

new_key() {  # new_key PATH: an EC P-256 private key, unless it exists
    [ -f "$1" ] || openssl genpkey "${KEY_ALGORITHM[@]}" -out "$1" 2>/dev/null
}

new_ca() {  # new_ca NAME CN
    local name=$1 cn=$2
    new_key "$name.key"
    [ -f "$name.crt" ] && return 0
    openssl req -x509 -new -key "$name.key" -sha256 -days "$DAYS_CA" -subj "/O=station-edge/CN=$cn" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out "$name.crt"
    chmod 644 "$name.crt"
}

new_leaf() {  # new_leaf PATH_WITHOUT_SUFFIX CA_PATH_WITHOUT_SUFFIX CN USAGE [SAN]
    local path=$1 ca=$2 cn=$3 usage=$4 san=${5:-}
    new_key "$path.key"
    [ -f "$path.crt" ] && return 0
    local extensions
    extensions=$(mktemp)
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "extendedKeyUsage=$usage"
        [ -n "$san" ] && echo "subjectAltName=$san"
    } >"$extensions"
    openssl req -new -key "$path.key" -subj "/O=station-edge/CN=$cn" \
        | openssl x509 -req -CA "$ca.crt" -CAkey "$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
            -sha256 -days "$DAYS_LEAF" -extfile "$extensions" -out "$path.crt" 2>/dev/null
    rm -f "$extensions"
    chmod 644 "$path.crt"
}

ca_config() {  # the station CA's revocation database, for `openssl ca -revoke/-gencrl`
    local config="$OUT/.ca/openssl.cnf"
    [ -f "$OUT/.ca/index.txt" ] || : >"$OUT/.ca/index.txt"
    [ -f "$OUT/.ca/crlnumber" ] || echo 1000 >"$OUT/.ca/crlnumber"
    cat >"$config" <<CNF
[ca]
default_ca = station_ca
[station_ca]
database = $OUT/.ca/index.txt
crlnumber = $OUT/.ca/crlnumber
certificate = $OUT/ca.crt
private_key = $OUT/ca.key
default_md = sha256
default_crl_days = 365
CNF
    echo "$config"
}

new_ca "$OUT/ca" "station-edge station CA"
new_ca "$OUT/hq-ca" "station-edge HQ CA"

san="DNS:localhost,IP:127.0.0.1"
for host in "${HQ_HOSTS[@]}"; do
    if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then san="$san,IP:$host"; else san="$san,DNS:$host"; fi
done
new_leaf "$OUT/broker" "$OUT/ca" "station-edge HQ broker" serverAuth "$san"
new_leaf "$OUT/hq" "$OUT/hq-ca" hq clientAuth

for sid in "${STATIONS[@]}"; do
    new_leaf "$OUT/stations/$sid" "$OUT/ca" "$sid" clientAuth
done

if $FOREIGN; then
    mkdir -p "$OUT/foreign"
    new_ca "$OUT/foreign/ca" "someone else's CA"
    # a certificate claiming the first station's name, signed by a CA the broker does not trust
    new_leaf "$OUT/foreign/${STATIONS[0]:-S000}" "$OUT/foreign/ca" "${STATIONS[0]:-S000}" clientAuth
fi

config=$(ca_config)
for sid in "${REVOKE[@]}"; do
    if [ ! -f "$OUT/stations/$sid.crt" ]; then
        echo "make-certs.sh: no certificate for station $sid to revoke" >&2
        exit 2
    fi
    openssl ca -config "$config" -revoke "$OUT/stations/$sid.crt" 2>/dev/null \
        || grep -q "CN=$sid\$" "$OUT/.ca/index.txt"  # already revoked
done
if [ ! -f "$OUT/crl.pem" ] || [ ${#REVOKE[@]} -gt 0 ]; then
    openssl ca -config "$config" -gencrl -out "$OUT/crl.pem" 2>/dev/null
    chmod 644 "$OUT/crl.pem"
fi

echo "certificates in $OUT: CA ca.crt, broker, hq, ${#STATIONS[@]} station(s)${REVOKE:+, revoked: ${REVOKE[*]}}"
