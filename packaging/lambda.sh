#!/usr/bin/env bash
# Builds dist/build.zip and dist/clean.zip for the provided.al2023 custom
# runtime (docs/lambda.md).  Each zip holds:
#   bootstrap    the provisioner (build) or the cleaner (clean) itself
#   lib/         every shared library it needs but glibc's own, found via
#                an RPATH of $ORIGIN/lib that wins over the system's copies;
#                also libcurl.so.4 and its libraries, which lib/curl_dl.c
#                dlopen()s on the first AWS call (dlopen honours that RPATH)
#                and which ldd of the binary therefore does not show
#   terraform/   the jump-box modules aws/ and local/ (JUMPBOX_MODULE_DIR
#                defaults there), not control-plane/, which deploys these zips
#   userdata/    the cloud-init module terraform/aws calls as ../../userdata
# and is checked with objdump -T: nothing may need a GLIBC symbol version
# newer than 2.34, the glibc of Amazon Linux 2023.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_GLIBC=2.34
B=build-lambda
OUT=dist

# expat is linked statically, with packaging/arc4random_compat.c: Debian's
# shared libexpat needs GLIBC_2.36 (arc4random_buf).
mkdir -p "$B"
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -c -o "$B/arc4random_compat.o" \
    packaging/arc4random_compat.c
libs="$(pkg-config --libs openssl libssh2 libcjson libsodium) \
-Wl,-Bstatic $(pkg-config --libs --static expat | sed 's/-lm//') -Wl,-Bdynamic -lm $B/arc4random_compat.o"
rm -f "$B/provisioner" "$B/cleaner"
# shellcheck disable=SC2016 # $ORIGIN is for the linker, not the shell
make -s B="$B" EXTRA_LDFLAGS='-Wl,-rpath,\$$ORIGIN/lib -Wl,--disable-new-dtags' \
    PKG_LIBS="$libs" "$B/provisioner" "$B/cleaner"
if ldd "$B/provisioner" | grep -q libexpat; then
    echo "lambda: $B/provisioner still loads a shared libexpat" >&2
    exit 1
fi

# Loaded lazily (lib/curl_dl.c): the one the headers we built with belong to.
CURL_SO="$(pkg-config --variable=libdir libcurl)/libcurl.so.4"
if [ ! -e "$CURL_SO" ]; then
    echo "lambda: $CURL_SO not found: install libcurl4" >&2
    exit 1
fi

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
    { ldd "$B/$bin" && echo "x => $CURL_SO (0)" && ldd "$CURL_SO"; } |
        awk '/=> \//{print $3}' | sort -u | while read -r lib; do
        is_glibc "$lib" && continue
        cp -L "$lib" "$stage/lib/"
        strip --strip-unneeded "$stage/lib/$(basename "$lib")"
    done
    mkdir -p "$stage/terraform"
    cp -r terraform/aws terraform/local "$stage/terraform/"
    cp -r userdata "$stage/userdata"
    echo "lambda: $name.zip"
    check_glibc "$stage/bootstrap"
    for lib in "$stage"/lib/*; do check_glibc "$lib"; done
    rm -f "$OUT/$name.zip"
    (cd "$stage" && /usr/bin/python3 -m zipfile -c "../../$OUT/$name.zip" bootstrap lib terraform userdata)
}

# The zip's own modules must stand alone: unzip build.zip, call its
# terraform/aws from a root module beside it (as lib/stackcfg does, by a
# relative path), and let Terraform resolve ../../userdata and validate.
# Needs the offline provider mirror, so only when JUMPBOX_TF_PLUGIN_DIR is set.
validate_zip() {
    local dir tf=${JUMPBOX_TERRAFORM:-terraform}
    if [ -z "${JUMPBOX_TF_PLUGIN_DIR:-}" ]; then
        echo "lambda: JUMPBOX_TF_PLUGIN_DIR unset: not validating the zip's terraform/aws"
        return 0
    fi
    dir=$(mktemp -d)
    /usr/bin/python3 -m zipfile -e "$OUT/$1.zip" "$dir/pkg"
    mkdir "$dir/root"
    cat >"$dir/root/main.tf" <<'EOF'
module "box" {
  source           = "../pkg/terraform/aws"
  stack_id         = "jb-validate"
  requester        = "packaging"
  public_key       = "ssh-ed25519 AAAA"
  host_private_key = "x"
  host_public_key  = "ssh-ed25519 AAAA"
  expires_at       = "2030-01-01T00:00:00Z"
  allow_cidr       = "192.0.2.0/24"
}
EOF
    if TF_DATA_DIR="$dir/root/.terraform" "$tf" -chdir="$dir/root" init -backend=false \
        -input=false -no-color -plugin-dir="$JUMPBOX_TF_PLUGIN_DIR" >"$dir/log" 2>&1 &&
        TF_DATA_DIR="$dir/root/.terraform" "$tf" -chdir="$dir/root" validate -no-color \
            >>"$dir/log" 2>&1; then
        echo "lambda: $1.zip: terraform init + validate of its terraform/aws: ok"
        rm -rf "$dir"
    else
        cat "$dir/log" >&2
        rm -rf "$dir"
        echo "lambda: $1.zip: terraform/aws does not validate on its own" >&2
        return 1
    fi
}

package build provisioner
package clean cleaner
validate_zip build
ls -l "$OUT"/build.zip "$OUT"/clean.zip
