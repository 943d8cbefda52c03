#!/bin/sh
# Every example in README.md (its ```sh blocks) and in man/duo-collect.1
# (its literal blocks) runs as printed against the fake Duo, with this
# documented substitution only:
#   /usr/local, /etc/duo, /var/lib/duo  ->  the same under a scratch root
#                                           D (make install DESTDIR=D)
#   1717171717 (the old script's last timestamp)  ->  an hour ago
#   "put ikey, skey and host into /etc/duo/duo.conf"  ->  the fake's
#                                           duo.conf copied there
#   README's ./duo.conf                     ->  the fake's, in the scratch
#                                           directory the commands run in
#   curl's CA bundle                        ->  the fake's CA, through
#                                           CURL_CA_BUNDLE
# A crontab line runs its command as cron would: env -i, PATH=/usr/bin:/bin,
# in HOME.  The systemd ExecStart line runs with %d (the credentials
# directory) made the directory of the conf, and must equal the shipped
# unit's.  Not run, each
# with its reason: make check (it runs this test), the schematic pipeline
# blocks (placeholders), useradd/systemctl (would change this machine;
# 65-install.t verifies the units), schtasks (Windows only), and the
# cmd.exe example unless the Windows build is there to run it under wine.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

fake_start --records auth=300,admin=40,telephony=30,activity=30,trustmonitor=20 ||
    { echo "Bail out! no fake"; exit 1; }
D=$T/root
W=$T/work
mkdir -p "$D" "$W"
epoch=$(($(date +%s) - 3600))
cp "$DUO_CONF" "$W/duo.conf"
chmod 600 "$W/duo.conf"
unset DUO_CONF
CURL_CA_BUNDLE=$FAKE/ca.pem
export CURL_CA_BUNDLE
PATH=$D/usr/local/bin:$PATH
export PATH

subst() {
	sed -e "s|/usr/local|$D/usr/local|g" -e "s|/etc/duo|$D/etc/duo|g" \
	    -e "s|/var/lib/duo|$D/var/lib/duo|g" -e "s|1717171717|$epoch|g" \
	    -e "s|^make install\$|make -s -C \"$TOP\" install DESTDIR=\"$D\"|"
}

# README.md: one file per ```sh block.
awk -v dir="$T" '/^```sh$/ { n++; f = 1; next } /^```/ { f = 0; next }
    f { print > (dir "/readme." n) }' "$TOP/README.md"
# duo-collect(1): one file per literal block, \e made \ and lines
# ending in " \" joined.
awk -v dir="$T" '/^\.Bd -literal/ { n++; f = 1; next } /^\.Ed/ { f = 0; next }
    f { gsub(/\\e/, "\\"); if (held != "") sub(/^[ \t]+/, "")
        if (sub(/ \\$/, "")) { held = held $0 " "; next }
        print held $0 > (dir "/man." n); held = "" }' "$TOP/man/duo-collect.1"

# example FILE: run or skip one block.
example() {
	_f=$1
	_first=$(sed -n 1p "$_f")
	_name="${_f##*/}: $(printf '%.60s' "$_first")"
	# shellcheck disable=SC1003
	case $_first in
	"make demo"*)
		status "$_name" 0 make -s -C "$TOP" demo
		skip "${_f##*/}: make check" "make check runs this test" ;;
	"duo-ckpt -d statedir get KIND |"*|"duo-get.exe ..."*)
		skip "$_name" "a schematic with placeholders" ;;
	"useradd "*)
		skip "$_name" "would change this machine; 65-install.t verifies the units" ;;
	"schtasks "*)
		skip "$_name" "Windows Task Scheduler only" ;;
	'"C:\'*)
		skip "$_name" "cmd.exe prompt lines; 67-collect-cmd.t runs duo-collect.cmd so under wine" ;;
	"*/5 * * * * "*)
		_cmd=$(printf '%s\n' "$_first" | subst | sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* [^ ]* //')
		mkdir -p "$D/var/lib/duo"
		status "$_name (as cron runs it)" 0 env -i PATH=/usr/bin:/bin \
		    SHELL=/bin/sh HOME="$D/var/lib/duo" LOGNAME=root \
		    sh -c "cd && $_cmd" ;;
	'/usr/local/bin/duo-collect -c %d/'*)
		is "${_f##*/}: the unit's ExecStart as printed" \
		    "$(sed -n 's/^ExecStart=//p' "$TOP/systemd/duo-collect.service")" \
		    "$_first"
		mkdir -p "$D/var/lib/duo"
		status "$_name (as systemd runs it)" 0 sh -c \
		    "cd \"$D/var/lib/duo\" && $(printf '%s\n' "$_first" |
		    subst | sed "s|%d/|$D/etc/duo/|")" ;;
	*)
		subst <"$_f" >"$_f.sh"
		(cd "$W" && sh -e "$_f.sh") >"$T/.out" 2>"$T/.err"
		_rc=$?
		if [ "$_rc" -eq 0 ]; then
			ok "$_name" true
		else
			ok "$_name (exit $_rc)" false
			sed -n '1,20s/^/# /p' "$_f.sh" "$T/.err"
		fi
		# After the conf is copied into place, fill it in.
		if grep -q 'duo.conf.example' "$_f"; then
			cp "$W/duo.conf" "$D/etc/duo/duo.conf"
			ok "the example conf was installed" \
			    test -f "$D/usr/local/share/duopipe/duo.conf.example"
		fi ;;
	esac
}

n=0
for f in "$T"/readme.* "$T"/man.*; do
	case $f in *.sh) continue ;; esac
	[ -f "$f" ] || continue
	n=$((n + 1))
	example "$f"
done
ok "found the examples ($n blocks)" test "$n" -ge 15
ok "collected into /var/lib/duo/out" test -n "$(ls "$D"/var/lib/duo/out/duo-auth-*.log)"
ok "json example wrote json" grep -q '^{"duo_time":' "$D"/var/lib/duo/json/out/duo-auth-*.log
finish
