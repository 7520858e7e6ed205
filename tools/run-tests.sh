#!/usr/bin/env bash
# Runs every test suite twice: a plain build with -Werror, and a build under
# AddressSanitizer + UndefinedBehaviorSanitizer; then the libFuzzer targets in
# a clang build. Installs the Debian packages
# it needs first when run as root on a machine that lacks them. Prints
# "N skipped" and then "N passed, N failed" (all builds together) as its last
# two lines and exits non-zero if anything failed or was skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && ! dpkg -s $(cat tools/packages.txt) >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update && apt-get install -y --no-install-recommends $(cat tools/packages.txt) || exit 2
fi

status=0
run_build() { # name, meson options...
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" || return 2
	else
		meson setup --reconfigure "$dir" "$@" >/dev/null || return 2
	fi
	ninja -C "$dir" || return 2
	meson test -C "$dir" --print-errorlogs --num-processes 2 || status=1
}

run_build build-ci -Dwerror=true || status=2
# The sanitizer build runs every suite but the container boot (slow, and the
# binary under test there is the plain one).
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_build build-ci-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
	-Dsystemd_tests=disabled || status=2

# libFuzzer: a clang build of the fuzz targets (tests/fuzz/README.md), each run
# for fuzz_seconds (15 s; 11 targets, two at a time: about 1.5 minutes). The gcc
# builds above replay the corpora and run a short deterministic mutation.
run_fuzz() {
	local dir=build-ci-fuzz
	if [ ! -f "$dir/build.ninja" ]; then
		CC=clang meson setup "$dir" -Dwerror=true -Dfuzzing=true -Db_sanitize=address,undefined \
			-Db_lundef=false -Dsystemd_tests=disabled || return 2
	fi
	ninja -C "$dir" || return 2
	meson test -C "$dir" --suite fuzz --print-errorlogs --num-processes 2 || status=1
}
run_fuzz || status=2

# Skips are counted apart and fail the run: a test that did not run did not
# pass (a missing prerequisite is a failure; see tests/systemd/README.md for
# the one test that may exit 77).
python3 - <<'PY' || status=1
import json, sys
passed = failed = skipped = 0
for d in ("build-ci", "build-ci-asan", "build-ci-fuzz"):
    try:
        with open(f"{d}/meson-logs/testlog.json") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                res = r.get("result")
                if res in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif res == "SKIP":
                    skipped += 1
                    print(f"SKIPPED ({d}): {r.get('name')}")
                else:
                    failed += 1
    except FileNotFoundError:
        failed += 1
print(f"{skipped} skipped (a skip fails the run)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if skipped or failed else 0)
PY
exit $status
