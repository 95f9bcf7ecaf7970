#!/usr/bin/env bash
# `make deb`: OUT/jumpbox_VERSION_ARCH.deb with Debian's own tools, no
# debhelper: `make install DESTDIR=… PREFIX=/usr` of a build with Debian's
# hardening flags (dpkg-buildflags) on top of the Makefile's, stripped; man pages and changelog
# gzipped; Depends from dpkg-shlibdeps, plus libcurl by its shlibs entry
# (lib/net/curl_dl.c dlopen()s it, so no ELF header names it).  Terraform is
# not a dependency: it comes from HashiCorp.  Checked with lintian by
# tests/integration/test_deb.py; packaging/debian/ holds the fixed parts.
# Usage: packaging/deb.sh [BUILD_DIR [OUT_DIR]]
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

B=${1:-build-deb}
OUT=${2:-dist}
MAINTAINER=${DEB_MAINTAINER:-jumpbox developers <jumpbox@example.org>}

version=$(sh packaging/version.sh)
# A native package's version has no '-': 0.0.0-12-gabc1234 -> 0.0.0+git12.gabc1234.
debver=$(printf '%s' "$version" | sed -e 's/-/+git/' -e 's/-/./g')
case "$debver" in [0-9]*) ;; *)
    echo "deb: version '$version' does not start with a digit (no git, no VERSION file?)" >&2
    exit 1 ;;
esac
arch=$(dpkg --print-architecture)
# Reproducible: every date in the package is the commit's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH

export DEB_BUILD_MAINT_OPTIONS=hardening=+all
build=(B="$B" PREFIX=/usr OPT="$(dpkg-buildflags --get CFLAGS)"
       EXTRA_CFLAGS="$(dpkg-buildflags --get CPPFLAGS)"
       EXTRA_LDFLAGS="$(dpkg-buildflags --get LDFLAGS)")
make -s "${build[@]}" all

# Staged where dpkg-shlibdeps looks for a package's files.
pkg=$(realpath -m "$B/pkg")
stage="$pkg/debian/jumpbox"
rm -rf "$pkg"
make -s "${build[@]}" DESTDIR="$stage" install >/dev/null
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
    "$stage/usr/bin/provisioner" "$stage/usr/bin/cleaner" \
    "$stage/usr/libexec/jumpbox/jumpbox-localbox"
gzip -9n "$stage"/usr/share/man/man1/*.1

doc="$stage/usr/share/doc/jumpbox"
install -d "$doc" "$stage/usr/share/lintian/overrides"
install -m 0644 packaging/debian/copyright "$doc/copyright"
install -m 0644 packaging/debian/lintian-overrides "$stage/usr/share/lintian/overrides/jumpbox"
{
    printf 'jumpbox (%s) unstable; urgency=medium\n\n' "$debver"
    printf '  * Built from %s.\n\n' "$version"
    printf ' -- %s  %s\n' "$MAINTAINER" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"

# dpkg-shlibdeps wants a debian/control naming the package, and DEBIAN/
# in the tree it analyses.
install -d "$stage/DEBIAN"
printf 'Source: jumpbox\n\nPackage: jumpbox\nArchitecture: any\n' >"$pkg/debian/control"
shlibs=$(cd "$pkg" && dpkg-shlibdeps -O \
    -e"$stage/usr/bin/provisioner" -e"$stage/usr/bin/cleaner" \
    -e"$stage/usr/libexec/jumpbox/jumpbox-localbox" |
    sed -n 's/^shlibs:Depends=//p')
curl_so="$(pkg-config --variable=libdir libcurl)/libcurl.so.4"
curl_pkg=$(dpkg -S "$(readlink -f "$curl_so")" | cut -d: -f1)
curl_dep=$(dpkg-query --control-show "$curl_pkg" shlibs |
    awk '$1 == "libcurl" && $2 == "4" { $1 = ""; $2 = ""; sub(/^ +/, ""); print; exit }')
if [ -z "$shlibs" ] || [ -z "$curl_dep" ]; then
    echo "deb: could not work out Depends (shlibs '$shlibs', libcurl '$curl_dep')" >&2
    exit 1
fi

sed -e "s|@VERSION@|$debver|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$MAINTAINER|" \
    -e "s|@DEPENDS@|$shlibs, $curl_dep|" \
    -e "s|@SIZE@|$(du -sk --exclude=DEBIAN "$stage" | cut -f1)|" \
    packaging/debian/control.in >"$stage/DEBIAN/control"
(cd "$stage" && find etc -type f | sed 's|^|/|' | sort) >"$stage/DEBIAN/conffiles"
(cd "$stage" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

mkdir -p "$OUT"
deb="$OUT/jumpbox_${debver}_${arch}.deb"
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
