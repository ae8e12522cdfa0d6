#!/usr/bin/env bash
# Checks tok's release artefacts the way a new user meets them (CI runs this after
# `scripts/package.sh --check`, which pinned the file lists):
#
#   tests/packaging/check.sh [DIST]      DIST: where the artefacts are (default target/dist)
#
# 1. the binary: static (no INTERP, no NEEDED);
# 2. the tarball: unpacked under a scratch prefix, `bin/tok --version` runs;
# 3. the .deb: `dpkg -i`, then with a sealed HOME: `tok --version`, `man -w tok`, `man tok-get`,
#    bash completion of `tok ge` through bash-completion's loader, `systemd-analyze verify` of
#    the installed user units, and the login/get integration tests run against /usr/bin/tok;
#    then `dpkg -r tok` must leave none of its files behind (a trap removes it on failure too);
# 4. the .rpm: `rpm -qp --requires` names no shared library; `rpm -i --root` into a scratch root
#    puts the files where EL9 looks for them, and the binary runs from there;
# 5. reproducibility: a second build from a fresh clone elsewhere, with the same
#    SOURCE_DATE_EPOCH, gives byte-identical artefacts (skip with TOK_PACKAGE_NO_REBUILD=1).
#
# Needs root for dpkg (CI runs as root) and installs what it uses when missing: rpm, man-db,
# bash-completion, systemd (for systemd-analyze), binutils (readelf).
set -euo pipefail
exec </dev/null

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$PWD
dist=$(realpath -m -- "${1:-target/dist}")
target=x86_64-unknown-linux-musl

step() { printf '\n--> %s\n' "$*"; }
fail() { printf 'tests/packaging/check.sh: FAILED: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || fail "run as root: the .deb is installed with dpkg -i (CI runs as root)"

need=()
for pair in rpm:rpm man:man-db readelf:binutils systemd-analyze:systemd; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
[[ -f /usr/share/bash-completion/bash_completion ]] || need+=(bash-completion)
if [[ ${#need[@]} -gt 0 ]]; then
    step "apt-get install ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
fi

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
tarball=$dist/tok-$version-$target.tar.gz
deb=$dist/tok_${version}-1_amd64.deb
rpmfile=$dist/tok-${version}-1.x86_64.rpm
for f in "$tarball" "$deb" "$rpmfile"; do
    [[ -f $f ]] || fail "$f is missing: run scripts/package.sh first"
    (cd "$dist" && sha256sum --quiet -c "$(basename "$f").sha256") || fail "$f does not match its .sha256"
done

scratch=$(mktemp -d /tmp/tok-package-check.XXXXXX)
cleanup() {
    if dpkg-query -W -f='${Status}' tok 2>/dev/null | grep -q 'install ok installed'; then
        dpkg -r tok >/dev/null || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT

step "tarball: layout and a run from a scratch prefix"
mkdir -p "$scratch/tar"
tar -xzf "$tarball" -C "$scratch/tar"
prefix=$scratch/tar/tok-$version-$target
bin=$prefix/bin/tok
"$bin" --version | grep -qx "tok $version" || fail "bin/tok --version from the tarball"
for f in bin/tok-condor-submit bin/tok-job-wrapper bin/tok-arc bin/tok-arc-job share/man/man1/tok-get.1 \
    share/bash-completion/completions/tok share/zsh/site-functions/_tok \
    share/fish/vendor_completions.d/tok.fish share/systemd/user/tok-agent.service \
    share/doc/tok/LICENSE share/doc/tok/THIRD-PARTY-LICENSES.md; do
    [[ -e $prefix/$f ]] || fail "the tarball has no $f"
done
grep -q '^ExecStart=/usr/local/bin/tok agent run' "$prefix/share/systemd/user/tok-agent.service" ||
    fail "the tarball's unit does not start /usr/local/bin/tok"
echo "ok: $(basename "$tarball")"

step "binary: fully static"
readelf -lW "$bin" | grep -q 'INTERP' && fail "the binary has an INTERP header (dynamically linked)"
readelf -dW "$bin" | grep -q 'NEEDED' && fail "the binary needs shared libraries: $(readelf -dW "$bin" | grep NEEDED)"
readelf -hW "$bin" | grep -q 'DYN' || fail "the binary is not position-independent (static PIE expected)"
echo "ok: no INTERP, no NEEDED, static PIE"

step "deb: metadata, install, use as a user, remove"
dpkg-deb -f "$deb" Depends | grep -q . && fail "the .deb depends on: $(dpkg-deb -f "$deb" Depends)"
dpkg-deb -f "$deb" Package Version Architecture License 2>/dev/null || dpkg-deb -f "$deb" Package Version Architecture
dpkg -i "$deb" >/dev/null
[[ $(command -v tok) == /usr/bin/tok ]] || fail "tok is not /usr/bin/tok after dpkg -i (found $(command -v tok))"
home=$scratch/home
mkdir -p "$home"
as_user() {
    env -i PATH=/usr/bin:/bin HOME="$home" XDG_RUNTIME_DIR="$home/run" XDG_CONFIG_HOME="$home/config" \
        XDG_DATA_HOME="$home/data" TERM=dumb "$@"
}
mkdir -p -m 700 "$home/run"
as_user tok --version | grep -qx "tok $version" || fail "tok --version after dpkg -i"
[[ $(as_user man -w tok) == /usr/share/man/man1/tok.1.gz ]] || fail "man -w tok: $(as_user man -w tok 2>&1)"
as_user env MANPAGER=cat MANWIDTH=80 man tok-get 2>/dev/null | grep -q 'tok get' || fail "man tok-get shows nothing"
completion=$(as_user bash --norc --noprofile -c '
    source /usr/share/bash-completion/bash_completion
    _comp_load tok 2>/dev/null || _completion_loader tok
    COMP_WORDS=(tok ge); COMP_CWORD=1; COMP_LINE="tok ge"; COMP_POINT=${#COMP_LINE}
    spec=$(complete -p tok) || exit 1
    func=${spec#*-F }; func=${func%% *}
    "$func" tok ge tok
    printf "%s\n" "${COMPREPLY[@]}"')
grep -qx get <<<"$completion" || fail "bash completion of 'tok ge' gave: ${completion:-nothing}"
echo "ok: bash completes 'tok ge' to: $(tr '\n' ' ' <<<"$completion")"
as_user systemd-analyze verify --user /usr/lib/systemd/user/tok-agent.socket /usr/lib/systemd/user/tok-agent.service ||
    fail "systemd-analyze verify of the installed user units"
echo "ok: systemd-analyze verify --user tok-agent.socket tok-agent.service"
step "deb: login and get against the test provider with /usr/bin/tok"
TOK_TEST_BIN=/usr/bin/tok cargo test --quiet --locked --test it -- flow:: static_binary:: ||
    fail "the integration tests against the installed /usr/bin/tok"
step "deb: remove"
mapfile -t deb_files < <(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }')
dpkg -r tok >/dev/null
for f in "${deb_files[@]}"; do
    [[ -e $f || -L $f ]] && fail "dpkg -r left $f behind"
done
dpkg-query -W tok 2>/dev/null | grep -q . && dpkg -s tok 2>/dev/null | grep -q 'Status: install ok installed' &&
    fail "dpkg still lists tok as installed"
echo "ok: dpkg -r removed all ${#deb_files[@]} files"

step "rpm: requirements and an install into a scratch root"
requires=$(rpm -qp --requires "$rpmfile" 2>/dev/null)
printf '%s\n' "$requires"
grep -E '\.so(\.|\(|$)' <<<"$requires" && fail "the .rpm requires a shared library"
rpm -qp --queryformat '%{NAME} %{VERSION}-%{RELEASE} %{ARCH} %{LICENSE}: %{SUMMARY}\n' "$rpmfile" 2>/dev/null
root=$scratch/rpmroot
mkdir -p "$root"
rpm --root "$root" --initdb
rpm --root "$root" -i --nodeps --noscripts --ignorearch "$rpmfile" 2>&1 | grep -v '^warning: .*NOKEY' || true
for f in /usr/bin/tok /usr/bin/tok-condor-submit /usr/bin/tok-job-wrapper /usr/bin/tok-arc /usr/bin/tok-arc-job \
    /usr/share/man/man1/tok.1.gz /usr/share/man/man1/tok-get.1.gz /usr/share/bash-completion/completions/tok \
    /usr/share/zsh/site-functions/_tok /usr/share/fish/vendor_completions.d/tok.fish \
    /usr/lib/systemd/user/tok-agent.service /usr/lib/systemd/user/tok-agent.socket \
    /usr/share/doc/tok/README.md /usr/share/licenses/tok/LICENSE; do
    [[ -e $root$f ]] || fail "rpm -i --root put no $f"
done
[[ $(stat -c %a "$root/usr/bin/tok") == 755 ]] || fail "/usr/bin/tok from the .rpm is not 0755"
"$root/usr/bin/tok" --version | grep -qx "tok $version" || fail "the .rpm's tok does not run"
echo "ok: $(basename "$rpmfile") installs where EL9 looks"

if [[ "${TOK_PACKAGE_NO_REBUILD:-}" == 1 ]]; then
    step "reproducibility: skipped (TOK_PACKAGE_NO_REBUILD=1)"
    exit 0
fi
step "reproducibility: a fresh clone elsewhere, the same commit and SOURCE_DATE_EPOCH"
[[ -f $dist/BUILD-INFO ]] || fail "$dist/BUILD-INFO is missing: run scripts/package.sh again"
commit=$(sed -n 's/^commit=//p' "$dist/BUILD-INFO")
epoch=$(sed -n 's/^source_date_epoch=//p' "$dist/BUILD-INFO")
grep -qx 'dirty=1' "$dist/BUILD-INFO" &&
    fail "the artefacts in $dist were built from a checkout with uncommitted changes; commit, then run scripts/package.sh again"
git clone --quiet --no-hardlinks "$repo" "$scratch/clone"
git -C "$scratch/clone" checkout --quiet "$commit"
SOURCE_DATE_EPOCH=$epoch "$scratch/clone/scripts/package.sh" --out "$scratch/dist2"
same=0
for f in "$tarball" "$deb" "$rpmfile"; do
    a=$(sha256sum < "$f"); b=$(sha256sum < "$scratch/dist2/$(basename "$f")")
    if [[ $a == "$b" ]]; then
        echo "same: $(basename "$f") ${a%% *}"
        same=$((same + 1))
    else
        echo "DIFFERENT: $(basename "$f")" >&2
    fi
done
[[ $same -eq 3 ]] || fail "two builds of $commit with SOURCE_DATE_EPOCH=$epoch differ"
echo "ok: byte-identical artefacts"
