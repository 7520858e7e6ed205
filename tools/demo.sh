#!/usr/bin/env bash
# The main job on the bundled demo organization: builds the daemon, starts
# the fake AWS endpoint (tests/fakeaws) with tests/fakeaws/scenarios/demo.json,
# shows the plan (--dry-run), runs the sweep (--once), and writes what the
# users received into demo-out/: every mail as an .eml file and every key zip
# as it was attached. No AWS account is needed. Run as root on Debian 12 to
# install the packages it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && ! dpkg -s $(cat tools/packages.txt) >/dev/null 2>&1; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update && apt-get install -y --no-install-recommends $(cat tools/packages.txt)
fi

[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
bin=build/daemon/iam-access-key-rotator

out=demo-out
rm -rf "$out"
mkdir -p "$out/state" "$out/mail"
fakelog="$out/fakeaws.log"

python3 tests/fakeaws --port 0 --scenario tests/fakeaws/scenarios/demo.json >"$fakelog" 2>&1 &
fake=$!
trap 'kill $fake 2>/dev/null; wait $fake 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	url=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$fakelog")
	[ -n "$url" ] && break
	sleep 0.1
done
[ -n "$url" ] || { echo "the fake AWS endpoint did not start:"; cat "$fakelog"; exit 1; }

sed -e "s|^state_directory = .*|state_directory = \"$PWD/$out/state\";|" \
	-e "s|^metrics_file = .*|metrics_file = \"$PWD/$out/iam-access-key-rotator.prom\";|" \
	etc/rotator.conf >"$out/rotator.conf"

export AWS_ENDPOINT_URL="$url" AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE \
	AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
	AWS_CONFIG_FILE="$PWD/$out/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$PWD/$out/no-aws-credentials" \
	AWS_EC2_METADATA_DISABLED=true

echo "== The plan (iam-access-key-rotator --dry-run): nothing is changed"
"$bin" --config "$out/rotator.conf" --dry-run || true
echo
echo "== The sweep (iam-access-key-rotator --once)"
rc=0
"$bin" --config "$out/rotator.conf" --once || rc=$?
echo "exit status $rc"
echo
echo "== The metrics file for node_exporter ($out/iam-access-key-rotator.prom), without its comments"
grep -v '^#' "$out/iam-access-key-rotator.prom" || true
echo
python3 tools/demo_export.py "$url" "$out"
