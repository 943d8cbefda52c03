#!/bin/sh
# Switching over from the original Python integration, as duo-collect(1)
# and README.md say: the old script delivered every event up to and
# including second T (its last timestamp); duo-collect -S $((T + 1)) on
# a fresh state directory, then the scheduled runs, deliver every later
# event and nothing earlier: together exactly the whole log, with no gap
# and no duplicate.  T is chosen inside a burst of events that share one
# second (admin: 1200 records in one second), the hard case.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

fake_start --records auth=3000,admin=1600,telephony=400 ||
    { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1
mkdir out

# split KIND INDEX: print T, the second of record INDEX, and write
# old.KIND (records of seconds <= T) and new.KIND (the rest), sorted.
split() {
	python3 - "$FAKE/data/$1.ndjson" "$2" "$1" <<'EOP'
import datetime, json, sys
path, idx, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path, encoding="utf-8").read().splitlines()
def sec(line):
    r = json.loads(line)
    if "timestamp" in r:
        return int(r["timestamp"])
    return int(datetime.datetime.fromisoformat(r["ts"]).timestamp())
t = sec(lines[idx])
old = sorted(l for l in lines if sec(l) <= t)
new = sorted(l for l in lines if sec(l) > t)
open("old." + kind, "w", encoding="utf-8").write("".join(l + "\n" for l in old))
open("new." + kind, "w", encoding="utf-8").write("".join(l + "\n" for l in new))
print(t)
EOP
}

for spec in auth:1500 admin:700 telephony:200; do
	k=${spec%:*}
	t=$(split "$k" "${spec#*:}")
	ok "$k: T=$t leaves records on both sides" test -s "old.$k" -a -s "new.$k"
	# The first run, as printed in duo-collect(1) (paths substituted).
	status "$k: first run with -S \$((T + 1))" 0 \
	    duo-collect -d st -o out -f json -S $((t + 1)) "$k"
	# A scheduled run goes on from the cursor; -S no longer applies.
	status "$k: a scheduled run" 0 duo-collect -d st -o out -f json -S 7d "$k"
	cat out/duo-"$k"-*.log | sed 's/^{"duo_time":"[^"]*",/{/' | sort >got
	same "$k: exactly the events after T, once" got "new.$k"
	sort -m got "old.$k" >all
	sort "$FAKE/data/$k.ndjson" >want
	same "$k: old and new together are the whole log" all want
done
finish
