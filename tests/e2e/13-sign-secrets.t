#!/bin/sh
# duo-sign holds the skey, so: core dumps are off in the process before
# the conf is read (RLIMIT_CORE 0, soft and hard), DUO_SKEY's bytes are
# overwritten in the environment block (/proc/PID/environ), and a secret
# pasted as a key name in duo.conf is never printed.  The conf is a FIFO
# here, so that duo-sign waits in open(2) while the test looks at it
# (Linux /proc; skipped under wine).
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"

SKEY=Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep
ESKEY=EnvSecretEnvSecretEnvSecretEnvSecret0042
cd "$T" || exit 1
printf '[duo]\nikey = DIWJ8X6AEYOR5OMC6TQ1\nskey = %s\nhost = api-x.example\n' \
    "$SKEY" >good.conf
chmod 600 good.conf

if [ -n "${DUO_WINE:-}" ]; then
	# /proc would show the wine loader, not the Windows process.
	skip "core dumps and environment" "a POSIX process's /proc view"
elif [ ! -r /proc/self/limits ] || ! mkfifo fifo.conf 2>/dev/null; then
	skip "core dumps and environment" "no /proc or no FIFOs"
else
	chmod 600 fifo.conf
	# Allow cores in this shell, as far as the hard limit lets us, so
	# that a process that does not turn them off shows it (ulimit -c
	# and -H are not POSIX, but dash, bash and busybox sh have them).
	# shellcheck disable=SC3045
	ulimit -c unlimited 2>/dev/null || ulimit -c "$(ulimit -H -c)"
	DUO_SKEY=$ESKEY duo-sign -c fifo.conf -d 'Tue, 21 Aug 2012 17:29:18 -0000' \
	    GET /x >sign.out 2>sign.err &
	pid=$!
	i=0
	# Wait until it blocks in open(2) of the FIFO (its conf_load): the
	# kernel's wait for a writer, or openat on x86-64; at most 5 s.
	while [ "$i" -lt 100 ]; do
		grep -q partner "/proc/$pid/wchan" 2>/dev/null && break
		[ "$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)" = 257 ] &&
		    break
		sleep 0.05
		i=$((i + 1))
	done
	sed -n 's/^Max core file size  *//p' "/proc/$pid/limits" >core
	tr '\0' '\n' <"/proc/$pid/environ" >environ 2>/dev/null
	cat good.conf >fifo.conf
	wait "$pid"
	is "duo-sign with a FIFO conf: exit 0" "$?" 0
	is "core dumps off: soft and hard limit 0" \
	    "$(awk '{ print $1, $2 }' core)" "0 0"
	if [ -s environ ]; then
		nogrep "DUO_SKEY overwritten in /proc/PID/environ" "$ESKEY" \
		    environ
	else
		skip "DUO_SKEY overwritten in /proc/PID/environ" \
		    "environ not readable"
	fi
	grepq "the environment's skey was used" '^header = "Authorization: Basic' \
	    sign.out
	nogrep "skey not in output" "$ESKEY" sign.out sign.err
fi

# A secret pasted as a key name: at most 16 characters shown.
printf '[duo]\nikey = DIWJ8X6AEYOR5OMC6TQ1\n%s = x\nhost = h\n' "$SKEY" \
    >pasted.conf
chmod 600 pasted.conf
status "a pasted secret as key name: exit 2" 2 duo-sign -c pasted.conf GET /x
grepq "the message shows a cut name" \
    '^duo-sign: .*pasted.conf: line 3: unknown key "Zh5eGmUq9zpfQ\.\.\." in \[duo\]$' \
    "$T/.err"
nogrep "the secret is not printed" "${SKEY#Zh5eGmUq9zpfQ}" "$T/.err"
finish
