#!/bin/sh
# Windows (make check-windows): duo.conf holds the secret key, so the
# tools refuse it when its ACL lets anyone but the owner, SYSTEM or
# Administrators read it, and say which icacls command fixes it.  wine's
# icacls and cacls are stubs; the ACLs are set with win/test/setacl.exe
# (SetFileSecurityW), and wine also derives an Everyone-read entry from
# a Unix mode that lets others read.  Also: a cafile under a non-ASCII
# path.
# shellcheck disable=SC1091
. "$(dirname "$0")/lib.sh"
[ -n "${DUO_WINE:-}" ] ||
    { skip "duo.conf ACL" "not under wine (make check-windows runs it)"; finish; }
SETACL=$DUO_WIN_EXE/test/setacl.exe
[ -f "$SETACL" ] || { skip "duo.conf ACL" "no $SETACL"; finish; }
fake_start --records auth=5 || { echo "Bail out! no fake"; exit 1; }
cd "$T" || exit 1
cp "$FAKE/duo.conf" c.conf
chmod 600 c.conf

acl() {
	"$DUO_WINE" "$SETACL" "$@"
}

ok "setacl private" acl c.conf private
status "owner, SYSTEM, Administrators only: accepted" 0 \
    duo-get -c c.conf -n 1 auth
ok "setacl everyone" acl c.conf everyone
acl c.conf show >sddl
grepq "the ACL really grants Everyone read" '\(A;;[^;]*;;;WD\)' sddl
status "Everyone may read: refused, exit 2" 2 duo-get -c c.conf -n 1 auth
grepq "message names the file" '^duo-get: .*c\.conf: ' "$T/.err"
grepq "message gives the icacls fix" 'icacls' "$T/.err"
nogrep "the secret is not printed" "$(sed -n 's/^skey *= *//p' c.conf)" \
    "$T/.err" "$T/.out"
ok "setacl users" acl c.conf users
acl c.conf show >sddl
if grep -Eq '\(A;;[^;]*;;;BU\)' sddl; then
	status "BUILTIN\\Users may read: refused, exit 2" 2 \
	    duo-get -c c.conf -n 1 auth
else
	# wine 8 does not keep it: the ACL it reads back lacks the entry,
	# so there is nothing for duo-get to refuse.  Real Windows keeps it.
	skip "BUILTIN\\Users may read: refused, exit 2" \
	    "wine did not keep the BUILTIN\\Users entry ($(cat sddl))"
fi
ok "setacl private again" acl c.conf private
status "fixed: accepted again" 0 duo-get -c c.conf -n 1 auth
# cafile under a non-ASCII path: curl hands it to OpenSSL, whose file
# opening on Windows takes UTF-8 to the wide API.
ca=$(sed -n 's/^cafile *= *//p' "$FAKE/duo.conf")
mkdir "$T/Zertifikate é ü (x86)"
cp "$ca" "$T/Zertifikate é ü (x86)/ca ü.pem"
sed "s|^cafile *=.*|cafile = $T/Zertifikate é ü (x86)/ca ü.pem|" \
    "$FAKE/duo.conf" >u.conf
chmod 600 u.conf
status "cafile under a non-ASCII path: accepted, exit 0" 0 \
    duo-get -c u.conf -n 1 auth
# A mode that lets others read shows up as Everyone read under wine.
cp "$FAKE/duo.conf" open.conf
chmod 644 open.conf
status "mode 644 (Everyone read under wine): refused" 2 \
    duo-get -c open.conf -n 1 auth
finish
