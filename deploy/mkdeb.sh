#!/usr/bin/env bash
# mkdeb.sh BINARY OUTDIR: builds OUTDIR/switchboard_VERSION_ARCH.deb with
# dpkg-deb alone (no debhelper) from the binary and deploy/: the unit, the
# default config (a conffile) and the maintainer scripts. Prints the path.
#
# VERSION comes from `git describe` (tag v1.2.3 → 1.2.3, 4 commits later →
# 1.2.3+4.gHASH; no tag → 0.0+gitCOUNT.HASH; uncommitted changes add
# .dirty); DEB_VERSION overrides it. ARCH is dpkg's, or DEB_ARCH.
# DEB_COMPRESS is dpkg-deb's compressor: xz (default) or gzip (the test's:
# several times faster on a busy machine).
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 BINARY OUTDIR" >&2; exit 2; fi
bin=$1 out=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

deb_version() {
  local d dirty=""
  if ! git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then echo 0.0; return; fi
  if ! git -C "$root" diff --quiet HEAD -- 2>/dev/null; then dirty=.dirty; fi
  if d=$(git -C "$root" describe --tags --match 'v[0-9]*' 2>/dev/null); then
    d=${d#v}
    # 1.2.3-4-gabcdef → 1.2.3+4.gabcdef
    if [[ $d =~ ^(.*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
      d="${BASH_REMATCH[1]}+${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
    fi
    echo "${d//-/.}$dirty"
  else
    echo "0.0+git$(git -C "$root" rev-list --count HEAD).$(git -C "$root" rev-parse --short=12 HEAD)$dirty"
  fi
}

version=${DEB_VERSION:-$(deb_version)}
arch=${DEB_ARCH:-$(dpkg --print-architecture)}
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "mkdeb: bad version '$version'" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkg=$tmp/pkg
install -D -m 0755 "$bin" "$pkg/usr/bin/switchboard"
install -D -m 0644 "$here/switchboard.service" "$pkg/usr/lib/systemd/system/switchboard.service"
install -D -m 0644 "$here/sysctl/60-switchboard.conf" "$pkg/usr/lib/sysctl.d/60-switchboard.conf"
install -D -m 0640 "$here/switchboard.yaml" "$pkg/etc/switchboard/switchboard.yaml"
install -D -m 0644 "$root/README.md" "$pkg/usr/share/doc/switchboard/README.md"
install -D -m 0644 "$root/gateway/config/reference.md" "$pkg/usr/share/doc/switchboard/reference.md"
install -d -m 0755 "$pkg/DEBIAN"
for f in postinst prerm postrm; do install -m 0755 "$here/debian/$f" "$pkg/DEBIAN/$f"; done
install -m 0644 "$here/debian/conffiles" "$pkg/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  "$here/debian/control.in" >"$pkg/DEBIAN/control"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f ! -path './etc/*' -printf '%P\0' |
  sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/switchboard_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"${DEB_COMPRESS:-xz}" --build "$pkg" "$deb" >/dev/null
echo "$deb"
