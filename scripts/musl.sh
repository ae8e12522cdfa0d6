# Sourced by scripts/install.sh, scripts/package.sh and scripts/test.sh: makes sure the musl
# target and a musl C compiler are present, since tok builds for x86_64-unknown-linux-musl by
# default (.cargo/config.toml says why). Installs them when missing: the target with rustup,
# musl-gcc from Debian's musl-tools (apt-get; sudo when not root).

ensure_musl_toolchain() {
    local target=x86_64-unknown-linux-musl
    if ! rustc --print sysroot >/dev/null 2>&1; then
        echo "tok: no Rust toolchain found; install one with rustup (https://rustup.rs)" >&2
        return 1
    fi
    if [[ ! -d "$(rustc --print sysroot)/lib/rustlib/$target" ]]; then
        command -v rustup >/dev/null || {
            echo "tok: the Rust target $target is missing and there is no rustup to add it;" \
                "install it, or build for glibc with --target \"\$(rustc --print host-tuple)\"" >&2
            return 1
        }
        echo "musl: rustup target add $target" >&2
        rustup target add "$target" >&2
    fi
    if ! command -v musl-gcc >/dev/null; then
        command -v apt-get >/dev/null || {
            echo "tok: musl-gcc is missing (it builds ring's C and assembly for musl); install" \
                "your distribution's musl tools (Debian/Ubuntu: musl-tools; Fedora/EL: musl-gcc)" >&2
            return 1
        }
        local sudo=()
        if [[ $(id -u) -ne 0 ]]; then
            command -v sudo >/dev/null || {
                echo "tok: musl-gcc is missing; run as root or install musl-tools" >&2
                return 1
            }
            sudo=(sudo)
        fi
        echo "musl: apt-get install musl-tools" >&2
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends musl-tools >&2 ||
            { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
              "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends musl-tools >&2; }
    fi
}
