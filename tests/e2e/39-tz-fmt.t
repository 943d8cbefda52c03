#!/bin/sh
# duo-fmt's local times against glibc's date(1), through the tools only,
# so it runs the same on the .exe files under wine (make check-windows):
# at every offset change 2005-2030 that date shows (t-1, t, t+1 and one
# instant between changes) for the zones of issue 8, by -z and by TZ with
# -z local; 2037-2045, past the last transition of a fat file (the POSIX
# TZ footer); zic -b slim files (tests/fixtures/tz/slim, whose
# transitions stop at the last rule change); POSIX TZ strings; corrupt
# files and names that must not leave the zoneinfo folder.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/tz
cd "$T" || exit 1

# A path as the programs under test see it (wine: a Windows path).
wpath() {
	if [ -n "${DUO_WINE:-}" ]; then
		"$DUO_WINE" winepath -w "$1" 2>/dev/null
	else
		printf '%s\n' "$1"
	fi
}

# instants TZVALUE FIRST LAST: every change of UTC offset in the years
# FIRST to LAST as date(1) shows it (t-1, t, t+1), one instant between
# two changes, and the start, into instants.
instants() {
	_lo=$(date -u -d "$2-01-01" +%s)
	_hi=$(date -u -d "$(($3 + 1))-01-01" +%s)
	awk -v lo="$_lo" -v hi="$_hi" \
	    'BEGIN { for (t = lo; t < hi; t += 3600) print "@" t }' >hours
	# the hours in which the offset changes, every second of them
	TZ=$1 date -f hours '+%s %z' | awk 'NR > 1 && $2 != p {
	    for (s = pt + 1; s <= $1; s++) print "@" s } { p = $2; pt = $1 }' \
	    >secs
	TZ=$1 date -f secs '+%s %z' | awk -v lo="$_lo" 'BEGIN { last = lo }
	    NR > 1 && $2 != p { print int((last + $1) / 2); print $1 - 1;
	    print $1; print $1 + 1; last = $1 } { p = $2 }
	    END { print lo; print last + 86400 * 30 }' | sort -n >instants
	awk '{ printf "{\"txid\":\"t%s\",\"factor\":\"x\",\"timestamp\":%s}\n",
	    $1, $1 }' instants >in.ndjson
	sed 's/^/@/' instants | TZ=$1 date -f - '+%Y-%m-%dT%H:%M:%S%:z' >want
}

# got: duo-fmt's local time and offset (the JSON duo_time) of each record.
got() {
	sed 's/^{"duo_time":"\([^"]*\)".*/\1/' "$T/.out" >got
}

for z in America/New_York Europe/Berlin Australia/Lord_Howe \
    America/Sao_Paulo Pacific/Apia Asia/Jerusalem Europe/Dublin; do
	instants "$z" 2005 2030
	n=$(wc -l <instants | tr -d ' ')
	ok "$z: $n instants 2005-2030" test "$n" -ge 60
	status "$z: -z exit 0" 0 duo-fmt -z "$z" -f json in.ndjson
	got
	same "$z: -z $z: glibc's times 2005-2030" got want
	status "$z: TZ, -z local: exit 0" 0 env TZ="$z" duo-fmt -f json \
	    in.ndjson
	got
	same "$z: TZ=$z: glibc's times 2005-2030" got want
done

# Past the last transition (2037): the footer rule.
for z in America/New_York Australia/Lord_Howe America/Nuuk; do
	instants "$z" 2037 2045
	status "$z 2037-2045: exit 0" 0 duo-fmt -z "$z" -f json in.ndjson
	got
	same "$z: the footer: glibc's times 2037-2045" got want
done

# zic -b slim: transitions end at the last rule change (New York: 2007),
# the footer decides after.
for z in America/New_York Europe/Dublin Australia/Lord_Howe; do
	instants "$FX/slim/$z" 2005 2030
	status "slim $z: exit 0" 0 env TZDIR="$(wpath "$FX/slim")" \
	    duo-fmt -z "$z" -f json in.ndjson
	got
	same "slim $z: glibc's times" got want
done

# POSIX TZ strings, by -z and by TZ.
for s in 'EST5EDT,M3.2.0,M11.1.0' '<+1030>-10:30<+11>-11,M10.1.0,M4.1.0' \
    'IST-2IDT,M3.4.4/26,M10.5.0' '<-02>2<-01>,M3.5.0/-1,M10.5.0/0'; do
	instants "$s" 2020 2024
	status "-z $s: exit 0" 0 duo-fmt -z "$s" -f json in.ndjson
	got
	same "-z $s: glibc's times" got want
	status "TZ=$s: exit 0" 0 env TZ="$s" duo-fmt -f json in.ndjson
	got
	same "TZ=$s: glibc's times" got want
done
echo '{"txid":"a","factor":"x","timestamp":1700000000}' >one.ndjson
for v in '' ':'; do
	status "TZ='$v': exit 0" 0 env TZ="$v" duo-fmt -f json one.ndjson
	got
	is "TZ='$v' is UTC" "$(cat got)" "2023-11-14T22:13:20+00:00"
done

# Corrupt files: exit 2 and why.
BAD=$(wpath "$FX/bad")
for c in 'truncated:counts exceed the file size' \
    'order:transitions out of order' 'footer:bad TZ string footer' \
    'magic:not a TZif file' 'empty:truncated header'; do
	f=${c%%:*}
	status "corrupt $f: exit 2" 2 env TZDIR="$BAD" duo-fmt -z "$f" \
	    one.ndjson
	is "corrupt $f: message" "$(cat "$T/.err")" "duo-fmt: $f: ${c#*:}"
done

# Names stay inside the zoneinfo folder; unknown zones are refused.
FAT=$(wpath "$FX/fat")
for z in ../slim/America/New_York America/../../slim/Europe/Dublin \
    /usr/share/zoneinfo/UTC "$FAT/Europe/Berlin" America/ America \
    Mars/Olympus_Mons ':EST5'; do
	status "-z $z: exit 2" 2 env TZDIR="$FAT" duo-fmt -z "$z" one.ndjson
	is "-z $z: message" "$(cat "$T/.err")" \
	    "duo-fmt: $z: unknown time zone"
done
status "TZ=America/Nope: exit 2" 2 env TZ=America/Nope duo-fmt one.ndjson
is "TZ=America/Nope: message" "$(cat "$T/.err")" \
    "duo-fmt: TZ=America/Nope: unknown time zone"
finish
