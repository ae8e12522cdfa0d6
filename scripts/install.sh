#!/usr/bin/env bash
# Builds tok from this checkout and installs it for the current user, as the README's first
# command does: the static binary in ~/.cargo/bin (cargo install), man pages in
# ~/.local/share/man/man1, completions for bash, zsh and fish under ~/.local/share.
#
#   scripts/install.sh          build and install (installs the musl target and musl-tools first
#                               when missing; see .cargo/config.toml)
#
# Without a Rust toolchain, install a release artefact instead (README, "Install").
set -euo pipefail
exec </dev/null

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/musl.sh
source scripts/musl.sh
ensure_musl_toolchain

cargo install --locked --path .

data=${XDG_DATA_HOME:-$HOME/.local/share}
install -Dm644 -t "$data/man/man1" man/*.1
install -Dm644 completions/tok.bash "$data/bash-completion/completions/tok"
install -Dm644 completions/_tok "$data/zsh/site-functions/_tok"
install -Dm644 completions/tok.fish "${XDG_CONFIG_HOME:-$HOME/.config}/fish/completions/tok.fish"
bin=${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin
echo "installed: $bin/tok, man pages in $data/man/man1, completions for bash, zsh (add $data/zsh/site-functions to \$fpath) and fish" >&2
case ":$PATH:" in
    *":$bin:"*) ;;
    *) echo "note: $bin is not in PATH; add it, or run $bin/tok" >&2 ;;
esac
