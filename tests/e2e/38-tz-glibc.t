#!/bin/sh
# The time-zone engine (lib/tz.c) against glibc: tests/e2e/tzcheck.c,
# built here against the library under test, compares tz_lookup with
# localtime_r (TZ set) every hour and at every change (t-1, t, t+1) of
# offset, DST flag or abbreviation: 2005-2030 for the zones of issue 8
# and three with unusual footers, 2030-2060 (after the last transition of
# a fat file, in 2037, the POSIX TZ footer alone), the same zones compiled
# by zic -b slim (whose transitions stop at the last rule change, so the
# footer decides from then on; glibc reads them too, through TZDIR), and
# POSIX TZ strings.  Native programs only: under wine 39-tz-fmt.t and
# 73-win-tz.t test the .exe files.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

ZONES="America/New_York Europe/Berlin Australia/Lord_Howe America/Sao_Paulo
Pacific/Apia America/Nuuk Asia/Jerusalem Europe/Dublin"
ZI=/usr/share/zoneinfo

if [ -n "${DUO_WINE:-}" ] ||
    [ "$(od -An -c -N4 "$BIN/duo-fmt" 2>/dev/null | tr -d ' ')" != \
    '177ELF' ]; then
	skip "tz engine against glibc" "the tools under test are not native"
	finish
fi
if [ ! -f "$ZI/America/New_York" ]; then
	skip "tz engine against glibc" "no $ZI (apt-get install tzdata)"
	finish
fi

# The library the tools under test were linked with.
CFLAGS="-std=c99 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O1 -g"
if [ "$(basename "$BIN")" = san ]; then
	LIB=$TOP/san/libduo.a
	CFLAGS="$CFLAGS -fsanitize=address,undefined -fno-sanitize-recover=all"
else
	LIB=$TOP/lib/libduo.a
fi
# shellcheck disable=SC2086
ok "tzcheck builds against $(basename "$(dirname "$LIB")")/libduo.a" \
    ${CC:-cc} $CFLAGS -o "$T/tzcheck" "$TOP/tests/e2e/tzcheck.c" "$LIB" \
    -lcurl -lcrypto
if [ ! -x "$T/tzcheck" ]; then
	finish
fi

# shellcheck disable=SC2086
status "2005-2030: every hour and change, $(echo $ZONES | wc -w) zones" 0 \
    "$T/tzcheck" -y 2005:2030 $ZONES
diag "$T/.out"
cp "$T/.out" "$T/2005"
for z in America/New_York Europe/Berlin Australia/Lord_Howe \
    America/Sao_Paulo Pacific/Apia; do
	n=$(sed -n "s|^$z: 2005-2030: \([0-9]*\) changes.*|\1|p" "$T/2005")
	ok "$z: changes 2005-2030 were compared (${n:-none})" \
	    test "${n:-0}" -ge 20
done
# shellcheck disable=SC2086
status "2030-2060: the footers" 0 "$T/tzcheck" -y 2030:2060 $ZONES
grepq "2030-2060: New York changes twice a year" \
    '^America/New_York: 2030-2060: 62 changes' "$T/.out"
# shellcheck disable=SC2086
status "-z local with TZ=:Area/City" 0 "$T/tzcheck" -l -y 2005:2030 \
    :America/New_York :Australia/Lord_Howe
status "-z local with TZ=/absolute/path" 0 "$T/tzcheck" -l -y 2005:2030 \
    "$ZI/Europe/Berlin" "$ZI/Pacific/Apia"

# zic -b slim: the footer from each zone's last rule change on.
if command -v zic >/dev/null 2>&1 && [ -f "$ZI/tzdata.zi" ] &&
    zic -b slim -d "$T/slim" "$ZI/tzdata.zi" 2>"$T/zic.err"; then
	n=$(wc -c <"$T/slim/America/New_York")
	ok "slim New York is small ($n bytes: transitions end in 2007)" \
	    test "$n" -lt 2000
	# shellcheck disable=SC2086
	status "slim files, 2005-2040" 0 env TZDIR="$T/slim" "$T/tzcheck" \
	    -y 2005:2040 $ZONES
else
	skip "slim files" "no zic or no $ZI/tzdata.zi"
fi

# POSIX TZ strings alone (RFC 8536 extensions: negative and >24 h times).
status "POSIX TZ strings, 2005-2040" 0 "$T/tzcheck" -y 2005:2040 \
    EST5EDT,M3.2.0,M11.1.0 CET-1CEST,M3.5.0,M10.5.0/3 \
    '<+1030>-10:30<+11>-11,M10.1.0,M4.1.0' \
    '<-02>2<-01>,M3.5.0/-1,M10.5.0/0' IST-2IDT,M3.4.4/26,M10.5.0 \
    IST-1GMT0,M10.5.0,M3.5.0/1 NZST-12NZDT,M9.5.0,M4.1.0/3 \
    XST3XDT,J60/2,J300/2 XST3XDT,59/2,299/2 '<+0545>-5:45' JST-9
finish
