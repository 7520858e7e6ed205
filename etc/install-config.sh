#!/bin/sh
# meson install script: puts the sample configuration in place as
# rotator.conf only when there is none yet. An operator's edited file is never
# replaced (install_data() would overwrite it on every `meson install`); the
# new sample is always installed beside the documentation
# (rotator.conf.sample) for comparison.
#
# usage: install-config.sh SAMPLE TARGET
# TARGET is absolute; meson's $DESTDIR (a staging root, e.g. a Debian
# package's) is prepended, so a package build always gets the file.
set -eu

sample=$1
target=${DESTDIR:-}$2

if [ -e "$target" ] || [ -L "$target" ]; then
	echo "Keeping the existing $target (the new sample is rotator.conf.sample in the documentation directory)"
	exit 0
fi
if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
	echo "Would install $target"
	exit 0
fi
mkdir -p "$(dirname "$target")"
# 0644: the service's dynamic user reads it (see the unit file).
install -m 0644 "$sample" "$target"
echo "Installing $target"
