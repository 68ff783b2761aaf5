#!/usr/bin/env bash
# station-edge entry point for a fresh machine: sets up what is missing, then runs.
#   ./run.sh demo [ARGS]   the demo station: a busy day, the daemon with simulated devices,
#                          a local HQ over Mosquitto, the forecourt UI on top (q stops all)
#   ./run.sh test [ARGS]   the whole test suite (pytest ARGS)
#   ./run.sh bench [ARGS]  the benchmarks in bench/ (ARGS e.g. --quick)
#   ./run.sh cli ARGS      the station-edge command line
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PYTHON=${PYTHON:-python3}
# system packages: socat makes pseudo-terminals for serial-device tests, libzbar0 is the
# pyzbar QR decoder's library, mosquitto the MQTT broker the tests start on their own port,
# openssl makes the broker's test certificates (deploy/pki/make-certs.sh), postgresql is HQ's
# database in the tests (started by the test session itself where no server runs)
DEBIAN_PACKAGES=(socat libzbar0 mosquitto openssl postgresql)

need_python() {
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "station-edge needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))" >&2
        exit 1
    fi
}

ensure_debian_packages() {
    command -v dpkg >/dev/null 2>&1 || return 0
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing Debian packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_venv() {
    need_python
    if [ ! -x "$VENV/bin/python" ]; then
        # Debian's own python3 ships venv (and ensurepip) in a separate package
        if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            ensure_debian_packages python3-venv
            "$PYTHON" -m venv "$VENV"
        fi
    fi
    # reinstall only when the declared dependencies changed
    local stamp="$VENV/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e '.[test]'
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

command=${1:-help}
shift || true
case "$command" in
    demo)
        # the demo's local HQ link runs over Mosquitto (without it the board shows offline)
        ensure_debian_packages mosquitto
        ensure_venv
        exec "$VENV/bin/station-edge" demo "$@"
        ;;
    test)
        ensure_debian_packages "${DEBIAN_PACKAGES[@]}"
        ensure_venv
        exec "$VENV/bin/python" -m pytest "$@"
        ;;
    bench)
        ensure_debian_packages "${DEBIAN_PACKAGES[@]}"
        ensure_venv
        for script in bench/*.py; do
            # shared helpers of the benchmarks, not benchmarks themselves
            case "$script" in *_harness.py) continue ;; esac
            echo "== $script"
            "$VENV/bin/python" "$script" "$@"
        done
        ;;
    cli)
        ensure_venv
        exec "$VENV/bin/station-edge" "$@"
        ;;
    *)
        sed -n '2,7p' "$0"
        exit 2
        ;;
esac
