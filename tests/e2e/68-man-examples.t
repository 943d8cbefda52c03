#!/bin/sh
# Every literal block (.Bd -literal) and display line (.Dl) of duo(7),
# duo-get(1), duo-fmt(1), duo-ckpt(1), duo-sign(1) and duo.conf(5) is
# either run as printed against the fake Duo or checked another way, and
# the indented blocks of mpe/README.md the same.  Blocks are read with
# the mdoc escapes \e, \&, \(aq, \(dq, \- and \(:o decoded; each line
# must also appear as a line of mandoc's rendering (a .Dl that wraps
# cannot be pasted).  A block whose lines start with "$ " holds commands
# (with their continuation lines) and the output printed after them: a
# command with a fixed -d date must print that output exactly (the
# fake's host for api-xxxxxxxx.duosecurity.com), any other prints lines
# with the same "Name:" heads.  Every RFC 2822 date printed has the right
# weekday.
#
# Commands run with sh -e in one scratch directory W, in file name order,
# with this documented substitution only:
#   /etc/..., /var/...        ->  the same under a scratch root D, where
#                                 /etc/duo and /var/lib/duo exist (as
#                                 README's installation makes them), so
#                                 does /var/log, and
#                                 /etc/duo/duo.conf is the fake's
#   ./duo.conf (no -c, no DUO_CONF)  ->  the fake's, in W
#   auth.ndjson (a saved file)       ->  the fake's data/auth.ndjson
#   ca.pem, curl's CA bundle  ->  the fake's CA (in W; CURL_CA_BUNDLE)
#   duo.conf.example          ->  the source tree's, in W
#   "vi FILE" (fill in the keys)  ->  the fake's duo.conf written into
#                                 FILE (its mode kept)
#   pass (a password store)   ->  a stub printing the fake's skey or
#                                 duo.conf; that block runs in a directory
#                                 whose duo.conf holds no skey
#   the fixed times of duo-get -S/-U: 1793491200 -> an hour ago,
#                                 2026-11-01 -> 30 days ago,
#                                 2026-11-08T12:00Z -> 23 days ago, 12:00Z
#                                 (Duo keeps 180 days: printed dates age)
# A command block must exit 0 and print nothing on stderr.
#
# Checked, not run: a [duo] file must be accepted by duo-sign -c; stream
# lines ({"@duo":...}) must have the members, in order, of the real
# lines of their kind ("more" only comes with a budget stop: 26-get-runs.t);
# the health line and status templates the keys of real ones; the
# duo-get, duo-sign error messages are reproduced and must match (HOST
# made a .invalid name).  Skipped, with the reason printed: the field
# templates of duo-fmt's FORMATS (placeholders; 30-fmt-golden.t,
# 34-fmt-cef.t and 36-fmt-dotnet.t check the formats).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

fake_start --records auth=300,admin=40,telephony=30,activity=30,offline=10,trustmonitor=20 \
    --max-records-per-page auth=100 ||
    { echo "Bail out! no fake"; exit 1; }
D=$T/root
W=$T/work
K=$T/nokey
B=$T/blocks
mkdir -p "$D/etc/duo" "$D/var/lib/duo" "$D/var/log" "$W" "$K" "$B" "$T/bin" "$T/real/state"
cp "$DUO_CONF" "$W/duo.conf"
chmod 600 "$W/duo.conf"
cp "$W/duo.conf" "$D/etc/duo/duo.conf"
grep -v '^skey' "$W/duo.conf" >"$K/duo.conf"
chmod 600 "$K/duo.conf"
cp "$FAKE/ca.pem" "$W/ca.pem"
cp "$FAKE/data/auth.ndjson" "$W/auth.ndjson"
cp "$TOP/duo.conf.example" "$W/duo.conf.example"
skey=$(sed -n 's/^skey = //p' "$W/duo.conf")
cat >"$T/bin/pass" <<EOF
#!/bin/sh
case \$* in
"show duo/skey") echo '$skey' ;;
"show duo/duo.conf") cat '$W/duo.conf' ;;
*) echo "pass: \$*: not in the stub" >&2; exit 1 ;;
esac
EOF
chmod 755 "$T/bin/pass"
unset DUO_CONF
CURL_CA_BUNDLE=$FAKE/ca.pem
PATH=$T/bin:$PATH
export CURL_CA_BUNDLE PATH
now=$(date +%s)
ago() {
	date -u -d "@$((now - $1))" "+$2"
}
day30=$(ago 2592000 %Y-%m-%d)
day23=$(ago 1987200 %Y-%m-%d)

subst() {
	sed -e "s|\\([ =]\\)/etc/|\\1$D/etc/|g" -e "s|\\([ =]\\)/var/|\\1$D/var/|g" \
	    -e "s|1793491200|$((now - 3600))|g" \
	    -e "s|-S 2026-11-01 |-S $day30 |g" \
	    -e "s|-U 2026-11-08T12:00Z |-U ${day23}T12:00Z |g" \
	    -e "s|^vi \\(.*\\)\$|cat \"$W/duo.conf\" >\\1|"
}

# Real output to compare the templates with.
(cd "$T/real" && duo-ckpt get auth | duo-get -C -c "$W/duo.conf" -s - auth |
    tee real.stream | duo-fmt | duo-ckpt commit -H -o out auth &&
    duo-ckpt status auth >real.status &&
    duo-fmt -f mpe real.stream >real.mpe) >"$T/real/.out" 2>"$T/real/.err"
ok "the real stream, health line and status for the templates" test -s "$T/real/real.status"
diag "$T/real/.err"

# keys: the top-level member names of JSON-ish lines, one list a line.
keys() {
	sed -e 's/{\.\.\.}/{}/g' -e 's/:[CN]\([,}]\)/:0\1/g' \
	    -e 's/,"more":true//' | jq -c keys_unsorted
}
# kv: the key= names of a line, in order, without the placeholder "key".
kv() {
	tr '|' '\n' | sed -n 's/^\([a-z_]*\)=.*/\1/p' | grep -vx key | tr '\n' ' ' |
	    sed 's/ $//'
}

# Extract: one file per .Bd -literal block or .Dl line, named
# PAGE.NNN, its first line "SECTION", then the decoded text.
for p in duo.7 duo-get.1 duo-fmt.1 duo-ckpt.1 duo-sign.1 duo.conf.5; do
	awk -v dir="$B" -v page="$p" '
	function dec(s) {
		gsub(/\\\(:o/, "\303\266", s); gsub(/\\\(aq/, "\047", s)
		gsub(/\\\(dq/, "\"", s); gsub(/\\-/, "-", s); gsub(/\\&/, "", s)
		gsub(/\\e/, "\\", s); return s
	}
	function open_() { n++; f = sprintf("%s/%s.%03d", dir, page, n)
		print sec > f }
	/^\.Sh / { sec = substr($0, 5) }
	/^\.Bd -literal/ { open_(); lit = 1; next }
	/^\.Ed/ && lit { lit = 0; close(f); next }
	lit { print dec($0) > f; next }
	/^\.Dl / { open_(); print dec(substr($0, 5)) > f; close(f) }
	' "$TOP/man/$p"
done
# mpe/README.md: its indented (4 blanks) blocks.
awk -v dir="$B" '/^    / { if (!f) { n++; f = sprintf("%s/mpe-README.md.%03d", dir, n)
    print "README" > f }; print substr($0, 5) > f; next }
    { if (f) close(f); f = "" }' "$TOP/mpe/README.md"

# rendered PAGE: mandoc's text of a page, lines trimmed.
rendered() {
	mandoc -Tutf8 "$TOP/man/$1" | LC_ALL=C.UTF-8 col -bx |
	    sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//'
}
canrender=no
if command -v mandoc >/dev/null 2>&1 && command -v col >/dev/null 2>&1 &&
    [ -n "$(rendered duo.7 2>/dev/null)" ]; then
	canrender=yes
fi

# weekdays FILE: every RFC 2822 date in FILE has its own weekday.
weekdays() {
	grep -o '[A-Z][a-z][a-z], [0-9][0-9]* [A-Z][a-z][a-z] [0-9]\{4\} [0-9:]\{8\}' "$1" |
	while IFS= read -r d; do
		w=$(date -u -d "${d#*, }" +%a) || return 1
		[ "$w" = "${d%%,*}" ] || { echo "$d is a $w" >&2; return 1; }
	done
}

# runblock NAME DIR SCRIPT: run SCRIPT with sh -e in DIR.
runblock() {
	(cd "$2" && sh -e "$3") >"$T/.out" 2>"$T/.err"
	_rc=$?
	if [ "$_rc" -eq 0 ] && [ ! -s "$T/.err" ]; then
		_pass "$1"
	else
		_fail "$1 (exit $_rc)"
		sed -n '1,20s/^/# /p' "$3" "$T/.err"
	fi
}

nrun=0
nchk=0
nskip=0
for f in "$B"/*.[0-9][0-9][0-9]; do
	base=${f##*/}
	page=${base%.*}
	sed 1d "$f" >"$f.txt"
	first=$(sed -n 1p "$f.txt")
	name="$base: $(printf '%.50s' "$first")"
	case $page in
	*.[1-9])
		if [ "$canrender" = yes ]; then
			rendered "$page" >"$T/.r"
			sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$f.txt" |
			    while IFS= read -r l; do
				grep -Fqx -- "$l" "$T/.r" || { echo "# not rendered as is: $l"; exit 1; }
			done >"$T/.why" 2>&1
			if [ -s "$T/.why" ]; then
				_fail "$base renders line for line"; cat "$T/.why"
			else
				_pass "$base renders line for line"
			fi
		fi ;;
	esac
	if grep -q '[A-Z][a-z][a-z], [0-9]' "$f.txt"; then
		ok "$base: the weekdays of its dates" weekdays "$f.txt"
	fi
	case $first in
	"[duo]")
		cp "$f.txt" "$T/ex.conf"
		chmod 600 "$T/ex.conf"
		ok "$name: duo-sign -c accepts it" \
		    duo-sign -c "$T/ex.conf" GET /admin/v1/info/summary
		nchk=$((nchk + 1)) ;;
	'{"@duo":'*)
		bad=
		while IFS= read -r l; do
			t=$(printf '%s\n' "$l" | sed 's/^{"@duo":"\([a-z]*\)".*/\1/')
			want=$(printf '%s\n' "$l" | keys)
			got=$(grep "^{\"@duo\":\"$t\"" "$T/real/real.stream" | keys | sort -u)
			[ "$want" = "$got" ] || bad="$bad $t: $want vs $got;"
		done <"$f.txt"
		is "$name: members as in the real stream" "$bad" ""
		nchk=$((nchk + 1)) ;;
	"YYYY-MM-DD HH:MM:SS DUO "*)
		tline=$(tr -d '\n' <"$f.txt")
		case $tline in
		*" DUO STATUS "*) real=$(cat "$T/real/out"/*.log | grep ' DUO STATUS |' | tail -n 1) ;;
		*) real=$(sed -n '/ DUO AUTH |/{p;q;}' "$T/real/real.mpe") ;;
		esac
		t=${tline#* DUO }
		t=${t%% *}
		case $t in KIND) t='[A-Z]*' ;; esac
		ok "$name: a real line starts the same" expr "x$real" : \
		    "x[0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:]\{8\} DUO $t |utc=[0-9-]*T[0-9:]*Z|"
		want=$(printf '%s\n' "$tline" | kv)
		got=$(printf '%s\n' "$real" | kv)
		case $got in
		"$want"*) _pass "$name: keys as in a real line" ;;
		*) _fail "$name: keys as in a real line"
		   echo "# template: $want"; echo "# real: $got" ;;
		esac
		nchk=$((nchk + 1)) ;;
	"auth host="*)
		is "$name: keys as in real duo-ckpt status" \
		    "$(tr -d '\n' <"$f.txt" | tr ' ' '\n' | sed -n 's/=.*//p' | xargs)" \
		    "$(tr ' ' '\n' <"$T/real/real.status" | sed -n 's/=.*//p' | xargs)"
		nchk=$((nchk + 1)) ;;
	"duo-get: auth: HOST: host not found"*)
		sed 's/^host = .*/host = nonexistent.invalid/' "$W/duo.conf" >"$T/h.conf"
		chmod 600 "$T/h.conf"
		status "$name: exit 3" 3 duo-get -c "$T/h.conf" auth
		is "$name: the message" "$(cat "$T/.err")" "$(sed 's/HOST/nonexistent.invalid/' "$f.txt")"
		nchk=$((nchk + 1)) ;;
	"duo-get: auth: 401 40103:"*)
		sed 's/^skey = ./skey = X/' "$W/duo.conf" >"$T/s.conf"
		chmod 600 "$T/s.conf"
		status "$name: exit 1" 1 duo-get -c "$T/s.conf" auth
		is "$name: the message" "$(cat "$T/.err")" "$(cat "$f.txt")"
		nchk=$((nchk + 1)) ;;
	"duo-sign: duo.conf: line 5: unknown key"*)
		mkdir -p "$T/bad"
		printf '[duo]\nikey = a\nskey = b\nhost = c\ncolour = red\n' >"$T/bad/duo.conf"
		chmod 600 "$T/bad/duo.conf"
		(cd "$T/bad" && duo-sign -c duo.conf GET /x) >"$T/.out" 2>"$T/.e1"
		sed 5d "$T/bad/duo.conf" >"$T/bad/c" && mv "$T/bad/c" "$T/bad/duo.conf"
		chmod 644 "$T/bad/duo.conf"
		(cd "$T/bad" && duo-sign -c duo.conf GET /x) >"$T/.out" 2>>"$T/.e1"
		is "$name: both messages" "$(cat "$T/.e1")" \
		    "$(sed -e :a -e '$!N' -e 's/\n  */ /' -e ta -e 'P;D' "$f.txt")"
		nchk=$((nchk + 1)) ;;
	"EPOCH,"*|"duo_time="*|'{"duo_time":'*|"CEF:0|"*)
		skip "$name" "a field template of FORMATS; 30-fmt-golden.t, 34-fmt-cef.t, 36-fmt-dotnet.t check it"
		nskip=$((nskip + 1)) ;;
	*)
		# Commands: "$ " lines and their continuations, or the whole.
		if grep -q '^\$ ' "$f.txt"; then
			awk -v s="$f.sh" -v o="$f.want" '
			/^\$ / { print substr($0, 3) > s; c = /(\\|\||&&)$/; next }
			c { print > s; c = /(\\|\||&&)$/; next }
			{ print > o }' "$f.txt"
		else
			cp "$f.txt" "$f.sh"
		fi
		subst <"$f.sh" >"$f.run"
		case $page in
		mpe-README.md)
			case $first in
			"mpe/check-rules mpe "*)
				mkdir -p "$T/src"
				ln -sf "$TOP/mpe" "$TOP/tests" "$T/src/"
				(cd "$T/real" && duo-fmt -f legacy real.stream >real.legacy)
				sed -e "s|mpe/legacy FILE\\.\\.\\.|mpe/legacy $T/real/real.legacy|" \
				    -e "s|FILE\\.\\.\\.|$T/real/real.mpe|" "$f.run" >"$f.r2"
				if command -v mcs >/dev/null && command -v mono >/dev/null &&
				    command -v pcre2grep >/dev/null; then
					runblock "$name" "$T/src" "$f.r2"
					nrun=$((nrun + 1))
				else
					skip "$name" "needs pcre2grep, mcs and mono"
					nskip=$((nskip + 1))
				fi ;;
			*)	# The sample mpe line.
				got=$(sed -n '/ DUO AUTH |/{p;q;}' "$T/real/real.mpe")
				is "$name: keys as in a real line" \
				    "$(printf '%s\n' "$got" | kv | cut -d' ' -f1-7)" \
				    "$(tr -d '.' <"$f.txt" | kv)"
				nchk=$((nchk + 1)) ;;
			esac
			continue ;;
		esac
		case $first in
		*KIND*)
			sed 's/KIND/auth/g' "$f.run" >"$f.r2"
			mv "$f.r2" "$f.run"
			name="$name (KIND=auth)" ;;
		esac
		dir=$W
		grep -q 'pass show' "$f.run" && dir=$K
		runblock "$name" "$dir" "$f.run"
		nrun=$((nrun + 1))
		if [ -s "$f.want" ]; then
			if grep -q -- " -d '" "$f.sh"; then
				sed "s/api-xxxxxxxx\\.duosecurity\\.com/localhost:$FAKE_PORT/" \
				    "$f.want" >"$f.w2"
				same "$name: prints the output shown" "$T/.out" "$f.w2"
			else
				is "$name: prints lines like the ones shown" \
				    "$(sed 's/: .*//' "$T/.out")" "$(sed 's/: .*//' "$f.want")"
			fi
		fi
		case $first in
		*"umask 077; cp "*)
			ok "$name: the copy is mode 600" \
			    test -n "$(find "$D/etc/duo/duo.conf" -perm 0600)" ;;
		esac ;;
	esac
done
echo "# $nrun blocks run, $nchk checked, $nskip skipped"
ok "found the examples" test "$nrun" -ge 25
ok "the cron example wrote an output file" test -n "$(ls "$D"/var/lib/duo/out/duo-auth-*.log)"
ok "the json append example wrote json" grep -q '^{"duo_time":' "$D/var/log/duo.json"
finish
