#!/usr/bin/env bash
# Builds tok's release artefacts from this checkout: one fully static musl binary, packed as
#
#   tok-VERSION-x86_64-unknown-linux-musl.tar.gz   copy under /usr/local or ~/.local
#   tok_VERSION-1_amd64.deb                        Debian, Ubuntu (cargo-deb)
#   tok-VERSION-1.x86_64.rpm                       EL9: Alma, Rocky, RHEL (cargo-generate-rpm)
#
# each with a .sha256 beside it, and BUILD-INFO (commit, SOURCE_DATE_EPOCH), in target/dist/
# (or --out DIR).
#
#   scripts/package.sh                 build the binary and the three artefacts
#   scripts/package.sh --check         also compare each artefact's file list and modes with
#                                      tests/packaging/*.manifest (a change must be deliberate)
#   scripts/package.sh --update-manifests   write those manifests from the artefacts built
#   scripts/package.sh --out DIR       put the artefacts in DIR
#
# Reproducible: the same SOURCE_DATE_EPOCH (default: the time of the last commit) and the same
# toolchain give byte-identical artefacts wherever the checkout is (tests/packaging/check.sh
# builds twice and compares). Installs what it needs when missing: the musl target (rustup),
# musl-gcc (Debian's musl-tools), cargo-deb and cargo-generate-rpm (cargo install, pinned), and
# for --check / --update-manifests Debian's rpm (to list the .rpm's files).
set -euo pipefail
exec </dev/null

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

TARGET=x86_64-unknown-linux-musl
CARGO_DEB_VERSION=3.8.0
CARGO_GENERATE_RPM_VERSION=0.21.1

die() { printf 'scripts/package.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '==> %s\n' "$*" >&2; }

out=$repo/target/dist
check=0
update=0
while [[ $# -gt 0 ]]; do
    case $1 in
        --out) [[ $# -ge 2 ]] || die "--out needs a directory"; out=$(realpath -m -- "$2"); shift 2 ;;
        --check) check=1; shift ;;
        --update-manifests) update=1; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see scripts/package.sh --help)" ;;
    esac
done

# shellcheck source=scripts/musl.sh
source scripts/musl.sh
ensure_musl_toolchain

ensure_cargo_tool() {
    local tool=$1 version=$2
    if command -v "$tool" >/dev/null && "$tool" --version 2>/dev/null | grep -qF "$version"; then
        return
    fi
    say "cargo install $tool $version"
    cargo install --quiet --locked --version "$version" "$tool"
}
ensure_cargo_tool cargo-deb "$CARGO_DEB_VERSION"
ensure_cargo_tool cargo-generate-rpm "$CARGO_GENERATE_RPM_VERSION"

# Comparing the .rpm's file list with its manifest reads it with `rpm -qlp` (Debian: package rpm).
ensure_rpm_reader() {
    command -v rpm >/dev/null && return
    command -v apt-get >/dev/null || die "rpm is needed to read the .rpm's file list; install your distribution's rpm package"
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "rpm is needed to read the .rpm's file list; run as root or install rpm"
        sudo=(sudo)
    fi
    say "apt-get install rpm (to read the .rpm's file list)"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rpm >&2 ||
        { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 &&
          "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rpm >&2; }
}
if [[ $check -eq 1 || $update -eq 1 ]]; then
    ensure_rpm_reader
fi

version=$(cargo metadata --no-deps --format-version 1 --offline 2>/dev/null |
    python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="tok"))') ||
    die "cannot read the version from Cargo.toml"
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null) || SOURCE_DATE_EPOCH=0
fi
export SOURCE_DATE_EPOCH
say "tok $version for $TARGET, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"

# The release binary. Its own target directory, so the path remapping below (which changes the
# compiler flags) never invalidates a developer's ordinary builds. Paths are remapped so that
# the checkout's and cargo's locations leave no trace in the binary (panic locations).
build_dir=$repo/target/package
cargo_home=${CARGO_HOME:-$HOME/.cargo}
export CARGO_TARGET_DIR=$build_dir
export RUSTFLAGS="--remap-path-prefix=$repo=/build/tok --remap-path-prefix=$cargo_home=/cargo"
say "cargo build --release --target $TARGET"
cargo build --quiet --locked --release --target "$TARGET"
binary=$build_dir/$TARGET/release/tok
unset RUSTFLAGS

# One staging tree in the tarball's layout; the .deb and .rpm take their files from it.
stage=$build_dir/stage
rm -rf "$stage"
mkdir -p "$stage"
put() { install -D -m "$1" "$2" "$stage/$3"; }
put 755 "$binary" bin/tok
for helper in shell/htcondor/tok-condor-submit shell/htcondor/tok-job-wrapper shell/arc/tok-arc shell/arc/tok-arc-job; do
    put 755 "$helper" "bin/$(basename "$helper")"
done
for page in man/*.1; do
    put 644 "$page" "share/man/man1/$(basename "$page")"
done
put 644 completions/tok.bash share/bash-completion/completions/tok
put 644 completions/_tok share/zsh/site-functions/_tok
put 644 completions/tok.fish share/fish/vendor_completions.d/tok.fish
for unit in tok-agent.service tok-agent.socket; do
    put 644 "shell/systemd/$unit" "share/systemd/user/$unit"
done
put 644 README.md share/doc/tok/README.md
put 644 SECURITY.md share/doc/tok/SECURITY.md
put 644 shell/systemd/README.md share/doc/tok/README.systemd.md
put 644 shell/htcondor/README.md share/doc/tok/README.htcondor.md
put 644 shell/arc/README.md share/doc/tok/README.arc.md
put 644 LICENSE share/doc/tok/LICENSE
say "third-party licences"
scripts/licenses.py --target "$TARGET" > "$build_dir/THIRD-PARTY-LICENSES.md"
put 644 "$build_dir/THIRD-PARTY-LICENSES.md" share/doc/tok/THIRD-PARTY-LICENSES.md
# Files only the .deb and .rpm take (Cargo.toml's metadata points here): man pages gzipped, as
# distributions keep them (Debian Policy 12.1, Fedora guidelines; -n leaves the name and time
# out of the gzip header), the units as they are (starting /usr/bin/tok), the licence. Copied
# rather than taken from the checkout so that every file's time is SOURCE_DATE_EPOCH:
# cargo-generate-rpm keeps a file's own time when it is older, and a checkout's times differ.
pkg=$build_dir/pkg
rm -rf "$pkg"
mkdir -p "$pkg/man"
for page in man/*.1; do
    gzip -9nc "$page" > "$pkg/man/$(basename "$page").gz"
done
cp shell/systemd/tok-agent.service shell/systemd/tok-agent.socket LICENSE "$pkg/"
chmod 644 "$pkg"/man/* "$pkg"/tok-agent.* "$pkg/LICENSE"
# The tarball's units start tok from /usr/local/bin; the packages' from /usr/bin (the unit file
# in shell/systemd). Under ~/.local: `systemctl --user edit tok-agent.service` (README).
sed -i 's|^ExecStart=/usr/bin/tok |ExecStart=/usr/local/bin/tok |' "$stage/share/systemd/user/tok-agent.service"
grep -q '^ExecStart=/usr/local/bin/tok ' "$stage/share/systemd/user/tok-agent.service" ||
    die "shell/systemd/tok-agent.service no longer starts /usr/bin/tok; fix the rewrite above"
find "$stage" "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
name=tok-$version-$TARGET
tarball=$out/$name.tar.gz
deb=$out/tok_${version}-1_amd64.deb
rpm=$out/tok-${version}-1.x86_64.rpm
rm -f "$tarball" "$deb" "$rpm" "$tarball.sha256" "$deb.sha256" "$rpm.sha256" "$out/BUILD-INFO"

say "tarball"
# Sorted names, fixed owner and times, no PAX headers with access times, gzip without a name
# or time stamp: the same tree gives the same bytes.
tar --sort=name --format=gnu --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    --transform="s|^\\.|$name|" -C "$stage" -cf - . | gzip -9n > "$tarball"

say "deb (cargo-deb)"
cargo deb --no-build --no-strip --target "$TARGET" --output "$deb" >/dev/null
say "rpm (cargo-generate-rpm)"
cargo generate-rpm --target "$TARGET" --source-date "$SOURCE_DATE_EPOCH" --output "$rpm" >/dev/null

for artefact in "$tarball" "$deb" "$rpm"; do
    (cd "$out" && sha256sum "$(basename "$artefact")" > "$(basename "$artefact").sha256")
done
# What the artefacts were built from, so that tests/packaging/check.sh can rebuild the same
# commit with the same time and compare.
{
    echo "commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "source_date_epoch=$SOURCE_DATE_EPOCH"
    if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then echo "dirty=1"; else echo "dirty=0"; fi
} > "$out/BUILD-INFO"
(cd "$out" && cat ./*.sha256 >&2)

if [[ $update -eq 1 ]]; then
    tests/packaging/manifest.sh write "$out" "$version"
elif [[ $check -eq 1 ]]; then
    tests/packaging/manifest.sh check "$out" "$version"
fi
