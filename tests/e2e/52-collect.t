#!/bin/sh
# duo-collect: runs every kind, finds its tools next to itself, and exits
# with the worst status of every stage of every kind (2 > 1 > 3 > 0),
# tested by making each stage fail in turn.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

fake_start --records auth=50,admin=20,telephony=20,activity=20 ||
    { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1

# A copy of duo-collect with wrappers around the real tools: each runs
# the real one, then exits with $FAIL_<stage>_<kind> when that is set
# (stages: get, fmt, ckptget, commit).
mkdir bin
cp "$BIN/duo-collect" bin/
for t in duo-get duo-fmt duo-ckpt; do
	cat >"bin/$t" <<EOW
#!/bin/sh
for k; do :; done
stage=\${0##*/}
case \$stage in
duo-get)	stage=get ;;
duo-fmt)	stage=fmt; k=\${FMT_KIND:-x} ;;
duo-ckpt)	case " \$* " in *" commit "*) stage=commit ;; *) stage=ckptget ;; esac ;;
esac
"$BIN/$t" "\$@"
rc=\$?
eval "f=\\\${FAIL_\${stage}_\$k:-}"
[ -n "\$f" ] && exit "\$f"
exit \$rc
EOW
	chmod +x "bin/$t"
done

# c STATUS DESC [ENV...]: duo-collect with ENV must exit STATUS; it runs
# the kinds in $K (default: all four).
K=
c() {
	_want=$1 _d=$2
	shift 2
	# shellcheck disable=SC2086
	status "$_d" "$_want" env "$@" "$T/bin/duo-collect" -d "$T/st" \
	    -o "$T/out" $K
}

c 0 "all stages succeed"
is "four kinds published" "$(find out -name 'duo-*.log' | sed 's|^out/||; s/-[0-9T]*Z-.*//' | sort -u | tr '\n' ' ')" \
    "duo-activity duo-admin duo-auth duo-telephony "
is "quiet when all is well" "$(cat "$T/.err")" ""

K=auth
for code in 1 2 3; do
	for stage in ckptget get commit; do
		if [ "$code" -eq 3 ] && [ "$stage" != get ]; then
			# duo-ckpt get or commit exits 3 when another run
			# holds the lock (the commit: with nothing wrong
			# upstream).
			c 0 "$stage exits 3: skipped" "FAIL_${stage}_auth=$code"
			grepq "skipped with a notice" \
			    "^duo-collect: auth: skipped: another run is collecting it$" \
			    "$T/.err"
			continue
		fi
		c "$code" "$stage of auth exits $code" "FAIL_${stage}_auth=$code"
		grepq "$stage $code: named in the message" \
		    "^duo-collect: auth: .* exited $code$" "$T/.err"
	done
	c "$code" "duo-fmt exits $code" "FAIL_fmt_x=$code"
	grepq "fmt $code: named" "^duo-collect: auth: duo-fmt exited $code$" \
	    "$T/.err"
done

# The worst over kinds and stages.
K="auth admin telephony"
c 3 "3 beats 0" FAIL_get_admin=3
c 1 "1 beats 3" FAIL_get_admin=3 FAIL_commit_telephony=1
c 1 "1 beats 3, either order" FAIL_get_admin=1 FAIL_commit_telephony=3
c 2 "2 beats 1 and 3" FAIL_get_telephony=3 FAIL_commit_admin=2 \
    FAIL_ckptget_auth=1
c 2 "2 beats 1" FAIL_fmt_x=1 FAIL_get_telephony=2
c 1 "a signal counts as 1" FAIL_commit_auth=137
grepq "the signal status is reported" 'duo-ckpt commit exited 137' "$T/.err"
# The later kinds still run after a failure.
rm -rf st out
K=
c 1 "auth fails" FAIL_ckptget_auth=1
ok "the other kinds ran" test -e out/duo-telephony-*.log
ok "auth was skipped" test ! -e out/duo-auth-*.log

# Real failures, with the real tools.
status "bad conf: exit 2" 2 duo-collect -c "$T/nope.conf" -d st2 -o out2 auth
grepq "conf message from duo-get" '^duo-get: ' "$T/.err"
ok "nothing published with a bad conf" test ! -e out2/duo-auth-*.log
status "unknown kind: exit 2" 2 duo-collect -d st2 nope
grepq "kind message" '^duo-collect: nope: unknown kind$' "$T/.err"
status "bad option: exit 2" 2 duo-collect -x
grepq "usage" '^usage: duo-collect \[-Hv\] \[-c conf\] \[-d statedir\] \[-f format\] \[-k days\] \[-o outdir\] \[-S since\] \[-t seconds\] \[-T seconds\] \[kind \.\.\.\]$' "$T/.err"
status "-f passes to duo-fmt" 0 duo-collect -d st3 -o out3 -f json telephony
grepq "json lines" '^\{"duo_time":' out3/duo-telephony-*.log
status "bad -f: exit 2" 2 duo-collect -d st4 -o out4 -f nope telephony
ok "nothing published with a bad format" test ! -e out4/duo-telephony-*.log

# The output directory, checked before anything runs.
status "output directory's parent missing: exit 2" 2 \
    duo-collect -d st7 -o "$T/nodir/out" telephony
is "path and reason" "$(cat "$T/.err")" \
    "duo-collect: $T/nodir/out: output directory: $T/nodir does not exist"
ok "nothing fetched" test ! -e st7/telephony.cursor
: >afile
status "output directory is a file: exit 2" 2 duo-collect -d st7 -o afile telephony
# A commit that refuses at once (the state belongs to another host):
# duo-get and duo-fmt die of SIGPIPE writing to it; only the commit's
# failure is reported.
mkdir st8
echo other.example.com >st8/host
status "commit refuses: exit 1" 1 duo-collect -d st8 -o out8 auth
is "one stage named, no SIGPIPE" "$(grep '^duo-collect:' "$T/.err")" \
    "duo-collect: auth: duo-ckpt commit exited 1"

# A kind the fake forbids (403): duo-get exits 1.
fake_stop
fake_start --records auth=10,admin=10 --forbid admin || exit 1
status "403 on admin: exit 1" 1 duo-collect -d st5 -o out5 auth admin
grepq "duo-get's 403 message" "duo-get: admin: .*40301" "$T/.err"
ok "auth still published" test -e out5/duo-auth-*.log

# A tool missing next to the script and on PATH: exit 2.
mkdir lone
cp "$BIN/duo-collect" lone/
status "missing tools: exit 2" 2 env PATH=/usr/bin:/bin lone/duo-collect \
    -d st6 auth
grepq "missing tool message" 'duo-ckpt: not found' "$T/.err"
finish
