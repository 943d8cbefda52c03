#!/bin/sh
# The state directory against a hostile neighbour and damage (issue
# 11): a directory others may write to, or another user's, is refused
# with the fix; links are never followed; every state file truncated,
# garbled, emptied, or replaced by a directory, a FIFO or a symbolic
# link gives a clear message and exit 1 (never a hang), publishes
# nothing, and the way back duo-ckpt(1) gives works.  Directories made
# are synced into their parent.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
c() {
	printf '{"kind":"auth","min":%s}' "$1"
}
s() {	# s FROM TO LINE: a one-line stream
	printf '{"@duo":"begin","v":1,"kind":"auth","host":"h","cursor":%s}\n%s\n{"@duo":"end","cursor":%s,"n":1}\n{"@duo":"exit","status":0}\n' \
	    "$1" "$3" "$2"
}
fresh() {
	rm -rf state out
	s '{}' "$(c 1)" first | duo-ckpt commit auth
	s "$(c 1)" "$(c 2)" second | duo-ckpt commit auth
}
nlog() {
	find out -name '*.log' | wc -l | tr -d ' '
}
T0=${DUO_TIMEOUT:-20}

# ---- mode and owner ----
fresh
chmod 775 state
status "group-writable state dir: exit 2" 2 duo-ckpt get auth
grepq "it says how to fix it" \
    '^duo-ckpt: state: writable by group or others: run chmod go-w state' \
    "$T/.err"
s "$(c 2)" "$(c 3)" x >s3
status "commit refuses too" 2 duo-ckpt commit auth <s3
chmod 757 state
status "world-writable state dir: exit 2" 2 duo-ckpt get auth
chmod 755 state
if [ "$(id -u)" -eq 0 ]; then
	chown 65534 state
	status "another user's state dir: exit 2" 2 duo-ckpt get auth
	grepq "chown named" 'state: owned by uid 65534, not by uid 0 who runs this: run chown 0 state' "$T/.err"
	chown 0 state
else
	skip "another user's state dir" "not root"
	skip "chown named" "not root"
fi
status "fixed: get works" 0 duo-ckpt get auth

# ---- links at the names of temporary files: never followed ----
fresh
echo precious >victim
for n in .auth.cursor.tmp .host.tmp .auth.intent.tmp .auth.run.tmp \
    .auth.ledger.tmp; do
	ln -s "$T/victim" "state/$n"
done
rm state/host
s "$(c 2)" "$(c 3)" third | duo-ckpt commit auth
is "commits beside planted links" "$?" 0
s "$(c 3)" "$(c 4)" fourth | duo-ckpt commit -a "$T/sink" auth
is "an append beside them" "$?" 0
is "the victim is untouched" "$(cat victim)" precious
ln -s "$T/victim" "$T/sink2"
s "$(c 4)" "$(c 5)" fifth >st5
status "-a to a symbolic link: exit 2" 2 duo-ckpt commit -a "$T/sink2" auth <st5
grepq "link message" 'is a symbolic link' "$T/.err"
is "the victim is still untouched" "$(cat victim)" precious

# ---- every state file damaged in every way ----
# damage FILE HOW
damage() {
	case $2 in
	truncated)
		if [ -s "$1" ]; then
			_sz=$(($(wc -c <"$1") / 2))
			head -c "$((_sz > 0 ? _sz : 1))" "$1" >"$1.x"
			mv "$1.x" "$1"
		else
			printf '{"v":1,' >"$1"
		fi ;;
	garbled)	printf 'garbage \001\002 here\n' >"$1" ;;
	emptied)	: >"$1" ;;
	directory)	rm -f "$1"; mkdir "$1" ;;
	fifo)		rm -f "$1"; mkfifo "$1" ;;
	symlink)	rm -f "$1"; ln -s "$T/victim" "$1" ;;
	esac
}
# lastto FILE: the "to" cursor of the ledger's last line.
lastto() {
	tail -n 1 "$1" | sed 's/.*"to":\({[^}]*}\).*/\1/'
}

for f in host auth.cursor auth.ledger auth.intent auth.lock auth.spool \
    auth.run; do
	for how in truncated garbled emptied directory fifo symlink; do
		fresh
		cp state/auth.ledger ledger.good
		echo precious >victim
		damage "state/$f" "$how"
		n0=$(nlog)
		timeout "$T0" duo-ckpt get auth >/dev/null 2>get.err
		g=$?
		s "$(c 2)" "$(c 3)" third >s3
		timeout "$T0" duo-ckpt commit auth <s3 >/dev/null 2>commit.err
		m=$?
		timeout "$T0" duo-ckpt status auth >/dev/null 2>status.err
		st=$?
		# What must fail, what is harmless.
		case $f:$how in
		auth.lock:truncated|auth.lock:garbled|auth.lock:emptied|\
		auth.spool:*)
			wg=0 wm=0 ws=0 ;;
		auth.run:directory)
			wg=0 wm=0 ws=1 ;;	# a commit cannot replace it
		auth.run:*)
			wg=0 wm=0 ws=0 ;;	# the commit replaced it
		auth.intent:*)
			wg=1 wm=1 ws=0 ;;
		auth.lock:*)
			wg=1 wm=1 ws=0 ;;
		*)
			wg=1 wm=1 ws=1 ;;
		esac
		is "$f $how: get exits $wg (no hang, no crash)" "$g" "$wg"
		[ "$g" -eq "$wg" ] || diag get.err
		is "$f $how: commit exits $wm" "$m" "$wm"
		[ "$m" -eq "$wm" ] || diag commit.err
		is "$f $how: status exits $ws" "$st" "$ws"
		[ "$st" -eq "$ws" ] || diag status.err
		if [ "$wg" -eq 1 ]; then
			ok "$f $how: a message naming the file" grep -q \
			    "$f" get.err
			is "$f $how: nothing published" "$(nlog)" "$n0"
		fi
		is "$f $how: no link followed" "$(cat victim)" precious
		# The way back, as duo-ckpt(1) gives it.
		case $f in
		auth.cursor)
			rm -rf state/auth.cursor
			duo-ckpt set auth "$(lastto state/auth.ledger)" ;;
		auth.ledger)
			rm -rf state/auth.ledger
			duo-ckpt set auth "$(lastto ledger.good)" ;;
		auth.run)
			rm -rf state/auth.run ;;
		*)
			[ "$wg" -eq 0 ] || rm -rf "state/$f" ;;
		esac
		status "$f $how: the way back works" 0 duo-ckpt get auth
		if [ "$m" -ne 0 ]; then
			s "$(c 2)" "$(c 3)" third | duo-ckpt commit auth
		fi
		is "$f $how: every record once" \
		    "$(cat out/*.log | sort | tr '\n' ' ')" "first second third "
		status "$f $how: status is whole again" 0 duo-ckpt status auth
	done
done

# ---- directories made are synced into their parent ----
if command -v strace >/dev/null 2>&1; then
	rm -rf new
	mkdir new
	s '{}' "$(c 1)" first >s1
	strace -f -o trace -e trace=mkdir,mkdirat,openat,fsync \
	    duo-ckpt -d new/state commit -o new/out auth <s1 >/dev/null 2>&1
	# After each mkdir: an open of "new" and an fsync of it.
	# shellcheck disable=SC2016
	ok "mkdir of the state directory, then its parent synced" awk '
	    /mkdir.*"new\/state"/ { m = 1 }
	    m == 1 && /openat\(.*"new"/ { m = 2; fd = $0; sub(/.*= /, "", fd) }
	    m == 2 && $0 ~ "fsync\\(" fd "\\)" { ok = 1 }
	    END { exit !ok }' trace
	# shellcheck disable=SC2016
	ok "mkdir of the output directory, then its parent synced" awk '
	    /mkdir.*"new\/out"/ { m = 1 }
	    m == 1 && /openat\(.*"new"/ { m = 2; fd = $0; sub(/.*= /, "", fd) }
	    m == 2 && $0 ~ "fsync\\(" fd "\\)" { ok = 1 }
	    END { exit !ok }' trace
else
	skip "state directory synced into its parent" "no strace"
	skip "output directory synced into its parent" "no strace"
fi
finish
