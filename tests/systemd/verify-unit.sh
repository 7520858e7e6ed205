#!/bin/sh
# Checks the unit file without booting systemd: `systemd-analyze verify` must
# be silent and `systemd-analyze security --offline` must rate the sandbox at
# most 1.5 (the scale is 0-10, lower is better).
#
# usage: verify-unit.sh UNIT-TEMPLATE DOCS-DIR
# UNIT-TEMPLATE is systemd/iam-access-key-rotator.service.in with @sbindir@ not
# yet substituted; ExecStart= must name an existing binary for verify, so it
# is pointed at /bin/true. The man pages in DOCS-DIR back Documentation=
# (and are checked to render without roff warnings).
set -eu

unit_in=$1
docs=$2
threshold=${AKR_SECURITY_THRESHOLD:-15} # tenths: 15 = 1.5
analyze=${SYSTEMD_ANALYZE:-systemd-analyze}

if ! command -v "$analyze" >/dev/null 2>&1; then
	echo "SKIP: systemd-analyze not found"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

unit=$tmp/iam-access-key-rotator.service
sed 's|@sbindir@/iam-access-key-rotator|/bin/true|' "$unit_in" >"$unit"
if grep -n '@[a-z_]*@' "$unit"; then
	echo "FAIL: unsubstituted @variables@ left in the unit"
	exit 1
fi

# Documentation=man:... is checked by running man(1): give it our pages.
mkdir -p "$tmp/man/man5" "$tmp/man/man8"
cp "$docs/iam-access-key-rotator.8" "$tmp/man/man8/"
cp "$docs/rotator.conf.5" "$tmp/man/man5/"
export MANPATH="$tmp/man"
if command -v groff >/dev/null 2>&1; then
	echo "== man pages render without warnings"
	for page in "$tmp/man/man8/iam-access-key-rotator.8" "$tmp/man/man5/rotator.conf.5"; do
		if ! groff -man -Tutf8 -ww -z "$page" 2>"$tmp/groff.out" || [ -s "$tmp/groff.out" ]; then
			cat "$tmp/groff.out"
			echo "FAIL: $(basename "$page") has roff warnings"
			exit 1
		fi
	done
	echo "clean"
fi

echo "== systemd-analyze verify"
if ! "$analyze" verify "$unit" >"$tmp/verify.out" 2>&1; then
	cat "$tmp/verify.out"
	echo "FAIL: systemd-analyze verify failed"
	exit 1
fi
if [ -s "$tmp/verify.out" ]; then
	cat "$tmp/verify.out"
	echo "FAIL: systemd-analyze verify is not clean"
	exit 1
fi
echo "clean"

echo "== systemd-analyze security --offline=true --threshold=$threshold"
# Run from the unit's directory: offline mode takes a path.
status=0
(cd "$tmp" && "$analyze" security --offline=true --threshold="$threshold" \
	./iam-access-key-rotator.service) >"$tmp/security.out" 2>&1 || status=$?
grep -E '✗|Overall exposure' "$tmp/security.out" || true
if [ "$status" -ne 0 ]; then
	echo "FAIL: exposure above $((threshold / 10)).$((threshold % 10)) (or systemd-analyze failed, status $status)"
	exit 1
fi
grep -q 'Overall exposure level' "$tmp/security.out" || {
	cat "$tmp/security.out"
	echo "FAIL: no exposure level in the output"
	exit 1
}
echo "PASS"
