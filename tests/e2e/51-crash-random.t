#!/bin/sh
# SIGKILL to the whole pipeline's process group at random instants
# (seeded: CRASH_SEED, default 5), 20 runs in -o mode and 8 in -a mode,
# then runs to completion.  After every kill no *.log file holds a
# partial line, a temporary file, or a record twice; at the end every
# record the fake served is there exactly once.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

command -v setsid >/dev/null 2>&1 || { skip "random kills" "no setsid"; finish; }
seed=${CRASH_SEED:-5}
echo "# seed $seed"
# A backlog that no run of at most 0.6 s can drain (about 300 records a
# run get committed), so that every kill lands on a live pipeline however
# fast the machine is.
fake_start --records auth=12000 --latency 60 ||
    { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1
sort "$FAKE/data/auth.ndjson" >want

cat >pipe <<'EOF'
d=$1
shift
duo-ckpt -d "$d/st" get auth |
    duo-get -C -n 100 -s - auth |
    duo-fmt -f json |
    duo-ckpt -d "$d/st" commit -n 300 "$@" auth
EOF

records() {
	cat "$@" 2>/dev/null | sed 's/^{"duo_time":"[^"]*",/{/'
}

# sane DIR FILES...: whole lines, known records, none twice.
sane() {
	_d=$1
	shift
	for _f in "$@"; do
		[ -s "$_f" ] || continue
		[ "$(tail -c 1 "$_f" | od -An -c | tr -d ' ')" = '\n' ] ||
		    return 1
	done
	records "$@" | sort >"$_d/got"
	[ -z "$(uniq -d "$_d/got")" ] && [ -z "$(comm -23 "$_d/got" want)" ]
}

delays=$(awk -v s="$seed" 'BEGIN { srand(s);
    for (i = 0; i < 28; i++) printf "%.3f\n", rand() * 0.6 }')

kills=0
i=0
for delay in $delays; do
	i=$((i + 1))
	if [ "$i" -le 20 ]; then
		d=$T/o
		set -- -o "$d/out"
	else
		d=$T/a
		set -- -a "$d/sink.log"
	fi
	mkdir -p "$d"
	setsid sh pipe "$d" "$@" 2>>"$d/log" &
	pg=$!
	sleep "$delay"
	kill -s KILL -- "-$pg" 2>/dev/null && kills=$((kills + 1))
	wait "$pg" 2>/dev/null
	if [ "$i" -le 20 ]; then
		ok "run $i (kill after ${delay}s): *.log files sane" \
		    sane "$d" "$d"/out/*.log
		ok "run $i: nothing else matches *.log" sh -c \
		    "! ls -A '$d/out' 2>/dev/null | grep '\.log' |
		    grep -v '^duo-auth-[0-9]\{8\}T[0-9]\{6\}Z-[0-9]*\.log$'"
	else
		# A torn append is allowed only until the next run's get.
		ok "run $i (kill after ${delay}s): sink lines known, no repeats" \
		    sh -c "sed '\$d' '$d/sink.log' 2>/dev/null |
		    sed 's/^{\"duo_time\":\"[^\"]*\",/{/' | sort >'$d/got2';
		    [ -z \"\$(uniq -d '$d/got2')\" ] &&
		    [ -z \"\$(comm -23 '$d/got2' want)\" ]"
		duo-ckpt -d "$d/st" get auth >/dev/null 2>&1
		ok "run $i: after recovery no partial line" sane "$d" \
		    "$d/sink.log"
	fi
done
echo "# $kills of $i runs were killed while running"
ok "at least 8 runs were killed mid-way" test "$kills" -ge 8

for d in "$T/o" "$T/a"; do
	if [ "$d" = "$T/o" ]; then
		set -- -o "$d/out"
	else
		set -- -a "$d/sink.log"
	fi
	n=0
	until sh pipe "$d" "$@" 2>>"$d/log"; do
		n=$((n + 1))
		[ "$n" -ge 5 ] && break
	done
	ok "${d##*/}: completes" test "$n" -lt 5
	if [ "$d" = "$T/o" ]; then
		records "$d"/out/*.log | sort >"$d/all"
	else
		records "$d/sink.log" | sort >"$d/all"
	fi
	same "${d##*/}: every record exactly once" "$d/all" want
	ok "${d##*/}: ledger whole" duo-ckpt -d "$d/st" status auth
	grepq "${d##*/}: ledger counts 12000" ' records=12000 ' "$T/.out"
done
finish
