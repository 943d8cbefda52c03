# lib.sh: TAP helpers for the end-to-end tests.  Source it first:
#	. "$(dirname "$0")/lib.sh"
# It sets TOP (the source tree), BIN (the binaries under test, from
# $DUO_BIN, default TOP), puts BIN first in PATH, makes a scratch
# directory T that is removed on exit, and counts tests.  A test script
# ends with `finish`, which prints the plan and exits 1 if any failed.

set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "${DUO_BIN:-$TOP}" && pwd)
PATH="$BIN:$PATH"
export TOP BIN PATH
LC_ALL=C
export LC_ALL
unset DUO_CONF DUO_IKEY DUO_SKEY DUO_HOST
T=$(mktemp -d "${TMPDIR:-/tmp}/duo-e2e.XXXXXX") || exit 1
_n=0
_failed=0
_cleanup_hooks=
trap '_cleanup' EXIT
trap 'exit 1' HUP INT TERM

_cleanup() {
	for _h in $_cleanup_hooks; do
		"$_h" || :
	done
	rm -rf "$T"
}

# at_exit FUNC: run FUNC when the script exits.
at_exit() {
	_cleanup_hooks="$_cleanup_hooks $1"
}

_pass() {
	_n=$((_n + 1))
	echo "ok $_n - $1"
}

_fail() {
	_n=$((_n + 1))
	_failed=$((_failed + 1))
	echo "not ok $_n - $1"
}

# diag FILE: print a file as TAP comments.
diag() {
	[ -s "$1" ] && sed -n '1,40s/^/# /p' "$1"
	return 0
}

# ok DESC CMD...: CMD must exit 0.
ok() {
	_d=$1
	shift
	if "$@" >"$T/.out" 2>"$T/.err"; then
		_pass "$_d"
	else
		_fail "$_d"
		echo "# command: $*"
		diag "$T/.err"
	fi
}

# status DESC CODE CMD...: CMD must exit with CODE exactly.  Its stdout
# and stderr are left in $T/.out and $T/.err.
status() {
	_d=$1
	_want=$2
	shift 2
	"$@" >"$T/.out" 2>"$T/.err"
	_got=$?
	if [ "$_got" -eq "$_want" ]; then
		_pass "$_d"
	else
		_fail "$_d"
		echo "# command: $*"
		echo "# exit status $_got, wanted $_want"
		diag "$T/.err"
	fi
}

# is DESC GOT WANT: strings must be equal.
is() {
	if [ "$2" = "$3" ]; then
		_pass "$1"
	else
		_fail "$1"
		printf '%s\n' "$2" >"$T/.got"
		printf '%s\n' "$3" >"$T/.want"
		diff -u "$T/.want" "$T/.got" | sed -n '1,40s/^/# /p'
	fi
}

# same DESC FILE WANTFILE: files must be byte-identical.
same() {
	if cmp -s "$2" "$3"; then
		_pass "$1"
	else
		_fail "$1"
		diff -u "$3" "$2" | sed -n '1,40s/^/# /p'
	fi
}

# grepq DESC PATTERN FILE: a line of FILE must match the ERE.
grepq() {
	if grep -Eq -- "$2" "$3"; then
		_pass "$1"
	else
		_fail "$1"
		echo "# no line matches: $2"
		diag "$3"
	fi
}

# nogrep DESC PATTERN FILE...: no line of the files may hold the string.
nogrep() {
	_d=$1
	_pat=$2
	shift 2
	if grep -Fq -- "$_pat" "$@" 2>/dev/null; then
		_fail "$_d"
		grep -Fn -- "$_pat" "$@" | sed -n '1,5s/^/# /p'
	else
		_pass "$_d"
	fi
}

# skip DESC REASON
skip() {
	_n=$((_n + 1))
	echo "ok $_n - $1 # SKIP $2"
}

finish() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
	exit $?
}

# Sorted copy of a file (for multiset comparisons).
sorted() {
	LC_ALL=C sort "$1"
}

# ---- the fake Duo server (tests/e2e/fakeduo.py) ----

# fake_start [ARGS...]: start a fake Duo in $T/fake; sets FAKE (its
# directory), FAKE_PORT and DUO_CONF.  Extra ARGS go to fakeduo.py.
fake_start() {
	FAKE=${FAKE_DIR_OVERRIDE:-$T/fake}
	mkdir -p "$FAKE"
	python3 "$TOP/tests/e2e/fakeduo.py" -d "$FAKE" "$@" \
	    >"$FAKE/stdout" 2>"$FAKE/stderr" &
	FAKE_PID=$!
	at_exit fake_stop
	_i=0
	while [ ! -s "$FAKE/port" ]; do
		_i=$((_i + 1))
		if [ "$_i" -gt 300 ] || ! kill -0 "$FAKE_PID" 2>/dev/null; then
			echo "# fakeduo did not start" >&2
			diag "$FAKE/stderr"
			return 1
		fi
		sleep 0.1
	done
	FAKE_PORT=$(cat "$FAKE/port")
	DUO_CONF=$FAKE/duo.conf
	export FAKE FAKE_PORT DUO_CONF
}

fake_stop() {
	if [ -n "${FAKE_PID:-}" ]; then
		kill "$FAKE_PID" 2>/dev/null
		wait "$FAKE_PID" 2>/dev/null
		FAKE_PID=
	fi
	return 0
}
