#!/bin/sh
# Prints jumpbox's version: the VERSION file of a release tarball (make
# dist), else `git describe` of this clone, else "unknown".  Tags are
# v<semver>; before the first tag the clone reads as 0.0.0-<commits>-g<hash>,
# git describe's own shape.  --no-dirty leaves off "-dirty" (make dist packs
# HEAD, not the work tree).
cd "$(dirname "$0")/.." || exit 1
# `sudo make install` runs this as root in someone else's clone, which git
# refuses as "dubious ownership"; whoever runs our Makefile trusts the clone.
git() { command git -c safe.directory="$PWD" "$@"; }
dirty=--dirty
[ "${1:-}" = --no-dirty ] && dirty=
if [ -f VERSION ]; then
    head -n 1 VERSION
elif [ -e .git ] && v=$(git describe --tags --match 'v[0-9]*' $dirty 2>/dev/null); then
    echo "${v#v}"
elif [ -e .git ] && h=$(git describe --always --abbrev=7 $dirty 2>/dev/null); then
    echo "0.0.0-$(git rev-list --count HEAD)-g$h"
else
    echo unknown
fi
