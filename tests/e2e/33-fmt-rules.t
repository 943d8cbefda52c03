#!/bin/sh
# mpe/*.re and mpe/legacy/*.re under PCRE2: every golden line (and the
# health lines of tests/fixtures/fmt/status.lines) is matched by exactly
# the rule meant for it (plus the catch-all), the first rule in sort
# order is that rule, and login, sip, result and action hold the right
# values.  The expected table (tests/fixtures/fmt/rules-*.expect) was
# checked by hand against the fixture records; 36-fmt-dotnet.t holds the
# .NET engine to the same table.
. "$(dirname "$0")/lib.sh"
FX=$TOP/tests/fixtures/fmt
MPE=$TOP/mpe
KINDS="auth admin telephony activity offline trustmonitor"

command -v pcre2grep >/dev/null 2>&1 || { skip "rules" "no pcre2grep"; finish; }

# the rules: one line each, only the regex subset .NET and PCRE share
for r in "$MPE"/*.re "$MPE"/legacy/*.re; do
	n=$(basename "$r")
	is "$n: one line" "$(wc -l <"$r" | tr -d ' ')" 1
	status "$n: compiles" 1 pcre2grep -i -f "$r" /dev/null
	if grep -Eq '[*+?}]\+|\\K|\(\?>|\(\?\||\(\?P|\(\?R|\\Q|\(\?[0-9]|\\[hvHVRX]' "$r"; then
		_fail "$n: no PCRE-only constructs"
	else
		_pass "$n: no PCRE-only constructs"
	fi
done

for f in mpe legacy; do
	: >"$T/all"
	for k in $KINDS; do
		duo-fmt -z Europe/Berlin -f "$f" "$FX/$k.ndjson" >>"$T/all"
	done
	printf 'not | json\n' | duo-fmt -f "$f" >>"$T/all" 2>/dev/null
	# duo-ckpt's health lines (layout in duo-ckpt(1)), written by hand
	cat "$FX/status.lines" >>"$T/all"
	d=$MPE
	[ "$f" = legacy ] && d=$MPE/legacy
	status "$f: check-rules runs" 0 python3 "$MPE/check-rules" "$d" "$T/all"
	same "$f: each line's rule and captures" "$T/.out" "$FX/rules-$f.expect"
	is "$f: every line matched by one rule and the catch-all" \
	    "$(grep -Evc '	all=[^,	]+,[^,	]*catch-all\.re	' "$T/.out")" 0
	is "$f: no line first matched by the catch-all" \
	    "$(grep -c 'first=[^	]*catch-all' "$T/.out")" 0
done

# the golden mpe lines and the rule files agree on the auth layout
for r in "$MPE"/[0-9]*.re; do
	grepq "$(basename "$r"): anchored with the date" '^\^\\d\{4\}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d DUO ' "$r"
done
# lines of other formats are not mistaken for mpe lines
duo-fmt -z Europe/Berlin -f kv "$FX/auth.ndjson" >"$T/kv"
status "kv lines match no mpe rule" 0 python3 "$MPE/check-rules" "$MPE" "$T/kv"
is "kv: all none" "$(grep -vc 'first=none' "$T/.out")" 0
finish
