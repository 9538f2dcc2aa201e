#!/bin/sh
# Runs the cron fuzzer for a bounded time ($FUZZ_SECONDS, default 60) and
# prints TAP: "ok 1 - fuzz cron N runs clean" or "not ok 1" with the end of
# the fuzzer's log.  cron.mk installs this script as bin/check_cron beside
# bin/fuzz_cron.  Seeds: test/fuzz/corpus_cron; new inputs go to
# test/fuzz/corpus-work/cron, a failing input to test/fuzz/artifacts.
bin=$(cd "$(dirname "$0")" && pwd)
dir=$(dirname "$bin")
seconds=${FUZZ_SECONDS:-60}
seed=${FUZZ_SEED:-0}
log=$dir/fuzz_cron.log

echo "1..1"
mkdir -p "$dir/corpus-work/cron" "$dir/artifacts"
"$bin/fuzz_cron" -max_total_time="$seconds" -seed="$seed" \
	-dict="$dir/cron.dict" -max_len=256 -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$dir/artifacts/cron-" "$dir/corpus-work/cron" \
	"$dir/corpus_cron" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
used=$(sed -n 's/.*Seed: \([0-9]*\).*/\1/p' "$log" | head -1)
if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
	echo "ok 1 - fuzz cron $runs runs clean"
	echo "# $seconds s, seed $used"
	exit 0
fi
echo "not ok 1 - fuzz cron failed (exit $rc, seed $used)"
tail -n 40 "$log" | sed 's/^/# /'
exit 1
