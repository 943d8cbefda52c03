#!/bin/sh
# make install with DESTDIR puts everything where duo-collect(1) and
# README.md say: the tools and duo-collect in $(PREFIX)/bin, the man
# pages, duo.conf.example, mpe/ and windows/duo-collect.cmd in
# $(PREFIX)/share/duopipe, the systemd units in $(PREFIX)/lib/systemd/
# system with ExecStart pointing at $(BINDIR); the units pass
# systemd-analyze verify (and a broken copy does not); the service's
# time limit leaves room over the run budget; make uninstall removes it
# all again.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$T" || exit 1
for prefix in /usr/local /opt/duopipe; do
	d=$T/dest$(echo "$prefix" | tr / _)
	status "make install PREFIX=$prefix" 0 \
	    make -s -C "$TOP" install DESTDIR="$d" PREFIX="$prefix"
	p=$d$prefix
	for f in bin/duo-sign bin/duo-get bin/duo-fmt bin/duo-ckpt \
	    bin/duo-collect; do
		ok "$prefix: $f executable" test -x "$p/$f"
	done
	for f in share/man/man1/duo-collect.1 share/man/man5/duo.conf.5 \
	    share/man/man7/duo.7 share/duopipe/duo.conf.example \
	    share/duopipe/mpe/README.md share/duopipe/mpe/01-2fa-user-auth.re \
	    share/duopipe/mpe/legacy/003-2fa-user-auth.re \
	    share/duopipe/windows/duo-collect.cmd \
	    lib/systemd/system/duo-collect.service \
	    lib/systemd/system/duo-collect.timer; do
		ok "$prefix: $f" test -f "$p/$f"
	done
	(cd "$p/share/duopipe/mpe" && ls ./*.re legacy/*.re) >got
	(cd "$TOP/mpe" && ls ./*.re legacy/*.re) >want
	same "$prefix: every rule installed" got want
	same "$prefix: duo-collect.cmd as shipped" \
	    "$p/share/duopipe/windows/duo-collect.cmd" "$TOP/duo-collect.cmd"
	is "$prefix: the example conf (no secret in it) is 0644" \
	    "$(stat -c %a "$p/share/duopipe/duo.conf.example")" 644
	grepq "$prefix: ExecStart uses BINDIR" \
	    "^ExecStart=$prefix/bin/duo-collect " \
	    "$p/lib/systemd/system/duo-collect.service"
done

# systemd-analyze verify, on the installed units with ExecStart pointed
# at the installed script (verify checks that it exists) and the
# installed man pages on MANPATH (it checks Documentation=).
p=$T/dest_usr_local/usr/local
mkdir units
sed "s|^ExecStart=/usr/local/bin/|ExecStart=$p/bin/|" \
    "$p/lib/systemd/system/duo-collect.service" >units/duo-collect.service
cp "$p/lib/systemd/system/duo-collect.timer" units/
status "systemd-analyze verify" 0 env MANPATH="$p/share/man" \
    systemd-analyze verify units/duo-collect.service units/duo-collect.timer
is "verify says nothing" "$(cat "$T/.err")" ""
mkdir bad
sed 's/^OnCalendar=.*/OnCalendar=every five minutes/' \
    units/duo-collect.timer >bad/duo-collect.timer
cp units/duo-collect.service bad/
status "a broken timer fails verify" 1 env MANPATH="$p/share/man" \
    systemd-analyze verify bad/duo-collect.service bad/duo-collect.timer
budget=$(sed -n 's/^ExecStart=.* -T \([0-9]*\).*/\1/p' units/duo-collect.service)
limit=$(sed -n 's/^TimeoutStartSec=\([0-9]*\)$/\1/p' units/duo-collect.service)
ok "service time limit ($limit s) exceeds the budget ($budget s) by 30 s" \
    test "$limit" -ge $((budget + 30))
grepq "timer every 5 minutes" '^OnCalendar=\*:0/5$' units/duo-collect.timer
ok "the timer's period is longer than the time limit" test "$limit" -lt 300

for prefix in /usr/local /opt/duopipe; do
	d=$T/dest$(echo "$prefix" | tr / _)
	status "make uninstall PREFIX=$prefix" 0 \
	    make -s -C "$TOP" uninstall DESTDIR="$d" PREFIX="$prefix"
	is "$prefix: no file left" "$(find "$d" -type f | sed "s|^$d||")" ""
done
finish
