#!/bin/sh
# Shared destinations (issue 11): two kinds appending to one -a file,
# two state directories publishing one kind into one -o directory.
# Kills at every step of one run, then the other's commit, then the
# first's recovery; and concurrent loops.  No committed record is ever
# lost or cut back, none is there twice, no run is left with an intent
# that every later run refuses.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1

cur() {		# cur KIND N
	if [ "$1" = admin ]; then
		printf '{"kind":"admin","sec":%s}' "$2"
	else
		printf '{"kind":"%s","min":%s}' "$1" "$2"
	fi
}
# stream KIND FROM TO: records KIND-FROM+1 .. KIND-TO (FROM 0: {}).
stream() {
	if [ "$2" -eq 0 ]; then _f='{}'; else _f=$(cur "$1" "$2"); fi
	printf '{"@duo":"begin","v":1,"kind":"%s","host":"h","cursor":%s}\n' \
	    "$1" "$_f"
	_i=$2
	while [ "$_i" -lt "$3" ]; do
		_i=$((_i + 1))
		echo "$1 record $_i with some text to make it long"
	done
	printf '{"@duo":"end","cursor":%s,"n":%s}\n{"@duo":"exit","status":0}\n' \
	    "$(cur "$1" "$3")" "$(($3 - $2))"
}
# expect KIND N: the lines KIND record 1..N, sorted.
expect() {
	_i=0
	while [ "$_i" -lt "$2" ]; do
		_i=$((_i + 1))
		echo "$1 record $_i with some text to make it long"
	done
}
# whole FILE: ends in LF (or is empty).
whole() {
	[ ! -s "$1" ] || [ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]
}
# pos KIND DIR: how many records of KIND the state in DIR covers.
pos() {
	duo-ckpt -d "$2" get "$1" 2>/dev/null | sed 's/.*:\([0-9]*\)}$/\1/;s/^{}$/0/'
}

# ---- two kinds, one -a file: a kill at every step of auth ----
for n in 1 2 3 4 5 6 7 8 9 10; do
	d=a$n
	mkdir "$d"
	stream auth 0 2 | duo-ckpt -d "$d/st" commit -a "$d/shared.log" auth
	stream admin 0 2 | duo-ckpt -d "$d/st" commit -a "$d/shared.log" admin
	stream auth 2 6 >"$d/s-auth"
	DUO_CKPT_CRASH_AT=$n duo-ckpt -d "$d/st" commit -a "$d/shared.log" \
	    auth <"$d/s-auth" 2>/dev/null
	is "a$n: auth killed at step $n" "$?" 137
	# admin commits now: it must wait for auth's torn append.
	stream admin 2 5 >"$d/s-admin"
	duo-ckpt -d "$d/st" commit -a "$d/shared.log" admin <"$d/s-admin" \
	    2>"$d/admin.err"
	rc=$?
	case $n in
	3|4)	is "a$n: admin waits for the torn append (exit 3)" "$rc" 3
		grepq "a$n: admin says whose" \
		    'an interrupted append of auth .* is pending' "$d/admin.err" ;;
	*)	is "a$n: admin commits" "$rc" 0 ;;
	esac
	# auth's recovery, then everything again until done.
	duo-ckpt -d "$d/st" get auth >/dev/null 2>&1
	for k in auth admin; do
		i=0
		while [ "$(pos $k "$d/st")" -lt 7 ] && [ "$i" -lt 5 ]; do
			p=$(pos $k "$d/st")
			stream $k "$p" 7 | duo-ckpt -d "$d/st" commit \
			    -a "$d/shared.log" $k 2>/dev/null
			i=$((i + 1))
		done
	done
	ok "a$n: the file ends in a whole line" whole "$d/shared.log"
	{ expect auth 7; expect admin 7; } | sort >"$d/want"
	sort "$d/shared.log" >"$d/got"
	same "a$n: every record of both kinds exactly once" "$d/got" "$d/want"
	ok "a$n: no intent left" test ! -e "$d/st/auth.intent" -a \
	    ! -e "$d/st/admin.intent"
	ok "a$n: auth's ledger whole" duo-ckpt -d "$d/st" status auth
	ok "a$n: admin's ledger whole" duo-ckpt -d "$d/st" status admin
done

# ---- the same with separate state directories per kind ----
mkdir s
stream auth 0 3 | duo-ckpt -d s/st1 commit -a s/shared.log auth
DUO_CKPT_CRASH_AT=4 duo-ckpt -d s/st1 commit -a s/shared.log auth \
    2>/dev/null <<EOF
$(stream auth 3 8)
EOF
stream admin 0 3 >s/sa
status "st2: waits for st1's torn append" 3 duo-ckpt -d s/st2 commit \
    -a s/shared.log admin <s/sa
grepq "st2: names the way out" "duo-ckpt -d .*st1 get auth" "$T/.err"
status "st1 recovers" 0 duo-ckpt -d s/st1 get auth
status "st2 commits" 0 duo-ckpt -d s/st2 commit -a s/shared.log admin <s/sa
{ expect auth 8; expect admin 3; } | sort >s/want
sort s/shared.log >s/got
same "separate state dirs: every record once" s/got s/want

# ---- concurrent loops into one -a file ----
mkdir c
loop() {	# loop KIND N: N commits of 3 records, retrying
	_j=0
	_tries=0
	while [ "$_j" -lt "$2" ] && [ "$_tries" -lt 200 ]; do
		stream "$1" $((_j * 3)) $((_j * 3 + 3)) |
		    duo-ckpt -d c/st commit -a c/shared.log "$1" 2>>"c/$1.err"
		case $? in
		0)	_j=$((_j + 1)) ;;
		*)	sleep 0.05 ;;
		esac
		_tries=$((_tries + 1))
	done
	echo "$_j" >"c/$1.done"
}
loop auth 25 &
p1=$!
loop admin 25 &
p2=$!
wait "$p1" "$p2"
is "auth's loop completed" "$(cat c/auth.done)" 25
is "admin's loop completed" "$(cat c/admin.done)" 25
{ expect auth 75; expect admin 75; } | sort >c/want
sort c/shared.log >c/got
same "concurrent appends: every record exactly once" c/got c/want
ok "no failures but busy" sh -c "! grep -hv 'busy\|pending' c/*.err"

# ---- two state directories, one kind, one -o directory ----
for n in 1 2 3 4 5 6 7 8 9 10; do
	d=o$n
	mkdir "$d"
	stream auth 0 2 | duo-ckpt -d "$d/st1" commit -o "$d/out" auth
	stream auth 0 2 | sed 's/auth record/other record/' |
	    duo-ckpt -d "$d/st2" commit -o "$d/out" auth
	DUO_CKPT_CRASH_AT=$n duo-ckpt -d "$d/st1" commit -o "$d/out" auth \
	    2>/dev/null <<EOF
$(stream auth 2 5)
EOF
	stream auth 2 5 | sed 's/auth record/other record/' >"$d/s2"
	status "o$n: the other state dir commits meanwhile" 0 \
	    duo-ckpt -d "$d/st2" commit -o "$d/out" auth <"$d/s2"
	status "o$n: the first recovers" 0 duo-ckpt -d "$d/st1" get auth
	p=$(pos auth "$d/st1")
	stream auth "$p" 5 >"$d/s1"
	if [ "$p" -lt 5 ]; then
		status "o$n: and completes" 0 duo-ckpt -d "$d/st1" commit \
		    -o "$d/out" auth <"$d/s1"
	fi
	{ expect auth 5; expect auth 5 | sed 's/auth record/other record/'; } |
	    sort >"$d/want"
	cat "$d"/out/*.log | sort >"$d/got"
	same "o$n: every record of both exactly once" "$d/got" "$d/want"
	ok "o$n: no temporary file left" sh -c \
	    "! ls -A $d/out | grep -v -e '\\.log\$' -e '^\\.duo-auth\\.lock\$'"
	ok "o$n: no intent left" test ! -e "$d/st1/auth.intent"
done

# ---- concurrent loops of two state directories into one -o ----
mkdir co
oloop() {	# oloop STATEDIR N
	_j=0
	_tries=0
	while [ "$_j" -lt "$2" ] && [ "$_tries" -lt 200 ]; do
		stream auth $((_j * 2)) $((_j * 2 + 2)) |
		    sed "s/auth record/$1 record/" |
		    duo-ckpt -d "co/$1" commit -o co/out auth 2>>"co/$1.err"
		case $? in
		0)	_j=$((_j + 1)) ;;
		*)	sleep 0.1 ;;
		esac
		_tries=$((_tries + 1))
	done
	echo "$_j" >"co/$1.done"
}
oloop sta 15 &
p1=$!
oloop stb 15 &
p2=$!
wait "$p1" "$p2"
is "sta's loop completed" "$(cat co/sta.done)" 15
is "stb's loop completed" "$(cat co/stb.done)" 15
{ expect sta 30; expect stb 30; } | sort >co/want
cat co/out/*.log | sort >co/got
same "shared -o: every record exactly once" co/got co/want
ok "shared -o: only busy or a taken name, retried" sh -c \
    "! grep -hv 'busy\|exists already' co/*.err"
finish
