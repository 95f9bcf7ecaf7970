#!/usr/bin/env bash
# `make image`: the build and clean functions as one OCI image for Lambda
# (docs/lambda.md "The image").  Built with umoci from an empty image, so it
# needs nothing from a base image; three gzip layers, oldest first:
#
#   1 terraform   /opt/bin/terraform, the AWS provider as an unpacked plugin
#                 mirror in /opt/terraform/plugins, /opt/terraform/terraformrc
#                 (a CLI config that never reaches the network).  Hundreds of
#                 MB that change only with a Terraform or provider upgrade.
#   2 system      the ELF loader, glibc and every shared library the programs
#                 load (libcurl too, which they dlopen), CA certificates, the
#                 mount points Lambda and the tests' sandbox use.
#   3 code        /var/task/bin/{provisioner,cleaner}, /var/task/terraform
#                 (aws/, local/), /var/task/userdata: megabytes; of the last
#                 three, only the files git tracks (so build from a clone).
#
# Reproducible: every mtime is SOURCE_DATE_EPOCH (default 0), modes are
# normalised (dirs 0755, files 0644, executables 0755), owner root, the config
# and history carry that same time, and the C sources are compiled with
# -ffile-prefix-map, so the same inputs give the same manifest digest.
#
# Inputs: JUMPBOX_TERRAFORM (or terraform on PATH), JUMPBOX_TF_PLUGIN_DIR (an
# unpacked mirror: registry.terraform.io/hashicorp/aws/<v>/linux_<arch>/),
# MODULE_VARS (optional: a JSON file of terraform/aws variables, put at
# /var/task/module-vars.json).  Output: $IMAGE_OUT (dist/image)/oci, an OCI
# layout whose one manifest is tagged "jumpbox"; $IMAGE_OUT/digest holds its
# digest, the one `make push` pushes and terraform/control-plane pins.
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

OUT=$(realpath -m "${IMAGE_OUT:-dist/image}")
B=$(realpath -m "${IMAGE_BUILD:-build-image}")
TAG=jumpbox
EPOCH=${SOURCE_DATE_EPOCH:-0}
CREATED=$(date -u -d "@$EPOCH" +%Y-%m-%dT%H:%M:%SZ)

die() {
    echo "image: $*" >&2
    exit 1
}

for c in umoci cc make strip ldd readelf; do
    command -v "$c" >/dev/null || die "$c not found: bash tests/deps.sh installs it"
done

# ---- inputs -----------------------------------------------------------------
# The code layer takes only what git tracks under the modules and the user
# data, as the working tree has it: whatever else lies there (a *.tfplan with
# secrets in clear, an override.tf that changes the module, an .env) stays
# out.  `sudo make image` in someone else's clone: git calls that "dubious
# ownership"; whoever runs our Makefile trusts the clone (as version.sh).
git() { command git -c safe.directory="$PWD" "$@"; }
top=$(git rev-parse --show-toplevel 2>/dev/null) && [ "$(realpath "$top")" = "$(realpath .)" ] ||
    die "$PWD is not a git clone: the image takes only the files git tracks, so build it from one"
mapfile -d '' -t CODE_FILES < <(git ls-files -z --cached -- terraform/aws terraform/local userdata)
for f in terraform/aws/main.tf terraform/local/main.tf userdata/main.tf; do
    git ls-files --error-unmatch -- "$f" >/dev/null 2>&1 || die "$f is not tracked by git"
done

TF=${JUMPBOX_TERRAFORM:-}
[ -n "$TF" ] || TF=$(command -v terraform || true)
if [ -z "$TF" ] || [ ! -x "$TF" ]; then
    die "terraform not found: install it, or set JUMPBOX_TERRAFORM to its path"
fi
TF=$(readlink -f "$TF")

case "$(uname -m)" in
x86_64) ARCH=amd64 ;;
aarch64) ARCH=arm64 ;;
*) die "unsupported machine $(uname -m)" ;;
esac

[ -n "${JUMPBOX_TF_PLUGIN_DIR:-}" ] ||
    die "JUMPBOX_TF_PLUGIN_DIR is not set: point it at an unpacked provider mirror, the
directory holding registry.terraform.io/hashicorp/aws/<version>/linux_$ARCH/terraform-provider-aws_*
(make one with \`terraform providers mirror -platform=linux_$ARCH DIR\`, then unzip each
provider zip into registry.terraform.io/hashicorp/aws/<version>/linux_$ARCH/)"
MIRROR=$JUMPBOX_TF_PLUGIN_DIR
[ -d "$MIRROR" ] || die "JUMPBOX_TF_PLUGIN_DIR: $MIRROR is not a directory"
# An unpacked mirror: Terraform symlinks it into .terraform at init, where a
# packed (zip) one would be unpacked into /tmp on every cold start.
mapfile -t PROVIDERS < <(find "$MIRROR/registry.terraform.io/hashicorp/aws" -mindepth 3 -maxdepth 3 \
    -path "*/linux_$ARCH/terraform-provider-aws_*" -type f -perm -u+x 2>/dev/null | sort)
if [ "${#PROVIDERS[@]}" -eq 0 ]; then
    if find "$MIRROR" -name "terraform-provider-aws_*_linux_$ARCH.zip" 2>/dev/null | grep -q .; then
        die "JUMPBOX_TF_PLUGIN_DIR: $MIRROR is a packed mirror (zips): unzip each into
registry.terraform.io/hashicorp/aws/<version>/linux_$ARCH/ (the unpacked layout)"
    fi
    die "JUMPBOX_TF_PLUGIN_DIR: no registry.terraform.io/hashicorp/aws/<version>/linux_$ARCH/terraform-provider-aws_* under $MIRROR"
fi
TF_VERSION=$("$TF" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p')
[ -n "$TF_VERSION" ] || die "$TF does not answer \`version -json\`"
PROVIDER_VERSIONS=$(for p in "${PROVIDERS[@]}"; do basename "$(dirname "$(dirname "$p")")"; done | paste -sd, -)

if [ -n "${MODULE_VARS:-}" ]; then
    [ -f "$MODULE_VARS" ] || die "MODULE_VARS: $MODULE_VARS is not a file"
fi

# ---- the programs -----------------------------------------------------------
# Release build of its own, with build paths mapped out of the binaries, and
# linked for a Lambda cold start (bench/RESULTS.md, cold start): libssh2,
# libcrypto, libsodium, expat and zlib static, so the loader maps and
# relocates only glibc and cJSON (Debian ships no libcjson.a), and a DT_RPATH
# (--disable-new-dtags: a DT_RUNPATH would come after LD_LIBRARY_PATH) naming
# the image's library directory, searched before Lambda's LD_LIBRARY_PATH and
# its eight directories the image does not have, each with its hwcaps
# subdirectories.  The rpath also serves libcurl and its libraries, which
# lib/net/curl_dl.c dlopen()s at the first AWS call; they bring their own
# shared libcrypto, which the programs do not export theirs to.  And packed
# relative relocations (DT_RELR, glibc 2.36+): the static libcrypto brings
# ~17,000 of them, 420 KB of RELA the loader reads at every start, 6 KB as RELR.
LIBDIR=/usr/lib/$(cc -print-multiarch)
STATIC_LIBS="-lssh2 -lcrypto -lsodium -lexpat -lz"
make -s B="$B" OPT="-O2 -g" EXTRA_CFLAGS="-ffile-prefix-map=$PWD=." \
    EXTRA_LDFLAGS="-Wl,--disable-new-dtags,-rpath,$LIBDIR -Wl,-z,pack-relative-relocs" \
    PKG_LIBS="-Wl,-Bstatic $STATIC_LIBS -Wl,-Bdynamic $(pkg-config --libs libcjson) -pthread" \
    "$B/provisioner" "$B/cleaner"
for p in provisioner cleaner; do
    readelf -dW "$B/$p" | grep -q "(RPATH).*\[$LIBDIR\]" || die "$B/$p has no DT_RPATH $LIBDIR"
done

rm -rf "$OUT/oci" "$B/bundle" "$B/stage"
mkdir -p "$OUT" "$B/stage"
S=$B/bundle/rootfs

umoci init --layout "$OUT/oci"
umoci new --image "$OUT/oci:$TAG"
rootless=()
[ "$(id -u)" -eq 0 ] || rootless=(--rootless)
umoci unpack "${rootless[@]}" --image "$OUT/oci:$TAG" "$B/bundle" >/dev/null

# Modes and times as the layer must hold them.
normalise() {
    find "$S" -type d -exec chmod 0755 {} +
    find "$S" -type f -perm -u+x -exec chmod 0755 {} +
    find "$S" -type f ! -perm -u+x -exec chmod 0644 {} +
    [ ! -d "$S/tmp" ] || chmod 1777 "$S/tmp"
    find "$S" -exec touch -h -d "@$EPOCH" {} +
    if find "$S" -type l | grep -q .; then
        die "a symlink in the image: $(find "$S" -type l | head -1)"
    fi
}

layer() { # created_by
    normalise
    umoci repack --refresh-bundle --image "$OUT/oci:$TAG" --history.created "$CREATED" \
        --history.author jumpbox --history.created_by "$1" "$B/bundle"
}

# ---- layer 1: terraform -----------------------------------------------------
echo "image: layer 1: terraform $TF_VERSION, hashicorp/aws $PROVIDER_VERSIONS (linux_$ARCH)" >&2
mkdir -p "$S/opt/bin" "$S/opt/terraform/plugins"
cp "$TF" "$S/opt/bin/terraform"
for p in "${PROVIDERS[@]}"; do
    rel=${p#"$MIRROR"/}
    mkdir -p "$S/opt/terraform/plugins/$(dirname "$rel")"
    # The platform directory whole: the provider and its LICENSE.
    cp -r "$(dirname "$p")/." "$S/opt/terraform/plugins/$(dirname "$rel")/"
done
cat >"$S/opt/terraform/terraformrc" <<'EOF'
# The function's Terraform CLI config (TF_CLI_CONFIG_FILE): providers come only
# from the image's unpacked mirror, never from a registry, and no version check.
disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path    = "/opt/terraform/plugins"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
EOF
layer "terraform $TF_VERSION; hashicorp/aws $PROVIDER_VERSIONS unpacked in /opt/terraform/plugins"

# ---- layer 2: loader, libraries, certificates --------------------------------
echo "image: layer 2: loader, shared libraries, CA certificates" >&2
mkdir -p "$S$LIBDIR" "$S/etc/ssl/certs" "$S/tmp" "$S/proc" "$S/dev" "$S/var/task"
CURL_SO="$(pkg-config --variable=libdir libcurl)/libcurl.so.4"
[ -e "$CURL_SO" ] || die "$CURL_SO not found: install libcurl4"
interp=
# Every ELF the image runs, and libcurl, which lib/net/curl_dl.c dlopen()s on the
# first AWS call (so ldd of the programs does not show it).
ELVES=("$B/provisioner" "$B/cleaner" "$CURL_SO" "$TF" "${PROVIDERS[@]}")
for elf in "${ELVES[@]}"; do
    i=$(readelf -lW "$elf" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
    [ -z "$i" ] || [ -z "$interp" ] || [ "$i" = "$interp" ] || die "$elf wants loader $i, others $interp"
    [ -z "$i" ] || interp=$i
done
{
    echo "libcurl.so.4 $CURL_SO"
    for elf in "${ELVES[@]}"; do
        readelf -dW "$elf" | grep -q '(NEEDED)' || continue # static: nothing to load
        ldd "$elf" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
    done
} | sort -u >"$B/stage/libs"
[ -n "$interp" ] || die "no ELF interpreter found in the programs"
while read -r soname path; do
    # By the name the loader looks for, as a plain file in a directory it
    # searches without /etc/ld.so.cache.
    cp -L "$path" "$S$LIBDIR/$soname"
done <"$B/stage/libs"
mkdir -p "$S$(dirname "$interp")"
cp -L "$interp" "$S$interp"
"$S$interp" --help | grep -q "^  $LIBDIR (system search path)" ||
    die "$interp does not search $LIBDIR by default"
cp -L /etc/ssl/certs/ca-certificates.crt "$S/etc/ssl/certs/ca-certificates.crt" ||
    die "no /etc/ssl/certs/ca-certificates.crt: install ca-certificates"
layer "ELF loader $interp, $(wc -l <"$B/stage/libs") shared libraries in $LIBDIR, CA certificates"

# ---- layer 3: our code --------------------------------------------------------
echo "image: layer 3: provisioner, cleaner, terraform/, userdata/" >&2
mkdir -p "$S/var/task/bin" "$S/var/task/terraform"
for p in provisioner cleaner; do
    cp "$B/$p" "$S/var/task/bin/$p"
    strip --strip-unneeded "$S/var/task/bin/$p"
done
for f in "${CODE_FILES[@]}"; do
    [ -f "$f" ] || die "$f is tracked by git but not a file in the working tree"
    mkdir -p "$S/var/task/$(dirname "$f")"
    cp "$f" "$S/var/task/$f"
done
[ -z "${MODULE_VARS:-}" ] || cp "$MODULE_VARS" "$S/var/task/module-vars.json"
layer "provisioner, cleaner, terraform/aws, terraform/local, userdata"

# ---- configuration ------------------------------------------------------------
# The entry point runs the build function; the clean function overrides it
# with image_config.entry_point = ["/var/task/bin/cleaner"] (docs/lambda.md).
umoci config --image "$OUT/oci:$TAG" --no-history --created "$CREATED" --author jumpbox \
    --architecture "$ARCH" --os linux \
    --config.entrypoint /var/task/bin/provisioner --config.workingdir /var/task \
    --config.env "PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin" \
    --config.env "LAMBDA_TASK_ROOT=/var/task" \
    --config.env "JUMPBOX_TERRAFORM=/opt/bin/terraform" \
    --config.env "JUMPBOX_TF_PLUGIN_DIR=/opt/terraform/plugins" \
    --config.env "TF_CLI_CONFIG_FILE=/opt/terraform/terraformrc" \
    --config.env "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
    --config.label "org.opencontainers.image.title=jumpbox" \
    --config.label "jumpbox.terraform.version=$TF_VERSION" \
    --config.label "jumpbox.provider.aws.version=$PROVIDER_VERSIONS"
umoci gc --layout "$OUT/oci"
rm -rf "$B/bundle" "$B/stage"

# One manifest (Lambda refuses an index), tagged $TAG.
digest=$(python3 - "$OUT/oci" "$TAG" <<'EOF'
import json, sys
idx = json.load(open(sys.argv[1] + "/index.json"))
(m,) = idx["manifests"]
assert m["annotations"]["org.opencontainers.image.ref.name"] == sys.argv[2]
assert m["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
print(m["digest"])
EOF
)
echo "$digest" >"$OUT/digest"
echo "image: $OUT/oci:$TAG $digest" >&2
