#!/bin/sh
# `meson install` never replaces an operator's configuration: a first install
# into an empty staging root puts the sample in place as rotator.conf (so a
# package build gets it), a second one over an edited rotator.conf keeps the
# edit, and the sample is always installed as rotator.conf.sample beside the
# documentation.
#
# usage: install-keeps-config.sh BUILD-DIR CONFIG-PATH SAMPLE-PATH SOURCE-SAMPLE
# CONFIG-PATH and SAMPLE-PATH are the absolute install paths (without DESTDIR).
set -eu

build=$1
config=$2
sample=$3
source_sample=$4

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root

install_once() {
	if ! meson install -C "$build" --no-rebuild --destdir "$dest" >"$tmp/install.out" 2>&1; then
		cat "$tmp/install.out"
		echo "FAIL: meson install failed"
		exit 1
	fi
}

echo "== first install into an empty root"
install_once
if ! cmp -s "$dest$config" "$source_sample"; then
	echo "FAIL: the first install did not put the sample at $config"
	exit 1
fi
if ! cmp -s "$dest$sample" "$source_sample"; then
	echo "FAIL: the sample is not installed as $sample"
	exit 1
fi
echo "ok: $config and $sample installed"

echo "== second install over an edited configuration"
marker="# edited by the operator $$"
echo "$marker" >>"$dest$config"
install_once
if ! grep -qxF "$marker" "$dest$config"; then
	grep -i "rotator.conf" "$tmp/install.out" || true
	echo "FAIL: meson install replaced the edited $config"
	exit 1
fi
if ! cmp -s "$dest$sample" "$source_sample"; then
	echo "FAIL: the sample $sample was not refreshed"
	exit 1
fi
grep -i "keeping" "$tmp/install.out" || true
echo "ok: the edited $config was kept"
