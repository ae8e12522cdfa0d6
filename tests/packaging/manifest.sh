#!/usr/bin/env bash
# The file lists of tok's release artefacts, pinned: every path with its type, mode and owner
# (sizes and times left out; the version written as VERSION). A package that gains, loses or
# re-modes a file fails `scripts/package.sh --check` until the manifest is updated on purpose.
#
#   tests/packaging/manifest.sh check DIR VERSION   compare DIR's artefacts with the manifests
#   tests/packaging/manifest.sh write DIR VERSION   rewrite the manifests from DIR's artefacts
set -euo pipefail
export LC_ALL=C  # one sort order (and tool output) wherever it runs

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=${1:?usage: manifest.sh check|write DIR VERSION}
dir=${2:?usage: manifest.sh check|write DIR VERSION}
version=${3:?usage: manifest.sh check|write DIR VERSION}
target=x86_64-unknown-linux-musl

list_tarball() {
    tar -tvzf "$dir/tok-$version-$target.tar.gz" |
        awk '{ print $1, $2, $6 }' | sed "s|tok-$version-$target|tok-VERSION-$target|" | sort -k3
}
list_deb() {
    dpkg-deb -c "$dir/tok_${version}-1_amd64.deb" | awk '{ print $1, $2, $6 }' | sort -k3
}
list_rpm() {
    command -v rpm >/dev/null || { echo "manifest.sh: rpm is needed to read the .rpm (Debian: apt-get install rpm)" >&2; exit 1; }
    rpm -qlpv "$dir/tok-${version}-1.x86_64.rpm" 2>/dev/null | awk '{ print $1, $3 "/" $4, $9 }' | sort -k3
}

status=0
for kind in tarball deb rpm; do
    manifest=$here/$kind.manifest
    actual=$("list_$kind")
    case $mode in
        write)
            printf '%s\n' "$actual" > "$manifest"
            echo "manifest.sh: wrote $manifest ($(wc -l < "$manifest") entries)" ;;
        check)
            if diff -u --label "$manifest" --label "$kind as built" "$manifest" <(printf '%s\n' "$actual"); then
                echo "manifest.sh: $kind matches $(basename "$manifest") ($(wc -l < "$manifest") entries)"
            else
                echo "manifest.sh: the $kind's files differ from $manifest (above);" \
                    "if the change is deliberate: scripts/package.sh --update-manifests" >&2
                status=1
            fi ;;
        *) echo "manifest.sh: unknown mode $mode" >&2; exit 2 ;;
    esac
done
exit $status
