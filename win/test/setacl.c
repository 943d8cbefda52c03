/*
 * setacl FILE MODE: give FILE a protected DACL, for the Windows tests
 * (tests/e2e/72-win-acl.t) where wine's icacls and cacls are stubs.
 *   private   the current user, SYSTEM and Administrators: full control
 *   everyone  the same, plus read for Everyone (S-1-1-0)
 *   users     the same as private, plus read for BUILTIN\Users
 *   show      print the file's DACL in SDDL
 * Exit 0 on success, 1 on failure.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

int
wmain(int argc, wchar_t **argv)
{
	HANDLE tok;
	BYTE buf[256];
	DWORD n;
	LPWSTR me, s;
	wchar_t sddl[512];
	PSECURITY_DESCRIPTOR sd;
	const wchar_t *extra;

	if (argc != 3) {
		fprintf(stderr, "usage: setacl file private|everyone|users|show\n");
		return 1;
	}
	if (wcscmp(argv[2], L"show") == 0) {
		n = 0;
		GetFileSecurityW(argv[1], DACL_SECURITY_INFORMATION |
		    OWNER_SECURITY_INFORMATION, NULL, 0, &n);
		if (n == 0 || (sd = LocalAlloc(LPTR, n)) == NULL ||
		    !GetFileSecurityW(argv[1], DACL_SECURITY_INFORMATION |
		    OWNER_SECURITY_INFORMATION, sd, n, &n) ||
		    !ConvertSecurityDescriptorToStringSecurityDescriptorW(sd,
		    SDDL_REVISION_1, DACL_SECURITY_INFORMATION |
		    OWNER_SECURITY_INFORMATION, &s, NULL)) {
			fprintf(stderr, "setacl: show: error %lu\n",
			    (unsigned long)GetLastError());
			return 1;
		}
		printf("%ls\n", s);
		return 0;
	}
	if (wcscmp(argv[2], L"private") == 0)
		extra = L"";
	else if (wcscmp(argv[2], L"everyone") == 0)
		extra = L"(A;;FR;;;WD)";
	else if (wcscmp(argv[2], L"users") == 0)
		extra = L"(A;;FR;;;BU)";
	else {
		fprintf(stderr, "setacl: %ls: unknown mode\n", argv[2]);
		return 1;
	}
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok) ||
	    !GetTokenInformation(tok, TokenUser, buf, sizeof buf, &n) ||
	    !ConvertSidToStringSidW(((TOKEN_USER *)buf)->User.Sid, &me)) {
		fprintf(stderr, "setacl: token: error %lu\n",
		    (unsigned long)GetLastError());
		return 1;
	}
	_snwprintf(sddl, sizeof sddl / sizeof sddl[0],
	    L"D:P(A;;FA;;;%ls)(A;;FA;;;SY)(A;;FA;;;BA)%ls", me, extra);
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl,
	    SDDL_REVISION_1, &sd, NULL) ||
	    !SetFileSecurityW(argv[1], DACL_SECURITY_INFORMATION |
	    PROTECTED_DACL_SECURITY_INFORMATION, sd)) {
		fprintf(stderr, "setacl: %ls: error %lu\n", argv[1],
		    (unsigned long)GetLastError());
		return 1;
	}
	return 0;
}
