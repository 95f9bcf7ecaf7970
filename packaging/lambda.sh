#!/usr/bin/env bash
# Builds dist/build.zip and dist/clean.zip for the provided.al2023 custom
# runtime (docs/lambda.md).  Each zip holds:
#   bootstrap    the provisioner (build) or the cleaner (clean) itself
#   lib/         every shared library it needs but glibc's own, found via
#                an RPATH of $ORIGIN/lib that wins over the system's copies
#   terraform/   the jump-box modules (JUMPBOX_MODULE_DIR defaults there)
# and is checked with objdump -T: nothing may need a GLIBC symbol version
# newer than 2.34, the glibc of Amazon Linux 2023.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_GLIBC=2.34
B=build-lambda
OUT=dist

make -s B="$B" EXTRA_LDFLAGS='-Wl,-rpath,\$$ORIGIN/lib -Wl,--disable-new-dtags' \
    "$B/provisioner" "$B/cleaner"

# glibc itself comes from the runtime image and must match its loader.
is_glibc() {
    case "$(basename "$1")" in
    libc.so.* | libm.so.* | libdl.so.* | librt.so.* | libpthread.so.* | libresolv.so.* | \
        libutil.so.* | libanl.so.* | libnss_*.so.* | ld-linux*.so.* | linux-vdso.so.*) return 0 ;;
    esac
    return 1
}

newest_glibc() {
    { objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' || true; } | sed 's/GLIBC_//' | sort -uV | tail -1
}

check_glibc() {
    local need
    need=$(newest_glibc "$1")
    if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$MAX_GLIBC" | sort -V | tail -1)" != "$MAX_GLIBC" ]; then
        echo "lambda: $1 needs GLIBC_$need, newer than AL2023's $MAX_GLIBC" >&2
        return 1
    fi
    echo "lambda:   $(basename "$1"): newest GLIBC symbol version ${need:-none}"
}

package() {
    local name=$1 bin=$2 stage="$B/stage-$1"
    rm -rf "$stage"
    mkdir -p "$stage/lib" "$OUT"
    cp -L "$B/$bin" "$stage/bootstrap"
    strip --strip-unneeded "$stage/bootstrap"
    ldd "$B/$bin" | awk '/=> \//{print $3}' | while read -r lib; do
        is_glibc "$lib" && continue
        cp -L "$lib" "$stage/lib/"
        strip --strip-unneeded "$stage/lib/$(basename "$lib")"
    done
    cp -r terraform "$stage/terraform"
    echo "lambda: $name.zip"
    check_glibc "$stage/bootstrap"
    for lib in "$stage"/lib/*; do check_glibc "$lib"; done
    rm -f "$OUT/$name.zip"
    (cd "$stage" && /usr/bin/python3 -m zipfile -c "../../$OUT/$name.zip" bootstrap lib terraform)
}

package build provisioner
package clean cleaner
ls -l "$OUT"/build.zip "$OUT"/clean.zip
