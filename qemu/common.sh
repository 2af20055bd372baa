# shellcheck shell=bash
# Shared helpers for the qemu/ scripts. Sourced, never executed.
#
# Everything the scripts produce lives under $DGW_BUILD (default: <repo>/build),
# which is gitignored, so the work tree stays clean.

DGW_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DGW_BUILD=${DGW_BUILD:-$DGW_REPO/build}
DGW_KERNELS=$DGW_BUILD/kernels
# The kernels the VM can boot; fetch-kernels knows how to get each one.
DGW_KERNEL_NAMES=(deb12 trixie-bpo)

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# check_kernel_name NAME: fail unless NAME is one of DGW_KERNEL_NAMES.
check_kernel_name() {
    local k
    for k in "${DGW_KERNEL_NAMES[@]}"; do [[ $1 == "$k" ]] && return 0; done
    die "unknown kernel '$1' (known: ${DGW_KERNEL_NAMES[*]})"
}

# kernel_ready NAME: true when fetch-kernels has completely unpacked NAME.
# The stamp file is written last, so a half-finished unpack is never "ready".
kernel_ready() {
    local d=$DGW_KERNELS/$1
    [[ -f $d/.complete && -s $d/version && -e $d/vmlinuz ]] &&
        [[ -d $d/modules/lib/modules/$(cat "$d/version") ]]
}

# ensure_debs PKG...: install the Debian packages that are missing (we run as
# root on the dev machines and in CI); a fresh machine then needs no manual step.
ensure_debs() {
    local p missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    ((EUID == 0)) || die "missing Debian packages: ${missing[*]} (run as root or install them)"
    log "installing missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # An install can fail on stale package lists: refresh them once and retry.
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 ||
        { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
}
