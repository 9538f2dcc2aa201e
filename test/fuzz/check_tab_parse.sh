#!/bin/sh
# Runs the tab_parse fuzzer for a bounded time ($FUZZ_SECONDS, default 60)
# and prints TAP: "ok 1 - fuzz tab_parse N runs clean" or "not ok 1" with
# the end of the fuzzer's log.  `make -C test/fuzz` installs this script as
# bin/check_tab_parse beside bin/fuzz_tab_parse.  Seeds: test/fuzz/corpus
# and $RACING_SCHED_FIXTURES; new inputs go to test/fuzz/corpus-work, a
# crashing input to test/fuzz/artifacts.
bin=$(cd "$(dirname "$0")" && pwd)
dir=$(dirname "$bin")
seconds=${FUZZ_SECONDS:-60}
seed=${FUZZ_SEED:-0}
fixtures=${RACING_SCHED_FIXTURES:-$(cd "$dir/../../.." && pwd)/shared/fixtures/tab}
log=$dir/fuzz.log
seeds=$dir/corpus
[ -d "$fixtures" ] && seeds="$seeds $fixtures"

echo "1..1"
mkdir -p "$dir/corpus-work" "$dir/artifacts"
# shellcheck disable=SC2086
"$bin/fuzz_tab_parse" -max_total_time="$seconds" -seed="$seed" \
	-dict="$dir/tab.dict" -max_len=65536 -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$dir/artifacts/" "$dir/corpus-work" $seeds >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
used=$(sed -n 's/.*Seed: \([0-9]*\).*/\1/p' "$log" | head -1)
if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
	echo "ok 1 - fuzz tab_parse $runs runs clean"
	echo "# $seconds s, seed $used, seeds from: $seeds"
	exit 0
fi
echo "not ok 1 - fuzz tab_parse failed (exit $rc, seed $used)"
tail -n 40 "$log" | sed 's/^/# /'
exit 1
