# Shell helpers of the benchmarks (bench/NAME/run): installing what they
# need, and writing bench/NAME/results.tsv, the lines bench/run gathers.
# Source it after test/lib/common.sh; it defines functions, nothing else.

# Install the packages of test/packages and bench/packages that are
# missing, then build and install the extension with $PG_CONFIG.
bench_prepare() {
	rs_ensure_packages "$RS_ROOT/test/packages" "$RS_ROOT/bench/packages" &&
		rs_build_install >/dev/null
}

# bench_require_library NAME: fail unless $PG_CONFIG's installation has
# library NAME (a baseline such as pg_cron is installed there by its package).
bench_require_library() {
	local lib
	lib=$($PG_CONFIG --pkglibdir)/$1.so
	[ -f "$lib" ] && return 0
	rs_log "$lib is missing (the Debian package installs it under /usr/lib/postgresql/15/lib)"
	return 1
}

# bench_results FILE: read "measure|ours|baseline|unit|baseline name" lines
# on stdin and write them tab-separated to FILE (bench/NAME/results.tsv).
bench_results() {
	awk -F'|' -v OFS='\t' 'NF == 5 { print $1, $2, $3, $4, $5 }' >"$1.tmp" && mv "$1.tmp" "$1"
}
