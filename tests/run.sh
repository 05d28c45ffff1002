#!/bin/sh
# run.sh: runs ghp's test suites and adds up their "N passed, N failed"
# lines into one closing line.  With no argument every suite runs (what
# "make check" does); otherwise only the named ones:
#   unit unit-asan upstream integration integration-asan lint fuzz
# A suite that dies without printing its counts counts as one failure.
set -u
cd "$(dirname "$0")/.." || exit 2

PASSED=0
FAILED=0
SKIPPED=0
LOG=build/test-logs
mkdir -p "$LOG"

# add NAME OUTPUT-FILE STATUS: fold a suite's counts into the totals.
add() {
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$2" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$1: no result line (exit $3); see $2"
		FAILED=$((FAILED + 1))
		return
	fi
	p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
	f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
	s=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+')
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + ${s:-0}))
	if [ "$3" != 0 ] && [ "$f" = 0 ]; then
		echo "$1: exit status $3 with no failed test; see $2"
		FAILED=$((FAILED + 1))
	fi
	echo "$line"
}

run_unit_dir() {
	suite=$1
	dir=$2
	if ! ls "$dir"/test_* >/dev/null 2>&1; then
		echo "$suite: no test programs in $dir (run make first)"
		FAILED=$((FAILED + 1))
		return
	fi
	for t in "$dir"/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		out="$LOG/$suite-$name.log"
		"$t" >"$out" 2>&1
		st=$?
		if [ $st != 0 ]; then
			grep -vE '[0-9]+ passed, [0-9]+ failed' "$out"
		fi
		add "$suite/$name" "$out" $st
	done
}

suite_unit() {
	echo "== unit tests"
	run_unit_dir unit build/unit
}

suite_unit_asan() {
	echo "== unit tests under ASan and UBSan"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    run_unit_dir unit-asan build/unit-asan
}

# run_py NAME COMMAND...: a suite that prints its own counts; on failure
# its other lines (what failed) are shown.
run_py() {
	name=$1
	shift
	out="$LOG/$name.log"
	"$@" >"$out" 2>&1
	st=$?
	# Its count line carries the suite's name (one program, two suites).
	sed -i "s/^[a-z-]*: \([0-9]* passed, [0-9]* failed\)/$name: \1/" "$out"
	[ $st != 0 ] && grep -vE '[0-9]+ passed, [0-9]+ failed' "$out"
	add "$name" "$out" $st
}

suite_integration() {
	echo "== integration tests (the real daemon)"
	run_py integration python3 tests/integration/run_all.py
}

# The same tests against ghp built with ASan and UBSan; a report in any
# daemon's log fails the suite (harness.TROUBLE).  LeakSanitizer is off:
# it cannot work in the sandbox.
suite_integration_asan() {
	echo "== integration tests (the daemon under ASan and UBSan)"
	run_py integration-asan env GHP_BIN=build/asan/ghp \
	    GHPCTL_BIN=build/asan/ghpctl GHP_SANITIZED=1 \
	    ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:symbolize=0 \
	    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:symbolize=0 \
	    python3 tests/integration/run_all.py -q
}

suite_upstream() {
	echo "== the GitHub stand-in's own tests"
	run_py upstream python3 tests/upstream/selftest.py
}

suite_lint() {
	echo "== man pages and sample config"
	out="$LOG/lint.log"
	: >"$out"
	p=0
	f=0
	for m in man/*.[0-9]; do
		if mandoc -Tlint -Wwarning "$m" >>"$out" 2>&1; then
			p=$((p + 1))
		else
			f=$((f + 1))
		fi
	done
	for d in "" "-D statedir=/tmp/ghp-lint/state -D ctlsock=/tmp/ghp-lint/sock -D chrootdir=/tmp/ghp-lint/empty -D ghpuser=nobody"; do
		# shellcheck disable=SC2086
		if build/ghp -n $d -f etc/ghp.conf.sample >>"$out" 2>&1; then
			p=$((p + 1))
		else
			f=$((f + 1))
		fi
	done
	echo "lint: $p passed, $f failed" >>"$out"
	[ $f != 0 ] && cat "$out"
	add lint "$out" 0
}

# fuzz_one TARGET SECONDS: one fuzz target on a copy of its corpus (or
# the corpus itself with FUZZ_GROW=1); its verdict in $LOG/fuzz-NAME.res.
fuzz_one() {
	t=$1
	name=${t##*/fuzz_}
	seeds=tests/fuzz/corpus/$name
	out="$LOG/fuzz-$name.log"
	grown=
	if [ "${FUZZ_GROW:-0}" = 1 ]; then
		dirs="$seeds"
	else
		grown=$(mktemp -d)
		dirs="$grown $seeds"
	fi
	# shellcheck disable=SC2086
	if "$t" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=build/ -print_final_stats=1 $dirs \
	    >"$out" 2>&1; then
		runs=$(grep -E 'stat::number_of_executed_units' "$out" |
		    grep -oE '[0-9]+$')
		echo "ok fuzz_$name: ${runs:-?} runs, no finding" \
		    >"$LOG/fuzz-$name.res"
	else
		echo "finding fuzz_$name: FINDING (artifact in build/)" \
		    >"$LOG/fuzz-$name.res"
	fi
	[ -n "$grown" ] && rm -rf "$grown"
	return 0
}

# Each target for FUZZ_SECONDS, FUZZ_JOBS at a time (default: 2, or 1
# on one CPU).
suite_fuzz() {
	secs=${FUZZ_SECONDS:-20}
	jobs=${FUZZ_JOBS:-$( [ "$(nproc 2>/dev/null || echo 1)" -gt 1 ] &&
	    echo 2 || echo 1)}
	echo "== fuzz targets, ${secs}s each, $jobs at a time"
	p=0
	f=0
	if ! ls build/fuzz/fuzz_* >/dev/null 2>&1; then
		echo "fuzz: no fuzz targets in build/fuzz (run make first)"
		f=1
	fi
	n=0
	for t in build/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		rm -f "$LOG/fuzz-${t##*/fuzz_}.res"
		fuzz_one "$t" "$secs" &
		n=$((n + 1))
		[ $((n % jobs)) = 0 ] && wait
	done
	wait
	for t in build/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		name=${t##*/fuzz_}
		res=$(cat "$LOG/fuzz-$name.res" 2>/dev/null)
		case "$res" in
		ok*)
			p=$((p + 1))
			echo "${res#ok }"
			;;
		*)
			f=$((f + 1))
			tail -n 40 "$LOG/fuzz-$name.log"
			echo "fuzz_$name: FINDING or no verdict (see" \
			    "$LOG/fuzz-$name.log; artifact in build/)"
			;;
		esac
	done
	echo "fuzz: $p passed, $f failed" >"$LOG/fuzz.log"
	add fuzz "$LOG/fuzz.log" 0
}

suites=${*:-unit unit-asan upstream integration integration-asan lint fuzz}
for s in $suites; do
	case $s in
	unit) suite_unit ;;
	unit-asan) suite_unit_asan ;;
	upstream) suite_upstream ;;
	integration) suite_integration ;;
	integration-asan) suite_integration_asan ;;
	lint) suite_lint ;;
	fuzz) suite_fuzz ;;
	*) echo "run.sh: unknown suite $s" >&2; exit 2 ;;
	esac
done

echo
if [ "$SKIPPED" != 0 ]; then
	echo "check: $PASSED passed, $FAILED failed, $SKIPPED skipped"
else
	echo "check: $PASSED passed, $FAILED failed"
fi
[ "$FAILED" = 0 ]
