#!/bin/sh
# Windows (make check-windows): local time under wine.  -z local follows
# the Windows zone, which wine takes from the host (TZ); the times must
# carry the right DST rules for every year, not this year's rules for
# all (the CRT's mistake).  -z Area/City reads the zoneinfo folder
# beside the .exe files.  The expected times come from glibc (date -d),
# one second before and at every offset change 2005-2030 that zdump
# lists.  -z local is checked only in zones that wine maps to the right
# Windows zone: wine picks the Windows zone whose rules match the host's
# this year, so America/Sao_Paulo (no DST since 2019) becomes Argentina
# and Australia/Lord_Howe matches none; real Windows has both.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
[ -n "${DUO_WINE:-}" ] ||
    { skip "local time" "not under wine (make check-windows runs it)"; finish; }
command -v zdump >/dev/null 2>&1 || { skip "local time" "no zdump"; finish; }
cd "$T" || exit 1

for z in America/New_York Europe/Berlin Australia/Sydney America/Chicago \
    Australia/Lord_Howe America/Sao_Paulo Pacific/Apia; do
	b=$(echo "$z" | tr / _)
	# Offset changes: zdump's "UT = local" lines, epoch of each.
	zdump -v -c 2005,2031 "$z" | awk '/ UT = / && $NF ~ /^gmtoff=/ {
	    print $3, $4, $5, $6 }' |
	while read -r mon day hms year; do
		date -u -d "$mon $day $hms $year" +%s
	done | sort -un >"$b.t"
	: >"$b.ndjson"
	: >"$b.want"
	while read -r t; do
		for s in $((t - 1)) "$t"; do
			printf '{"txid":"t%s","factor":"x","timestamp":%s}\n' \
			    "$s" "$s" >>"$b.ndjson"
			TZ=$z date -d "@$s" '+%Y-%m-%d %H:%M:%S' >>"$b.want"
		done
	done <"$b.t"
	n=$(wc -l <"$b.want" | tr -d ' ')
	ok "$z: $n instants from zdump" test "$n" -ge 40
	case $z in
	America/New_York|Europe/Berlin|Australia/Sydney|America/Chicago)
		TZ=$z duo-fmt -z local "$b.ndjson" >"$b.out" 2>"$b.err"
		cut -c1-19 "$b.out" >"$b.got"
		same "$z: -z local under wine (TZ=$z): glibc's times" \
		    "$b.got" "$b.want" ;;
	esac
	duo-fmt -z "$z" "$b.ndjson" 2>"$b.err" | cut -c1-19 >"$b.got2"
	same "$z: -z $z from zoneinfo beside the .exe: glibc's times" \
	    "$b.got2" "$b.want"
done
finish
