#!/usr/bin/env bash
# Install what the end-to-end suite (tests/e2e) needs. Idempotent: installs only
# what is missing, runs `apt-get update` only when a Debian package is missing,
# and fails loudly, naming the package, when something cannot be installed.
#
# Usage: sudo scripts/e2e-deps.sh        (PYTHON=/path/to/python3 to pick the interpreter)
set -euo pipefail

PYTHON="${PYTHON:-python3}"
DEB_PKGS=(iproute2 isc-dhcp-client isc-dhcp-relay isc-dhcp-server tshark
          kea-dhcp4-server kea-dhcp6-server kea-admin dhcpcd-base
          postgresql postgresql-client openssl)   # throwaway PostgreSQL clusters; openssl makes store-pg's test certificates
PY_MODS=(pytest scapy)           # pip name == import name for both

die() { echo "e2e-deps: ERROR: $*" >&2; exit 1; }
log() { echo "e2e-deps: $*"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (sudo $0)"
command -v dpkg-query >/dev/null || die "dpkg-query not found: this script targets Debian"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

missing=()
for p in "${DEB_PKGS[@]}"; do installed "$p" || missing+=("$p"); done

if [ "${#missing[@]}" -gt 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    # Keep package scripts from starting daemons (isc-dhcp-server would try to
    # start a system dhcpd, and fail for lack of configured interfaces).
    policy=/usr/sbin/policy-rc.d
    had_policy=0
    if [ -e "$policy" ]; then had_policy=1; cp -p "$policy" "$policy.e2e-save"; fi
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"
    restore_policy() {
        if [ "$had_policy" -eq 1 ]; then mv -f "$policy.e2e-save" "$policy"; else rm -f "$policy"; fi
    }
    trap restore_policy EXIT
    apt-get update -q || die "apt-get update failed"
    for p in "${missing[@]}"; do
        apt-get install -y -q --no-install-recommends "$p" || die "cannot install Debian package '$p'"
        installed "$p" || die "Debian package '$p' not installed after apt-get install"
    done
    restore_policy; trap - EXIT
else
    log "Debian packages already installed: ${DEB_PKGS[*]}"
fi

# Do not leave a system dhcpd enabled/running: the suite runs its own dhcpd
# inside namespaces, and a system one must never answer on the host.
# Same for the relay's init script.
for svc in isc-dhcp-server isc-dhcp-relay; do
    [ -x "/etc/init.d/$svc" ] || continue
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
        [ "$svc" = isc-dhcp-server ] && { systemctl disable --now isc-dhcp-server6.service >/dev/null 2>&1 || true; }
        systemctl reset-failed "$svc.service" >/dev/null 2>&1 || true
    elif command -v update-rc.d >/dev/null; then
        update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
done
# Kea's and PostgreSQL's packages enable their daemons; the tests start their own.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    for svc in kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent kea-dhcp-ddns-server postgresql; do
        systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
    done
fi
for pidf in /run/dhcpd.pid /var/run/dhcpd.pid /run/dhcp-server/dhcpd.pid /run/dhcrelay.pid /var/run/dhcrelay.pid; do
    if [ -s "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        log "stopping system daemon from $pidf (pid $(cat "$pidf"))"
        kill "$(cat "$pidf")" || true
    fi
done

[ -x /usr/lib/postgresql/15/bin/initdb ] || die "PostgreSQL 15 server binaries missing in /usr/lib/postgresql/15/bin"
for b in ip dhclient dhcrelay dhcpd tshark kea-dhcp4 kea-dhcp6 perfdhcp dhcpcd kea-admin psql runuser; do
    command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || [ -x "/sbin/$b" ] || die "binary '$b' missing after install"
done

command -v "$PYTHON" >/dev/null || die "python interpreter '$PYTHON' not found"
pymissing=()
for m in "${PY_MODS[@]}"; do "$PYTHON" -c "import $m" >/dev/null 2>&1 || pymissing+=("$m"); done
if [ "${#pymissing[@]}" -gt 0 ]; then
    log "missing Python packages for $("$PYTHON" -c 'import sys; print(sys.executable)'): ${pymissing[*]}"
    "$PYTHON" -m pip --version >/dev/null 2>&1 || die "pip not available for $PYTHON (install python3-pip)"
    for m in "${pymissing[@]}"; do
        if ! "$PYTHON" -m pip install -q "$m"; then
            # Debian's own interpreter refuses pip (PEP 668): use Debian's package.
            log "pip refused '$m'; trying Debian package python3-$m"
            apt-get install -y -q --no-install-recommends "python3-$m" \
                || die "cannot install Python package '$m' (pip and python3-$m both failed)"
        fi
        "$PYTHON" -c "import $m" >/dev/null 2>&1 || die "Python package '$m' not importable after install"
    done
else
    log "Python packages already installed: ${PY_MODS[*]}"
fi
log "ok"
