# Shared helpers for scripts/*. Source it; it sets ROOT and a few functions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$ROOT/.local"

log() { printf '[planrouter] %s\n' "$*" >&2; }
die() { printf '[planrouter] error: %s\n' "$*" >&2; exit 1; }

# System packages the project builds, tests and runs with (Debian/Ubuntu names).
# python3-aiosmtpd and openssl: the real SMTP server the notify tests deliver to (scripts/lib/smtp_sink.py);
# python3: also the slow-client bench driver (scripts/bench-slow-clients).
# chromium, chromium-driver and python3-selenium: the real-browser tests of the workspace and the
# booking page (scripts/browser-test, run by scripts/test; scripts/screenshots).
SYSTEM_PACKAGES=(librdkafka-dev libpq-dev postgresql postgresql-contrib kcat jq pkg-config curl python3 python3-aiosmtpd openssl
    chromium chromium-driver python3-selenium)

# Installs whatever of SYSTEM_PACKAGES is missing (apt-get update first). No-op when all are present.
ensure_system_packages() {
    local missing=()
    for p in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing system packages: ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    command -v swift >/dev/null 2>&1 || [ -x /opt/swift/usr/bin/swift ] || die "Swift 6.x is required (swift not on PATH); install the toolchain first"
    command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
}

# Builds the planrouter binary (debug unless PLANROUTER_BUILD_CONFIG=release) and prints its path.
build_planrouter() {
    # PLANROUTER_BIN: a binary built already (e.g. an older commit's, for a before/after comparison).
    if [ -n "${PLANROUTER_BIN:-}" ]; then
        [ -x "$PLANROUTER_BIN" ] || die "PLANROUTER_BIN=$PLANROUTER_BIN is not an executable"
        log "using $PLANROUTER_BIN (PLANROUTER_BIN)"
        echo "$PLANROUTER_BIN"
        return
    fi
    local config="${PLANROUTER_BUILD_CONFIG:-debug}"
    local flags=()
    [ "$config" != release ] || flags=("${RELEASE_LINK_FLAGS[@]}")
    log "building planrouter ($config)"
    (cd "$ROOT" && swift build -c "$config" --product planrouter "${flags[@]}" >&2) || die "swift build failed"
    echo "$(cd "$ROOT" && swift build -c "$config" "${flags[@]}" --show-bin-path)/planrouter"
}

# How a release binary is built and laid out, here and in deploy/Dockerfile (keep them alike):
# each function in its own section, linked by lld in the order of deploy/symbol-order.txt (the
# functions the workers run, recorded by scripts/symbol-order), so the code a worker runs shares
# pages and the kernel, which maps code in chunks (100–480 KiB here) around each page touched,
# maps little else; and relative relocations packed (RELR): 0.4 MB for the loader, not 1.7 MB.
# Together they take 5–7 MB off each worker's resident memory (docs/benchmarks.md, "Code pages laid
# out in the order the workers run them"). The Swift libraries (standard library, Foundation, ICU)
# are linked statically, as the image links them: only the parts the program uses, no dynamic
# relocation of a dozen shared objects; 4.5–6 MB less again per worker (docs/benchmarks.md,
# "Linked like the image").
RELEASE_LINK_FLAGS=(--static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld
    -Xlinker -z -Xlinker pack-relative-relocs
    -Xlinker "--symbol-ordering-file=$ROOT/deploy/symbol-order.txt" -Xlinker --no-warn-symbol-ordering)
