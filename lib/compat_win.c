/*
 * compat, Windows side: every function declared in the compat section
 * of duo.h, for x86_64 Windows 10 / Server 2016 and later, built with
 * mingw-w64.  lib/compat.c is the POSIX side; exactly one of the two is
 * linked.
 *
 * Build (for the Makefile's windows target):
 *   CC      x86_64-w64-mingw32-gcc
 *   CFLAGS  the project's ($(DUO_CFLAGS)) plus -D_FILE_OFFSET_BITS=64
 *           -D__USE_MINGW_ANSI_STDIO=1 (C99 printf: %zu, %lld; duo.h
 *           switches its format attributes to match)
 *   SOURCES lib/compat_win.c instead of lib/compat.c
 *   LDFLAGS -static (libgcc, winpthread: one folder, no DLLs)
 *   LIBS    after libcurl.a, libssl.a and libcrypto.a:
 *           -lws2_32 -lcrypt32 -lbcrypt -ladvapi32 -lshell32 -luser32
 *           -lgdi32, and -lpthread while curl is built with pthreads
 *           (its threaded resolver; curl's --enable-threaded-resolver
 *           with Windows threads needs none)
 *   Neither -municode nor a manifest is needed: compat_init converts the
 *   UTF-16 command line itself (Server 2016 predates the UTF-8 code page
 *   manifest).  A manifest may still be linked for other reasons.
 *
 * Rules every function here follows:
 * - Paths are UTF-8 and go to the wide API (CreateFileW and friends)
 *   after GetFullPathNameW, so drive letters, UNC names and both
 *   separators work; paths of MAX_PATH or more get the \\?\ prefix.
 *   getenv is UTF-8 too (duo.h maps it to compat_getenv).
 * - Files are opened with FILE_SHARE_READ|WRITE|DELETE, so that a file
 *   held open can still be renamed or removed, as on POSIX, and
 *   descriptors are binary (_open_osfhandle with _O_BINARY): no CRLF.
 *   Renaming over a held file, and reusing the name of a removed one
 *   while it is still held, need the POSIX semantics of Windows 10 1607
 *   and later (used when there; wine 8 has neither).
 * - Where the POSIX side refuses symbolic links, this side refuses the
 *   reparse points that stand for another name (symbolic links,
 *   junctions, mount points), opening with FILE_FLAG_OPEN_REPARSE_POINT
 *   and checking the attributes and the tag; other reparse points
 *   (OneDrive placeholders, deduplicated files) are ordinary files.
 * - Errors go into the caller's buffer as "what: why", why from
 *   FormatMessageW in English where the system has it (but "No such
 *   file or directory" for a file or path not found, as on POSIX), and
 *   errno is set to the nearest POSIX code.
 */
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00
#endif
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <shellapi.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <openssl/rand.h>

#include "duo.h"

/* ---- helpers ---- */

#define SHARE_ALL	(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)

/* The reason for Windows error code e, one line, into buf. */
static const char *
winerr(DWORD e, char *buf, size_t len)
{
	WCHAR w[256];
	DWORD n;
	char *p;
	int m;

	/* Not found: the words the POSIX side uses, on every Windows. */
	if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) {
		snprintf(buf, len, "%s", strerror(ENOENT));
		return buf;
	}
	n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM |
	    FORMAT_MESSAGE_IGNORE_INSERTS | FORMAT_MESSAGE_MAX_WIDTH_MASK,
	    NULL, e, MAKELANGID(LANG_ENGLISH, SUBLANG_ENGLISH_US), w,
	    sizeof w / sizeof w[0], NULL);
	if (n == 0)
		n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM |
		    FORMAT_MESSAGE_IGNORE_INSERTS |
		    FORMAT_MESSAGE_MAX_WIDTH_MASK, NULL, e, 0, w,
		    sizeof w / sizeof w[0], NULL);
	if (n == 0 || (m = WideCharToMultiByte(CP_UTF8, 0, w, (int)n, buf,
	    (int)len - 1, NULL, NULL)) <= 0) {
		snprintf(buf, len, "Windows error %lu", (unsigned long)e);
		return buf;
	}
	buf[m] = '\0';
	/* Trailing blanks, CR, LF and the final period. */
	p = buf + strlen(buf);
	while (p > buf && (p[-1] == ' ' || p[-1] == '\r' || p[-1] == '\n' ||
	    p[-1] == '.'))
		*--p = '\0';
	return buf;
}

/* seterr with the reason for GetLastError() appended. */
static int
seterr_win(char *err, DWORD e, const char *what, const char *arg)
{
	char why[160];

	winerr(e, why, sizeof why);
	if (arg != NULL)
		return seterr(err, "%s: %s: %s", arg, what, why);
	return seterr(err, "%s: %s", what, why);
}

/* Map a Windows error to errno, for the functions that report by it. */
static int
errno_of(DWORD e)
{
	switch (e) {
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
	case ERROR_INVALID_DRIVE:
	case ERROR_BAD_NETPATH:
	case ERROR_BAD_NET_NAME:
		return ENOENT;
	case ERROR_ACCESS_DENIED:
	case ERROR_SHARING_VIOLATION:
	case ERROR_LOCK_VIOLATION:
	case ERROR_CANNOT_MAKE:
	case ERROR_DELETE_PENDING:
		return EACCES;
	case ERROR_FILE_EXISTS:
	case ERROR_ALREADY_EXISTS:
		return EEXIST;
	case ERROR_DIR_NOT_EMPTY:
		return ENOTEMPTY;
	case ERROR_DISK_FULL:
	case ERROR_HANDLE_DISK_FULL:
		return ENOSPC;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
		return ENOMEM;
	case ERROR_FILENAME_EXCED_RANGE:
		return ENAMETOOLONG;
	case ERROR_DIRECTORY:
		return ENOTDIR;
	case ERROR_BROKEN_PIPE:
	case ERROR_NO_DATA:
		return EPIPE;
	case ERROR_OPERATION_ABORTED:
		return EINTR;
	case ERROR_FILE_TOO_LARGE:
		return EFBIG;
	case ERROR_BUSY:
	case ERROR_PIPE_BUSY:
		return EBUSY;
	case ERROR_CANT_RESOLVE_FILENAME:
		return ELOOP;
	case ERROR_NOT_SAME_DEVICE:
		return EXDEV;
	case ERROR_INVALID_NAME:
	case ERROR_BAD_PATHNAME:
	case ERROR_INVALID_PARAMETER:
		return EINVAL;
	case ERROR_WRITE_PROTECT:
		return EROFS;
	case ERROR_INVALID_HANDLE:
		return EBADF;
	case ERROR_TOO_MANY_OPEN_FILES:
		return EMFILE;
	default:
		return EIO;
	}
}

/* Set errno from e, fill err with "PATH: why", return -1. */
static int
fail_path(char *err, DWORD e, const char *path)
{
	char why[160];

	if (err != NULL)
		seterr(err, "%s: %s", path, winerr(e, why, sizeof why));
	errno = errno_of(e);
	return -1;
}

/* UTF-8 to a fresh UTF-16 string, or NULL (errno EILSEQ) when invalid. */
static WCHAR *
utf8_to_w(const char *s)
{
	WCHAR *w;
	int n;

	n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL,
	    0);
	if (n <= 0) {
		errno = EILSEQ;
		return NULL;
	}
	w = xcalloc((size_t)n, sizeof *w);
	MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n);
	return w;
}

/* UTF-16 to a fresh UTF-8 string (unpaired surrogates become U+FFFD). */
static char *
w_to_utf8(const WCHAR *w)
{
	char *s;
	int n;

	n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	if (n <= 0)
		return xstrdup("");
	s = xmalloc((size_t)n);
	WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL);
	return s;
}

/*
 * A UTF-8 path as the full UTF-16 path for the wide API: relative paths
 * resolved against the current directory, '/' turned into '\', "." and
 * ".." removed (GetFullPathNameW), and \\?\ (or \\?\UNC\) put in front
 * when it is MAX_PATH or longer.  NULL with err filled on failure.
 */
static WCHAR *
wpath(const char *path, char *err)
{
	WCHAR *w, *full, *p;
	DWORD n, m;
	size_t len;

	if (*path == '\0') {
		seterr(err, "empty path");
		errno = ENOENT;
		return NULL;
	}
	if ((w = utf8_to_w(path)) == NULL) {
		seterr(err, "%s: not valid UTF-8", path);
		return NULL;
	}
	/* Already \\?\ or \\.\: the caller means it literally. */
	if (w[0] == L'\\' && w[1] == L'\\' && (w[2] == L'?' || w[2] == L'.') &&
	    w[3] == L'\\')
		return w;
	n = GetFullPathNameW(w, 0, NULL, NULL);
	if (n == 0) {
		errno = errno_of(GetLastError());
		seterr_win(err, GetLastError(), "full path", path);
		free(w);
		return NULL;
	}
	full = xcalloc((size_t)n + 8, sizeof *full);
	p = full + 8;		/* room for \\?\UNC\ in front */
	m = GetFullPathNameW(w, n, p, NULL);
	free(w);
	if (m == 0 || m >= n) {
		errno = EINVAL;
		seterr(err, "%s: full path: changed while read", path);
		free(full);
		return NULL;
	}
	len = m;
	if (len >= MAX_PATH - 12) {
		if (p[0] == L'\\' && p[1] == L'\\') {
			/* \\server\share\x -> \\?\UNC\server\share\x */
			p -= 6;
			memcpy(p, L"\\\\?\\UNC\\", 8 * sizeof *p);
		} else if (p[1] == L':') {
			p -= 4;
			memcpy(p, L"\\\\?\\", 4 * sizeof *p);
		}
	}
	if (p != full)
		memmove(full, p, (wcslen(p) + 1) * sizeof *p);
	return full;
}

/* ---- clock, sleep, random ---- */

/* 100 ns intervals from 1601-01-01 to 1970-01-01. */
#define EPOCH_DIFF	116444736000000000LL

int64_t
compat_now_ms(void)
{
	FILETIME ft;
	ULARGE_INTEGER u;

	GetSystemTimePreciseAsFileTime(&ft);
	u.LowPart = ft.dwLowDateTime;
	u.HighPart = ft.dwHighDateTime;
	return ((int64_t)u.QuadPart - EPOCH_DIFF) / 10000;
}

void
compat_sleep_ms(long ms)
{
	if (ms <= 0)
		return;
	Sleep((DWORD)ms);
}

int
compat_random(void *p, size_t n)
{
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

/* ---- calendar: proleptic Gregorian arithmetic, no CRT limits ---- */

static void
civil_tm(int64_t t, struct tm *tm)
{
	int64_t z, sod, y;
	int m;

	z = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	sod = t - z * 86400;
	tm->tm_wday = (int)((z % 7 + 11) % 7);	/* 1970-01-01: Thursday */
	civil_from_days(z, &y, &m, &tm->tm_mday);
	tm->tm_mon = m - 1;
	tm->tm_year = (int)(y - 1900);
	tm->tm_yday = (int)(days_from_civil(y, m, tm->tm_mday) -
	    days_from_civil(y, 1, 1));
	tm->tm_hour = (int)(sod / 3600);
	tm->tm_min = (int)(sod / 60 % 60);
	tm->tm_sec = (int)(sod % 60);
	tm->tm_isdst = 0;
}

/* timegm(3): fields out of range are normalised, and tm rewritten. */
time_t
compat_timegm(struct tm *tm)
{
	int64_t y, mon, t;

	mon = tm->tm_mon;
	y = (int64_t)tm->tm_year + 1900 + (mon >= 0 ? mon / 12 :
	    -((11 - mon) / 12));
	mon -= (y - 1900 - tm->tm_year) * 12;
	t = (days_from_civil(y, (int)mon + 1, 1) + tm->tm_mday - 1) * 86400 +
	    (int64_t)tm->tm_hour * 3600 + (int64_t)tm->tm_min * 60 +
	    tm->tm_sec;
	civil_tm(t, tm);
	return (time_t)t;
}

int
compat_gmtime(time_t t, struct tm *tm)
{
	/* Years must fit tm_year: far beyond anything real. */
	if (t < -67767976233316800LL || t > 67767976233316800LL)
		return -1;
	civil_tm((int64_t)t, tm);
	return 0;
}

/*
 * The system zone's rules for one year, from GetTimeZoneInformationForYear
 * (the zone's Dynamic DST table in the registry), kept for the next
 * calls: the zone as it was when a year was first asked for.  A zone
 * without a per-year table (seen under wine) has its one rule for every
 * year.  With "adjust for daylight saving time automatically" off, the
 * standard time all year.
 */
static int
zone_for_year(WORD year, TIME_ZONE_INFORMATION *tzi)
{
	static struct {
		WORD			 year;
		TIME_ZONE_INFORMATION	 tzi;
	} cache[8];
	static int next;
	DYNAMIC_TIME_ZONE_INFORMATION dz;
	int i;

	for (i = 0; i < 8; i++)
		if (cache[i].year == year) {
			*tzi = cache[i].tzi;
			return 0;
		}
	if (!GetTimeZoneInformationForYear(year, NULL, tzi) &&
	    GetTimeZoneInformation(tzi) == TIME_ZONE_ID_INVALID)
		return -1;
	if (GetDynamicTimeZoneInformation(&dz) != TIME_ZONE_ID_INVALID &&
	    dz.DynamicDaylightTimeDisabled) {
		memset(&tzi->DaylightDate, 0, sizeof tzi->DaylightDate);
		memset(&tzi->StandardDate, 0, sizeof tzi->StandardDate);
		tzi->DaylightBias = 0;
	}
	cache[next].year = year;
	cache[next].tzi = *tzi;
	next = (next + 1) % 8;
	return 0;
}

/*
 * The Windows system zone's offset at t, by that year's rules
 * (GetTimeZoneInformationForYear, which reads the zone's Dynamic DST
 * table), converted by SystemTimeToTzSpecificLocalTime.  *dst is 1
 * when the offset differs from the year's standard bias.
 */
static int
sys_local(int64_t t, long *off, int *dst)
{
	TIME_ZONE_INFORMATION tzi;
	SYSTEMTIME ust, lst;
	FILETIME uft, lft;
	ULARGE_INTEGER u, l;
	int64_t ft;
	WORD year;
	int pass;

	if (t < -11644473600LL || t > 910692730085LL)	/* 1601 .. 30827 */
		return -1;
	ft = t * 10000000 + EPOCH_DIFF;
	uft.dwLowDateTime = (DWORD)ft;
	uft.dwHighDateTime = (DWORD)((uint64_t)ft >> 32);
	if (!FileTimeToSystemTime(&uft, &ust))
		return -1;
	/* The local year's rules: the UTC year's first, then again if the
	 * local time fell in another year (New Year in the zone's east or
	 * west). */
	year = ust.wYear;
	for (pass = 0; pass < 2; pass++) {
		if (zone_for_year(year, &tzi) == -1)
			return -1;
		if (!SystemTimeToTzSpecificLocalTime(&tzi, &ust, &lst))
			return -1;
		if (lst.wYear == year)
			break;
		year = lst.wYear;
	}
	if (!SystemTimeToFileTime(&lst, &lft))
		return -1;
	u.LowPart = uft.dwLowDateTime;
	u.HighPart = uft.dwHighDateTime;
	l.LowPart = lft.dwLowDateTime;
	l.HighPart = lft.dwHighDateTime;
	*off = (long)(((int64_t)l.QuadPart - (int64_t)u.QuadPart) / 10000000);
	if (dst != NULL)
		*dst = *off != -(tzi.Bias + tzi.StandardBias) * 60L;
	return 0;
}

int
compat_sys_utcoff(int64_t t, long *off)
{
	return sys_local(t, off, NULL);
}

/* The CRT's localtime knows only this year's rules: not used. */
int
compat_localtime(time_t t, struct tm *tm)
{
	long off;
	int dst;

	if (sys_local((int64_t)t, &off, &dst) == -1)
		return -1;
	civil_tm((int64_t)t + off, tm);
	tm->tm_isdst = dst;
	return 0;
}

/* ---- process set-up ---- */

/*
 * getenv, as duo.h maps it on Windows: the CRT's copy of the
 * environment holds each value in the ANSI code page, so that a
 * non-ASCII value (a path under C:\Users\Jörg) would arrive mangled.
 * This reads the UTF-16 block and keeps one UTF-8 copy per name, valid
 * for the life of the process (a changed value gets a new copy; the old
 * one is not freed, since a caller may still hold it).
 */
struct envc {
	struct envc	*next;
	char		*name;
	char		*val;
};
static struct envc *envcache;

char *
compat_getenv(const char *name)
{
	struct envc *e;
	WCHAR *wn, *wv;
	DWORD n;
	char *v;

	if ((wn = utf8_to_w(name)) == NULL)
		return NULL;
	if ((n = GetEnvironmentVariableW(wn, NULL, 0)) == 0) {
		free(wn);
		return NULL;
	}
	wv = xcalloc(n, sizeof *wv);
	if (GetEnvironmentVariableW(wn, wv, n) >= n) {
		free(wn);
		free(wv);
		return NULL;	/* changed under us */
	}
	free(wn);
	v = w_to_utf8(wv);
	free(wv);
	for (e = envcache; e != NULL; e = e->next)
		if (strcmp(e->name, name) == 0)
			break;
	if (e != NULL && strcmp(e->val, v) == 0) {
		free(v);
		return e->val;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof *e);
		e->name = xstrdup(name);
		e->next = envcache;
		envcache = e;
	}
	e->val = v;
	return v;
}

static UINT oldcp;

static void
restore_cp(void)
{
	SetConsoleOutputCP(oldcp);
}

void
compat_init(int *argc, char ***argv)
{
	WCHAR **wv;
	char **v;
	DWORD mode;
	int i, n;

	/* No "insert a disk" or "open failed" boxes in unattended runs. */
	SetErrorMode(SetErrorMode(0) | SEM_FAILCRITICALERRORS |
	    SEM_NOOPENFILEERRORBOX);
	if ((wv = CommandLineToArgvW(GetCommandLineW(), &n)) != NULL) {
		v = xcalloc((size_t)n + 1, sizeof *v);
		for (i = 0; i < n; i++)
			v[i] = w_to_utf8(wv[i]);
		v[n] = NULL;
		LocalFree(wv);
		*argc = n;
		*argv = v;
	}
	/* Binary by default for every CRT open and fopen, and for the
	 * standard streams. */
	_fmode = _O_BINARY;
	_setmode(0, _O_BINARY);
	_setmode(1, _O_BINARY);
	_setmode(2, _O_BINARY);
	/* A console shows our UTF-8 messages right only in code page
	 * 65001; pipes and files get the bytes as they are. */
	if ((GetConsoleMode(GetStdHandle(STD_OUTPUT_HANDLE), &mode) ||
	    GetConsoleMode(GetStdHandle(STD_ERROR_HANDLE), &mode)) &&
	    (oldcp = GetConsoleOutputCP()) != CP_UTF8 &&
	    SetConsoleOutputCP(CP_UTF8))
		atexit(restore_cp);	/* the console is the user's */
}

/* An unhandled exception ends the process at once, before Windows
 * Error Reporting could write a dump of its memory. */
static LONG WINAPI
no_wer(EXCEPTION_POINTERS *ep)
{
	TerminateProcess(GetCurrentProcess(),
	    ep->ExceptionRecord->ExceptionCode);
	return EXCEPTION_EXECUTE_HANDLER;
}

/*
 * Windows has no core files; what can write our memory to disk is
 * Windows Error Reporting on a crash (and LocalDumps when an admin has
 * configured them).  Both go through the unhandled exception filter,
 * which is replaced by one that terminates at once, and WER's dialog is
 * turned off.  Not covered, and not coverable from inside: fail-fast
 * exceptions (stack buffer overrun checks, which go to WER directly)
 * and anyone with PROCESS_VM_READ on us (the same user, admins: Task
 * Manager's "Create dump file").
 */
int
compat_nodump(void)
{
	SetErrorMode(SetErrorMode(0) | SEM_FAILCRITICALERRORS |
	    SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
	SetUnhandledExceptionFilter(no_wer);
	return 0;
}

/*
 * Every copy: the CRT's, overwritten in place, then removed; the UTF-8
 * one compat_getenv made, overwritten; and the process block, first
 * overwritten with as many 'x' (an in-place rewrite of the same
 * length), then removed.
 */
void
compat_env_wipe(const char *name)
{
	struct envc *e;
	WCHAR *wn, *wx;
	char *v, *kv;
	DWORD n;

	if ((wn = utf8_to_w(name)) != NULL &&
	    (n = GetEnvironmentVariableW(wn, NULL, 0)) > 1) {
		wx = xcalloc(n, sizeof *wx);
		wmemset(wx, L'x', n - 1);
		SetEnvironmentVariableW(wn, wx);
		free(wx);
	}
	for (e = envcache; e != NULL; e = e->next)
		if (strcmp(e->name, name) == 0)
			memset(e->val, 'x', strlen(e->val));
	if ((v = (getenv)(name)) != NULL) {
		memset(v, 'x', strlen(v));
		kv = xmalloc(strlen(name) + 2);
		memcpy(kv, name, strlen(name));
		memcpy(kv + strlen(name), "=", 2);
		_putenv(kv);		/* "NAME=" removes it */
		free(kv);
	}
	if (wn != NULL)
		SetEnvironmentVariableW(wn, NULL);
	free(wn);
}

/*
 * Console control events stand in for signals: Ctrl-C is SIGINT,
 * Ctrl-Break SIGBREAK, closing the console, logoff and shutdown
 * SIGTERM.  The handler runs on a thread of its own: it sets the flag,
 * counts the event (compat_wait_readable returns early on it) and
 * cancels a compat_read blocked in ReadFile (CancelSynchronousIo), which
 * then fails with EINTR as on POSIX; other blocking calls are not
 * interrupted.  After a close, logoff or shutdown event Windows ends the
 * process as soon as the handler returns, so the handler waits there
 * (Windows allows it 5 s, then ends the process anyway) while the main
 * thread finishes and exits.  A second event of the same kind is left
 * to the default handler, which ends the process.
 */
static volatile int *sigflag;
static volatile LONG lastev = -1;
static volatile LONG sigcount;
/* compat_read's bracket: 0 out, 1 in ReadFile, 2 being cancelled, 3
 * cancelled. */
static volatile LONG inread;
static HANDLE readthr;		/* the thread that called catch_signals */

static BOOL WINAPI
on_ctrl(DWORD ev)
{
	int i, sig;

	switch (ev) {
	case CTRL_C_EVENT:
		sig = SIGINT;
		break;
	case CTRL_BREAK_EVENT:
		sig = SIGBREAK;
		break;
	default:
		sig = SIGTERM;
		break;
	}
	if (sigflag == NULL || InterlockedExchange(&lastev, (LONG)ev) ==
	    (LONG)ev)
		return FALSE;
	*sigflag = sig;
	InterlockedIncrement(&sigcount);
	/*
	 * Cancel only inside compat_read's bracket (inread 1 -> 2), so
	 * that no other I/O of the thread is hit; the read may be about to
	 * start (nothing to cancel yet): try again for up to 0.5 s.
	 */
	for (i = 0; i < 50 && readthr != NULL; i++) {
		if (InterlockedCompareExchange(&inread, 2, 1) != 1)
			break;		/* not reading: it sees the flag */
		if (CancelSynchronousIo(readthr)) {
			InterlockedExchange(&inread, 3);
			break;
		}
		InterlockedExchange(&inread, 1);
		Sleep(10);
	}
	if (sig == SIGTERM)
		Sleep(30000);
	return TRUE;
}

void
compat_catch_signals(volatile int *flag)
{
	sigflag = flag;
	if (readthr == NULL)
		DuplicateHandle(GetCurrentProcess(), GetCurrentThread(),
		    GetCurrentProcess(), &readthr, 0, FALSE,
		    DUPLICATE_SAME_ACCESS);
	SetConsoleCtrlHandler(on_ctrl, TRUE);
}

/* ---- files ---- */

/*
 * Directories: open with FILE_FLAG_BACKUP_SEMANTICS (the only way to
 * get a handle on one) and FlushFileBuffers it, which NTFS honours for
 * a directory handle with write access.  Where Windows refuses either
 * step with "access denied" (no write access to the directory, or a
 * file system that does not flush directories, which also answers
 * "invalid function") this succeeds: the renames and creations this
 * follows were made with MOVEFILE_WRITE_THROUGH, which does not return
 * before the move is on disk, and NTFS journals its metadata.
 */
static int
fsync_dirw(const WCHAR *w, const char *dir, char *err)
{
	HANDLE h;
	DWORD e;

	h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, SHARE_ALL, NULL,
	    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		if (e == ERROR_ACCESS_DENIED)
			return 0;
		return fail_path(err, e, dir);
	}
	if (!FlushFileBuffers(h)) {
		e = GetLastError();
		if (e != ERROR_ACCESS_DENIED && e != ERROR_INVALID_FUNCTION &&
		    e != ERROR_NOT_SUPPORTED) {
			CloseHandle(h);
			return fail_path(err, e, dir);
		}
	}
	CloseHandle(h);
	return 0;
}

int
compat_fsync_dir(const char *dir, char *err)
{
	WCHAR *w;
	int r;

	if ((w = wpath(dir, err)) == NULL)
		return -1;
	r = fsync_dirw(w, dir, err);
	free(w);
	return r;
}

/* The full path's directory part (in place: cut at the last '\'). */
static int
cut_parent(WCHAR *w)
{
	WCHAR *s = wcsrchr(w, L'\\');

	if (s == NULL)
		return -1;
	/* Keep the root's separator: "C:\x" -> "C:\". */
	if (s > w && s[-1] == L':')
		s[1] = L'\0';
	else
		s[0] = L'\0';
	return 0;
}

/* FILE_RENAME_INFO as FileRenameInfoEx reads it (Flags, not a BOOLEAN). */
struct rename_ex {
	DWORD	 flags;
	HANDLE	 root;
	DWORD	 len;		/* bytes in name, without the NUL */
	WCHAR	 name[1];
};
#define FILE_RENAME_INFO_EX_CLASS	((FILE_INFO_BY_HANDLE_CLASS)22)
#define RENAME_REPLACE		0x1	/* FILE_RENAME_FLAG_REPLACE_IF_EXISTS */
#define RENAME_POSIX		0x2	/* FILE_RENAME_FLAG_POSIX_SEMANTICS */

/*
 * Rename with POSIX semantics (Windows 10 1607 and later, NTFS): the
 * target may be held open by others (with delete sharing), which
 * MoveFileEx refuses with "access denied".  The name is the Win32 full
 * path, which SetFileInformationByHandle turns into an NT path.  wine 8
 * does not have it (STATUS_NOT_IMPLEMENTED).
 */
static int
rename_posix(const WCHAR *wf, const WCHAR *wt, DWORD *e)
{
	struct rename_ex *ri;
	size_t n = wcslen(wt);
	HANDLE h;
	BOOL ok;

	h = CreateFileW(wf, DELETE | SYNCHRONIZE, SHARE_ALL, NULL,
	    OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT |
	    FILE_FLAG_BACKUP_SEMANTICS, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		*e = GetLastError();
		return -1;
	}
	ri = xcalloc(1, sizeof *ri + (n + 1) * sizeof(WCHAR));
	ri->flags = RENAME_REPLACE | RENAME_POSIX;
	ri->root = NULL;
	memcpy(ri->name, wt, n * sizeof(WCHAR));
	ri->len = (DWORD)(n * sizeof(WCHAR));
	ok = SetFileInformationByHandle(h, FILE_RENAME_INFO_EX_CLASS, ri,
	    (DWORD)(sizeof *ri + n * sizeof(WCHAR)));
	*e = GetLastError();
	free(ri);
	CloseHandle(h);
	return ok ? 0 : -1;
}

/*
 * After a failed move (attempt i): 1 when it is worth another try, after
 * a pause (a virus scanner or an indexer holding the file, for about two
 * seconds in all); else 0 with errno and err set.
 */
static int
move_retry(int i, DWORD e, const char *from, const char *to, char *err)
{
	char why[160];

	if (i < 19 && (e == ERROR_ACCESS_DENIED ||
	    e == ERROR_SHARING_VIOLATION || e == ERROR_LOCK_VIOLATION)) {
		Sleep(100);
		return 1;
	}
	errno = errno_of(e);
	seterr(err, "rename %s to %s: %s", from, to,
	    winerr(e, why, sizeof why));
	return 0;
}

/*
 * MoveFileExW with MOVEFILE_REPLACE_EXISTING|MOVEFILE_WRITE_THROUGH:
 * atomic on one volume, and not back before the move is on disk.  When
 * the target is open elsewhere it answers "access denied": then the
 * POSIX-semantics rename, which allows that when the holders share
 * delete (as everything compat_open opens does), with the target's
 * directory flushed after it.  A virus scanner or an indexer briefly
 * holding the target without delete sharing fails both: try again for
 * about two seconds.
 */
int
compat_rename(const char *from, const char *to, char *err)
{
	WCHAR *wf, *wt;
	DWORD e, e2;
	int i, rc = 0;

	if ((wf = wpath(from, err)) == NULL)
		return -1;
	if ((wt = wpath(to, err)) == NULL) {
		free(wf);
		return -1;
	}
	for (i = 0;; i++) {
		if (MoveFileExW(wf, wt, MOVEFILE_REPLACE_EXISTING |
		    MOVEFILE_WRITE_THROUGH))
			break;
		e = GetLastError();
		if (e == ERROR_ACCESS_DENIED || e == ERROR_SHARING_VIOLATION) {
			if (rename_posix(wf, wt, &e2) == 0) {
				if (cut_parent(wt) == 0)
					rc = fsync_dirw(wt, to, err);
				break;
			}
		}
		if (!move_retry(i, e, from, to, err)) {
			rc = -1;
			break;
		}
	}
	free(wf);
	free(wt);
	return rc;
}

/* Any of these lets a reader see the contents or take them over. */
#define READISH	(FILE_READ_DATA | FILE_WRITE_DATA | FILE_APPEND_DATA | \
	GENERIC_READ | GENERIC_WRITE | GENERIC_ALL | WRITE_DAC | WRITE_OWNER)
/* Any of these lets someone add, remove or swap a directory's entries. */
#define WRITEISH (FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY | FILE_DELETE_CHILD | \
	DELETE | GENERIC_WRITE | GENERIC_ALL | WRITE_DAC | WRITE_OWNER)

static int
well_known(PSID sid, WELL_KNOWN_SID_TYPE t)
{
	BYTE buf[SECURITY_MAX_SID_SIZE];
	DWORD n = sizeof buf;

	return CreateWellKnownSid(t, NULL, buf, &n) && EqualSid(sid, buf);
}

/* The owner, SYSTEM, Administrators, and OWNER RIGHTS (S-1-3-4). */
static int
trusted_sid(PSID sid, PSID owner)
{
	return (owner != NULL && EqualSid(sid, owner)) ||
	    well_known(sid, WinLocalSystemSid) ||
	    well_known(sid, WinBuiltinAdministratorsSid) ||
	    well_known(sid, WinCreatorOwnerRightsSid);
}

/*
 * Walk the DACL: an allow entry giving anyone untrusted one of the
 * rights in mask counts, and a NULL DACL (everyone, everything) does.
 * Deny entries are not weighed against allow entries: an object that
 * only a deny entry protects counts as shared.  Inherit-only entries
 * (for children, not the object) are skipped.  cb, when set, is called
 * with each such SID.  1 shared, 0 not.
 */
static int
dacl_shared(PACL dacl, PSID owner, DWORD mask, void (*cb)(PSID, void *),
    void *arg)
{
	ACE_HEADER *h;
	ACCESS_ALLOWED_ACE *a;
	DWORD i;
	int shared = 0;

	if (dacl == NULL)
		return 1;
	for (i = 0; i < dacl->AceCount; i++) {
		if (!GetAce(dacl, i, (void **)&h))
			return 1;
		if (h->AceFlags & INHERIT_ONLY_ACE)
			continue;
		if (h->AceType == ACCESS_DENIED_ACE_TYPE ||
		    h->AceType == ACCESS_DENIED_CALLBACK_ACE_TYPE ||
		    h->AceType == ACCESS_DENIED_OBJECT_ACE_TYPE ||
		    h->AceType == SYSTEM_AUDIT_ACE_TYPE ||
		    h->AceType == SYSTEM_MANDATORY_LABEL_ACE_TYPE)
			continue;
		if (h->AceType != ACCESS_ALLOWED_ACE_TYPE &&
		    h->AceType != ACCESS_ALLOWED_CALLBACK_ACE_TYPE) {
			shared = 1;	/* object ACEs: not ours to judge */
			continue;
		}
		a = (ACCESS_ALLOWED_ACE *)h;
		if ((a->Mask & mask) == 0 ||
		    trusted_sid((PSID)&a->SidStart, owner))
			continue;
		shared = 1;
		if (cb != NULL)
			cb((PSID)&a->SidStart, arg);
	}
	return shared;
}

int
compat_file_is_shared(int fd)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL;
	PACL dacl = NULL;
	HANDLE h;
	int shared;

	if ((h = (HANDLE)_get_osfhandle(fd)) == INVALID_HANDLE_VALUE)
		return 1;
	if (GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION |
	    DACL_SECURITY_INFORMATION, &owner, NULL, &dacl, NULL, &sd) !=
	    ERROR_SUCCESS)
		return 1;
	shared = dacl_shared(dacl, owner, READISH, NULL, NULL);
	LocalFree(sd);
	return shared;
}

static void
add_sid(PSID sid, void *arg)
{
	struct buf *b = arg;
	char *s;

	if (!ConvertSidToStringSidA(sid, &s))
		return;
	/* Once each: the same SID may have several entries. */
	if (strstr(b->p, s) == NULL)
		xbuf_printf(b, " *%s", s);
	LocalFree(s);
}

/*
 * The icacls command that leaves path to its owner (full control,
 * through OWNER RIGHTS, S-1-3-4, whoever the owner is), SYSTEM and
 * Administrators: inherited entries cut off (/inheritance:r), the
 * explicit entries that give others one of the rights in mask removed.
 * SIDs rather than names, since the names of SYSTEM and Administrators
 * are translated on non-English Windows.  Appended to b.
 */
static void
icacls_hint(struct buf *b, const char *path, DWORD mask, const char *grant)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL;
	PACL dacl = NULL;
	struct buf rm;
	char err[DUO_ERRLEN];
	WCHAR *w;

	buf_init(&rm);
	xbuf_adds(&rm, "");
	if ((w = wpath(path, err)) != NULL &&
	    GetNamedSecurityInfoW(w, SE_FILE_OBJECT,
	    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
	    NULL, &dacl, NULL, &sd) == ERROR_SUCCESS)
		dacl_shared(dacl, owner, mask, add_sid, &rm);
	free(w);
	if (sd != NULL)
		LocalFree(sd);
	xbuf_printf(b, "icacls \"%s\" /inheritance:r%s%s /grant:r %s", path,
	    rm.len > 0 ? " /remove:g" : "", rm.p, grant);
	buf_free(&rm);
}

void
compat_file_fixhint(const char *path, char *out, size_t len)
{
	struct buf b;

	buf_init(&b);
	icacls_hint(&b, path, READISH,
	    "*S-1-3-4:F *S-1-5-18:R *S-1-5-32-544:R");
	snprintf(out, len, "%s", b.p);
	buf_free(&b);
}

/* "DOMAIN\name" of sid, or its S-1-... form; free with free(). */
static char *
sid_name(PSID sid)
{
	WCHAR name[256], dom[256], full[520];
	DWORD nn = 256, dn = 256;
	SID_NAME_USE use;
	char *s, *r;

	if (LookupAccountSidW(NULL, sid, name, &nn, dom, &dn, &use)) {
		if (dom[0] != L'\0')
			_snwprintf(full, 520, L"%ls\\%ls", dom, name);
		else
			_snwprintf(full, 520, L"%ls", name);
		full[519] = L'\0';
		return w_to_utf8(full);
	}
	if (!ConvertSidToStringSidA(sid, &s))
		return xstrdup("?");
	r = xstrdup(s);
	LocalFree(s);
	return r;
}

static PSID
token_user(TOKEN_USER **tu)
{
	HANDLE tok;
	DWORD n = 0;

	*tu = NULL;
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok))
		return NULL;
	GetTokenInformation(tok, TokenUser, NULL, 0, &n);
	*tu = xmalloc(n > 0 ? n : 1);
	if (n == 0 || !GetTokenInformation(tok, TokenUser, *tu, n, &n)) {
		CloseHandle(tok);
		free(*tu);
		*tu = NULL;
		return NULL;
	}
	CloseHandle(tok);
	return (*tu)->User.Sid;
}

/*
 * Owned by the user running this, SYSTEM or Administrators (an elevated
 * administrator's files belong to Administrators), and no one else may
 * add, remove or rename entries or change the ACL.
 */
int
compat_dir_private(const char *path, char *err)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	PSID owner = NULL, me;
	PACL dacl = NULL;
	TOKEN_USER *tu;
	struct buf b;
	char *on, *mn;
	WCHAR *w;
	DWORD attr, e;

	if ((w = wpath(path, err)) == NULL)
		return -1;
	if ((attr = GetFileAttributesW(w)) == INVALID_FILE_ATTRIBUTES) {
		e = GetLastError();
		free(w);
		return fail_path(err, e, path);
	}
	if (!(attr & FILE_ATTRIBUTE_DIRECTORY)) {
		free(w);
		return seterr(err, "%s: not a directory", path);
	}
	e = GetNamedSecurityInfoW(w, SE_FILE_OBJECT,
	    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
	    NULL, &dacl, NULL, &sd);
	free(w);
	if (e != ERROR_SUCCESS)
		return seterr_win(err, e, "reading its ACL", path);
	me = token_user(&tu);
	if (owner != NULL && me != NULL && !EqualSid(owner, me) &&
	    !well_known(owner, WinLocalSystemSid) &&
	    !well_known(owner, WinBuiltinAdministratorsSid)) {
		on = sid_name(owner);
		mn = sid_name(me);
		seterr(err, "%s: owned by %s, not by %s who runs this: run "
		    "takeown /f \"%s\" as %s", path, on, mn, path, mn);
		free(on);
		free(mn);
		free(tu);
		LocalFree(sd);
		return -1;
	}
	free(tu);
	if (!dacl_shared(dacl, owner, WRITEISH, NULL, NULL)) {
		LocalFree(sd);
		return 0;
	}
	LocalFree(sd);
	buf_init(&b);
	icacls_hint(&b, path, WRITEISH, "*S-1-3-4:(OI)(CI)F "
	    "*S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F");
	seterr(err, "%s: writable by others than its owner, SYSTEM and "
	    "Administrators: run %s", path, b.p);
	buf_free(&b);
	return -1;
}

int
compat_exe_dir(char *dir, size_t size)
{
	WCHAR *w = NULL, *s;
	DWORD cap = MAX_PATH, n;
	char *u;
	size_t len;

	for (;;) {
		free(w);
		w = xcalloc(cap, sizeof *w);
		n = GetModuleFileNameW(NULL, w, cap);
		if (n == 0) {
			free(w);
			return -1;
		}
		if (n < cap - 1)
			break;
		if (cap > 32768) {
			free(w);
			return -1;
		}
		cap *= 2;
	}
	if ((s = wcsrchr(w, L'\\')) != NULL)
		*s = L'\0';
	u = w_to_utf8(w);
	free(w);
	if ((len = strlen(u)) >= size) {
		free(u);
		return -1;
	}
	memcpy(dir, u, len + 1);
	free(u);
	return 0;
}

void
compat_kill_self(void)
{
	TerminateProcess(GetCurrentProcess(), 128 + 9);
	ExitProcess(128 + 9);	/* not reached */
}

/* ---- what mingw's CRT lacks, under the POSIX names ---- */

/* getdelim(3): the CRT has none.  One lock, then the unlocked getc. */
ssize_t
getdelim(char **lp, size_t *cap, int delim, FILE *fp)
{
	size_t n = 0;
	char *p;
	int c;

	if (lp == NULL || cap == NULL || fp == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (*lp == NULL || *cap == 0) {
		*cap = 128;
		if ((*lp = realloc(*lp, *cap)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
	}
	_lock_file(fp);
	for (;;) {
		if ((c = _getc_nolock(fp)) == EOF)
			break;
		if (n + 2 > *cap) {
			if (*cap > (size_t)SSIZE_MAX / 2) {
				_unlock_file(fp);
				errno = EOVERFLOW;
				return -1;
			}
			if ((p = realloc(*lp, *cap * 2)) == NULL) {
				_unlock_file(fp);
				errno = ENOMEM;
				return -1;
			}
			*lp = p;
			*cap *= 2;
		}
		(*lp)[n++] = (char)c;
		if (c == delim)
			break;
	}
	_unlock_file(fp);
	(*lp)[n] = '\0';
	if (n == 0)
		return -1;	/* EOF or error: ferror tells */
	return (ssize_t)n;
}

/* ---- file operations for duo-ckpt ---- */

/* FileDispositionInfoEx: mingw declares it only for _WIN32_WINNT
 * 0x0A000002, an NTDDI value; the class number is fixed. */
#define FILE_DISPOSITION_INFO_EX_CLASS	((FILE_INFO_BY_HANDLE_CLASS)21)
/* Far past any real size: the lock byte (byte-range locks on Windows
 * are mandatory, so never on the data). */
#define LOCK_OFF_HI	0x40000000UL	/* 2^62 */

static HANDLE
fd_handle(int fd)
{
	return (HANDLE)_get_osfhandle(fd);
}

/* Reparse points that stand for another name: symbolic links,
 * junctions, mount points.  Others (OneDrive placeholders, dedup) are
 * files with extra data and are opened through. */
static int
is_link(HANDLE h)
{
	FILE_ATTRIBUTE_TAG_INFO ti;

	if (!GetFileInformationByHandleEx(h, FileAttributeTagInfo, &ti,
	    sizeof ti))
		return 0;
	return (ti.FileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) &&
	    IsReparseTagNameSurrogate(ti.ReparseTag);
}

static const char *
typename_h(HANDLE h)
{
	switch (GetFileType(h)) {
	case FILE_TYPE_PIPE:
		return "a FIFO";
	case FILE_TYPE_CHAR:
		return "a device";
	default:
		return "not a regular file";
	}
}

/* D:P, full control for the user running this, SYSTEM, Administrators. */
static PSECURITY_DESCRIPTOR
private_sd(void)
{
	PSECURITY_DESCRIPTOR sd = NULL;
	TOKEN_USER *tu;
	PSID me;
	char *sid = NULL, sddl[256];
	WCHAR *w;

	if ((me = token_user(&tu)) != NULL)
		ConvertSidToStringSidA(me, &sid);
	free(tu);
	if (sid == NULL)
		return NULL;
	snprintf(sddl, sizeof sddl, "D:P(A;;FA;;;%s)(A;;FA;;;SY)(A;;FA;;;BA)",
	    sid);
	LocalFree(sid);
	w = utf8_to_w(sddl);
	if (w == NULL || !ConvertStringSecurityDescriptorToSecurityDescriptorW(
	    w, SDDL_REVISION_1, &sd, NULL))
		sd = NULL;
	free(w);
	return sd;
}

int
compat_open(const char *path, int flags, char *err)
{
	SECURITY_ATTRIBUTES sa, *psa = NULL;
	PSECURITY_DESCRIPTOR sd = NULL;
	FILE_END_OF_FILE_INFO eof;
	BY_HANDLE_FILE_INFORMATION fi;
	DWORD acc, disp, e, attr;
	HANDLE h;
	WCHAR *w;
	int fd, rw;

	rw = (flags & (COMPAT_RDWR | COMPAT_CREAT | COMPAT_TRUNC)) != 0;
	acc = GENERIC_READ | (rw ? GENERIC_WRITE : 0);
	if ((flags & COMPAT_CREAT) && (flags & COMPAT_EXCL))
		disp = CREATE_NEW;
	else if (flags & COMPAT_CREAT)
		disp = OPEN_ALWAYS;
	else
		disp = OPEN_EXISTING;
	if ((w = wpath(path, err)) == NULL)
		return -1;
	if ((flags & COMPAT_CREAT) && (flags & COMPAT_PRIVATE) &&
	    (sd = private_sd()) != NULL) {
		sa.nLength = sizeof sa;
		sa.lpSecurityDescriptor = sd;
		sa.bInheritHandle = FALSE;
		psa = &sa;
	}
	h = CreateFileW(w, acc, SHARE_ALL, psa, disp, FILE_ATTRIBUTE_NORMAL |
	    FILE_FLAG_OPEN_REPARSE_POINT, NULL);
	e = GetLastError();
	if (sd != NULL)
		LocalFree(sd);
	if (h == INVALID_HANDLE_VALUE) {
		attr = GetFileAttributesW(w);
		free(w);
		if (e == ERROR_ACCESS_DENIED && attr != INVALID_FILE_ATTRIBUTES &&
		    (attr & FILE_ATTRIBUTE_DIRECTORY)) {
			seterr(err, "%s: is a directory, not a regular file",
			    path);
			errno = EISDIR;
			return -1;
		}
		if (e == ERROR_FILE_EXISTS) {
			seterr(err, "%s: File exists", path);
			errno = EEXIST;
			return -1;
		}
		return fail_path(err, e, path);
	}
	if (is_link(h)) {
		CloseHandle(h);
		free(w);
		seterr(err, "%s: is a symbolic link; refusing", path);
		errno = ELOOP;
		return -1;
	}
	if (GetFileType(h) != FILE_TYPE_DISK) {
		seterr(err, "%s: is %s, not a regular file", path,
		    typename_h(h));
		CloseHandle(h);
		free(w);
		errno = EINVAL;
		return -1;
	}
	if (!GetFileInformationByHandle(h, &fi)) {
		e = GetLastError();
		CloseHandle(h);
		free(w);
		return fail_path(err, e, path);
	}
	if (fi.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) {
		/* Not a link (is_link said so): open it through. */
		CloseHandle(h);
		h = CreateFileW(w, acc, SHARE_ALL, NULL, OPEN_EXISTING,
		    FILE_ATTRIBUTE_NORMAL, NULL);
		if (h == INVALID_HANDLE_VALUE) {
			e = GetLastError();
			free(w);
			return fail_path(err, e, path);
		}
	}
	free(w);
	if (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
		CloseHandle(h);
		seterr(err, "%s: is a directory, not a regular file", path);
		errno = EISDIR;
		return -1;
	}
	if (flags & COMPAT_TRUNC) {
		eof.EndOfFile.QuadPart = 0;
		if (!SetFileInformationByHandle(h, FileEndOfFileInfo, &eof,
		    sizeof eof)) {
			e = GetLastError();
			CloseHandle(h);
			return fail_path(err, e, path);
		}
	}
	fd = _open_osfhandle((intptr_t)h, _O_BINARY | _O_NOINHERIT |
	    (rw ? 0 : _O_RDONLY));
	if (fd == -1) {
		CloseHandle(h);
		seterr(err, "%s: too many open files", path);
		errno = EMFILE;
		return -1;
	}
	return fd;
}

int
compat_close(int fd)
{
	return _close(fd);
}

/*
 * ReadFile itself, so that the console control handler can cancel it
 * (CancelSynchronousIo): then -1 with EINTR.  A pipe whose writer has
 * gone is at end of input.
 */
ssize_t
compat_read(int fd, void *p, size_t n)
{
	HANDLE h = fd_handle(fd);
	DWORD got = 0, e;
	LONG st;
	BOOL ok;

	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	if (n > 0x7fffffff)
		n = 0x7fffffff;
	InterlockedExchange(&inread, 1);
	ok = ReadFile(h, p, (DWORD)n, &got, NULL);
	e = GetLastError();
	/* Out of the bracket, once the handler is done with it. */
	while ((st = InterlockedCompareExchange(&inread, 0, 1)) == 2)
		Sleep(0);
	if (st == 3)
		InterlockedExchange(&inread, 0);
	if (ok)
		return (ssize_t)got;
	if (e == ERROR_BROKEN_PIPE || e == ERROR_HANDLE_EOF)
		return 0;
	errno = errno_of(e);
	return -1;
}

int
compat_wait_readable(int fd, long ms)
{
	HANDLE h = fd_handle(fd);
	LONG sc = sigcount;
	DWORD avail, e, step = 1, t0 = GetTickCount();
	long left;

	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	switch (GetFileType(h)) {
	case FILE_TYPE_PIPE:
		for (;;) {
			if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL)) {
				e = GetLastError();
				/* Writer gone: the end of input is ready.
				 * Not a pipe that can be peeked (wine's
				 * view of a Unix pipe): cannot tell, so
				 * ready, and the read blocks. */
				if (e == ERROR_BROKEN_PIPE ||
				    e == ERROR_NOT_SUPPORTED ||
				    e == ERROR_INVALID_FUNCTION)
					return 1;
				errno = errno_of(e);
				return -1;
			}
			if (avail > 0)
				return 1;
			if (sigcount != sc)
				return 0;
			left = ms - (long)(GetTickCount() - t0);
			if (left <= 0)
				return 0;
			Sleep(step < (DWORD)left ? step : (DWORD)left);
			if (step < 20)
				step *= 2;
		}
	case FILE_TYPE_CHAR:
		/* A console: wait on its input (NUL and the like are
		 * always ready and not waitable). */
		if (GetConsoleMode(h, &avail)) {
			while (sigcount == sc) {
				left = ms - (long)(GetTickCount() - t0);
				if (left <= 0)
					return 0;
				if (WaitForSingleObject(h, left > 20 ? 20 :
				    (DWORD)left) == WAIT_OBJECT_0)
					return 1;
			}
			return 0;
		}
		return 1;
	default:
		return 1;
	}
}

/*
 * ReadFile and WriteFile at an OVERLAPPED offset.  On a synchronous
 * handle they also move the file position, which pread and pwrite do
 * not: it is put back.
 */
static int
save_pos(HANDLE h, LARGE_INTEGER *pos)
{
	LARGE_INTEGER z;

	z.QuadPart = 0;
	return SetFilePointerEx(h, z, pos, FILE_CURRENT) ? 0 : -1;
}

ssize_t
compat_pread(int fd, void *p, size_t n, int64_t off)
{
	HANDLE h = fd_handle(fd);
	LARGE_INTEGER pos;
	OVERLAPPED ov;
	size_t done = 0;
	DWORD got, e, want;
	int saved;

	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	saved = save_pos(h, &pos) == 0;
	while (done < n) {
		memset(&ov, 0, sizeof ov);
		ov.Offset = (DWORD)((uint64_t)(off + (int64_t)done));
		ov.OffsetHigh = (DWORD)((uint64_t)(off + (int64_t)done) >> 32);
		want = n - done > 0x40000000 ? 0x40000000 : (DWORD)(n - done);
		if (!ReadFile(h, (char *)p + done, want, &got, &ov)) {
			e = GetLastError();
			if (e == ERROR_HANDLE_EOF || e == ERROR_BROKEN_PIPE)
				break;
			if (saved)
				SetFilePointerEx(h, pos, NULL, FILE_BEGIN);
			errno = errno_of(e);
			return -1;
		}
		if (got == 0)
			break;
		done += got;
	}
	if (saved)
		SetFilePointerEx(h, pos, NULL, FILE_BEGIN);
	return (ssize_t)done;
}

int
compat_pwrite(int fd, const void *p, size_t n, int64_t off)
{
	HANDLE h = fd_handle(fd);
	LARGE_INTEGER pos;
	OVERLAPPED ov;
	DWORD put, e, want;
	int saved;

	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	if (off < 0) {
		errno = EINVAL;
		return -1;
	}
	saved = save_pos(h, &pos) == 0;
	while (n > 0) {
		memset(&ov, 0, sizeof ov);
		ov.Offset = (DWORD)(uint64_t)off;
		ov.OffsetHigh = (DWORD)((uint64_t)off >> 32);
		want = n > 0x40000000 ? 0x40000000 : (DWORD)n;
		if (!WriteFile(h, p, want, &put, &ov) || put == 0) {
			e = put == 0 ? ERROR_WRITE_FAULT : GetLastError();
			if (saved)
				SetFilePointerEx(h, pos, NULL, FILE_BEGIN);
			errno = e == ERROR_WRITE_FAULT ? EIO : errno_of(e);
			return -1;
		}
		p = (const char *)p + put;
		n -= put;
		off += put;
	}
	if (saved)
		SetFilePointerEx(h, pos, NULL, FILE_BEGIN);
	return 0;
}

/*
 * FlushFileBuffers: data and metadata of the file.  Windows wants
 * write access on the handle for it; a read-only descriptor is flushed
 * through a second handle on the same file (ReOpenFile).  Pipes and
 * devices: EINVAL, as fsync on them.
 */
int
compat_fsync(int fd)
{
	HANDLE h = fd_handle(fd), h2;
	DWORD e;

	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	if (GetFileType(h) != FILE_TYPE_DISK) {
		errno = EINVAL;
		return -1;
	}
	if (FlushFileBuffers(h))
		return 0;
	if ((e = GetLastError()) == ERROR_ACCESS_DENIED &&
	    (h2 = ReOpenFile(h, GENERIC_WRITE, SHARE_ALL, 0)) !=
	    INVALID_HANDLE_VALUE) {
		if (FlushFileBuffers(h2)) {
			CloseHandle(h2);
			return 0;
		}
		e = GetLastError();
		CloseHandle(h2);
	}
	errno = errno_of(e);
	return -1;
}

int
compat_ftruncate(int fd, int64_t len)
{
	HANDLE h = fd_handle(fd);
	FILE_END_OF_FILE_INFO eof;

	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	if (len < 0) {
		errno = EINVAL;
		return -1;
	}
	eof.EndOfFile.QuadPart = len;
	if (!SetFileInformationByHandle(h, FileEndOfFileInfo, &eof,
	    sizeof eof)) {
		errno = errno_of(GetLastError());
		return -1;
	}
	return 0;
}

/*
 * Grow the allocation (not the size) to cover off+n: the file system
 * reserves the clusters or answers "disk full".  Never shrinks it (a
 * smaller allocation than the size would cut the file).  NTFS gives
 * clusters past the end of file back when the last handle closes.
 * Sparse and compressed files, and systems that cannot, are let through.
 */
int
compat_reserve(int fd, int64_t off, int64_t n)
{
	HANDLE h = fd_handle(fd);
	FILE_STANDARD_INFO si;
	FILE_ALLOCATION_INFO ai;
	FILE_BASIC_INFO bi;
	DWORD e;

	if (n <= 0)
		return 0;
	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	if (!GetFileInformationByHandleEx(h, FileStandardInfo, &si,
	    sizeof si) || !GetFileInformationByHandleEx(h, FileBasicInfo,
	    &bi, sizeof bi))
		return 0;
	if ((bi.FileAttributes & (FILE_ATTRIBUTE_SPARSE_FILE |
	    FILE_ATTRIBUTE_COMPRESSED)) ||
	    off + n <= si.AllocationSize.QuadPart)
		return 0;
	ai.AllocationSize.QuadPart = off + n;
	if (SetFileInformationByHandle(h, FileAllocationInfo, &ai, sizeof ai))
		return 0;
	e = GetLastError();
	if (e == ERROR_DISK_FULL || e == ERROR_HANDLE_DISK_FULL) {
		errno = ENOSPC;
		return -1;
	}
	if (e == ERROR_FILE_TOO_LARGE) {
		errno = EFBIG;
		return -1;
	}
	return 0;
}

static int64_t
ft_secs(FILETIME ft)
{
	ULARGE_INTEGER u;

	u.LowPart = ft.dwLowDateTime;
	u.HighPart = ft.dwHighDateTime;
	return ((int64_t)u.QuadPart - EPOCH_DIFF) / 10000000;
}

static int
stat_handle(HANDLE h, struct compat_stat *cs, int links)
{
	BY_HANDLE_FILE_INFORMATION fi;

	memset(cs, 0, sizeof *cs);
	if (GetFileType(h) != FILE_TYPE_DISK) {
		cs->type = COMPAT_OTHER;
		return 0;
	}
	if (!GetFileInformationByHandle(h, &fi)) {
		errno = errno_of(GetLastError());
		return -1;
	}
	if (links && is_link(h))
		cs->type = COMPAT_LINK;
	else if (fi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
		cs->type = COMPAT_DIR;
	else
		cs->type = COMPAT_FILE;
	cs->size = ((int64_t)fi.nFileSizeHigh << 32) | fi.nFileSizeLow;
	cs->mtime = ft_secs(fi.ftLastWriteTime);
	return 0;
}

int
compat_fstat(int fd, struct compat_stat *cs)
{
	HANDLE h = fd_handle(fd);

	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	return stat_handle(h, cs, 0);
}

int
compat_lstat(const char *path, struct compat_stat *cs)
{
	char err[DUO_ERRLEN];
	HANDLE h;
	WCHAR *w;
	int r;

	if ((w = wpath(path, err)) == NULL)
		return -1;
	/* No access asked for: works on files others hold locked. */
	h = CreateFileW(w, FILE_READ_ATTRIBUTES, SHARE_ALL, NULL,
	    OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT |
	    FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		errno = errno_of(GetLastError());
		return -1;
	}
	r = stat_handle(h, cs, 1);
	CloseHandle(h);
	return r;
}


int
compat_mkdir(const char *path, char *err)
{
	WCHAR *w;
	DWORD e, attr;
	int r;

	if ((w = wpath(path, err)) == NULL)
		return -1;
	if (!CreateDirectoryW(w, NULL)) {
		e = GetLastError();
		if (e != ERROR_ALREADY_EXISTS) {
			free(w);
			return fail_path(err, e, path);
		}
		attr = GetFileAttributesW(w);
		free(w);
		if (attr == INVALID_FILE_ATTRIBUTES)
			return fail_path(err, GetLastError(), path);
		if (!(attr & FILE_ATTRIBUTE_DIRECTORY)) {
			errno = ENOTDIR;
			return seterr(err, "%s: not a directory", path);
		}
		return 0;
	}
	r = cut_parent(w) == 0 ? fsync_dirw(w, path, err) : 0;
	free(w);
	return r == -1 ? -1 : 1;
}

/*
 * Delete with POSIX semantics where the file system has them (the name
 * goes at once, even while others hold the file open with delete
 * sharing; Windows 10 1607 and later, NTFS), else the classic way (the
 * name stays until the last handle closes).  Read-only files go too,
 * as on POSIX.
 */
int
compat_unlink(const char *path, char *err)
{
	FILE_DISPOSITION_INFO_EX dx;
	FILE_DISPOSITION_INFO d;
	FILE_BASIC_INFO bi;
	HANDLE h;
	WCHAR *w;
	DWORD e;
	int i;

	if ((w = wpath(path, err)) == NULL)
		return -1;
	for (i = 0;; i++) {
		h = CreateFileW(w, DELETE | FILE_READ_ATTRIBUTES |
		    FILE_WRITE_ATTRIBUTES, SHARE_ALL, NULL, OPEN_EXISTING,
		    FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS,
		    NULL);
		if (h != INVALID_HANDLE_VALUE)
			break;
		e = GetLastError();
		if (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) {
			free(w);
			return 1;
		}
		/* A scanner holding it without delete sharing. */
		if (i == 19 || e != ERROR_SHARING_VIOLATION) {
			free(w);
			return fail_path(err, e, path);
		}
		Sleep(100);
	}
	free(w);
	if (GetFileInformationByHandleEx(h, FileBasicInfo, &bi, sizeof bi)) {
		if ((bi.FileAttributes & FILE_ATTRIBUTE_DIRECTORY) &&
		    !is_link(h)) {
			CloseHandle(h);
			errno = EISDIR;
			return seterr(err, "%s: is a directory", path);
		}
		if (bi.FileAttributes & FILE_ATTRIBUTE_READONLY) {
			bi.FileAttributes &= ~FILE_ATTRIBUTE_READONLY;
			if (bi.FileAttributes == 0)
				bi.FileAttributes = FILE_ATTRIBUTE_NORMAL;
			SetFileInformationByHandle(h, FileBasicInfo, &bi,
			    sizeof bi);
		}
	}
	dx.Flags = FILE_DISPOSITION_FLAG_DELETE |
	    FILE_DISPOSITION_FLAG_POSIX_SEMANTICS;
	if (!SetFileInformationByHandle(h, FILE_DISPOSITION_INFO_EX_CLASS, &dx,
	    sizeof dx)) {
		d.DeleteFile = TRUE;
		if (!SetFileInformationByHandle(h, FileDispositionInfo, &d,
		    sizeof d)) {
			e = GetLastError();
			CloseHandle(h);
			return fail_path(err, e, path);
		}
	}
	CloseHandle(h);
	return 0;
}

/* MoveFileEx without REPLACE_EXISTING never replaces: atomic, no link
 * step, so a crash never leaves both names. */
int
compat_rename_new(const char *from, const char *to, char *err)
{
	WCHAR *wf, *wt;
	DWORD e;
	int i, rc = 0;

	if ((wf = wpath(from, err)) == NULL)
		return -1;
	if ((wt = wpath(to, err)) == NULL) {
		free(wf);
		return -1;
	}
	for (i = 0;; i++) {
		if (MoveFileExW(wf, wt, MOVEFILE_WRITE_THROUGH))
			break;
		e = GetLastError();
		if (e == ERROR_ALREADY_EXISTS || e == ERROR_FILE_EXISTS) {
			seterr(err, "%s: exists already", to);
			errno = EEXIST;
			rc = -1;
			break;
		}
		if (!move_retry(i, e, from, to, err)) {
			rc = -1;
			break;
		}
	}
	free(wf);
	free(wt);
	return rc;
}

int
compat_lock(int fd)
{
	HANDLE h = fd_handle(fd);
	OVERLAPPED ov;
	DWORD e;

	if (h == INVALID_HANDLE_VALUE) {
		errno = EBADF;
		return -1;
	}
	memset(&ov, 0, sizeof ov);
	ov.Offset = 0;
	ov.OffsetHigh = LOCK_OFF_HI;
	if (LockFileEx(h, LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY,
	    0, 1, 0, &ov))
		return 0;
	e = GetLastError();
	if (e == ERROR_LOCK_VIOLATION || e == ERROR_IO_PENDING)
		return 1;
	errno = errno_of(e);
	return -1;
}

struct compat_dir {
	HANDLE		 h;
	WIN32_FIND_DATAW fd;
	int		 have;	/* fd holds an entry not yet returned */
	char		*name;
};

int
compat_dir_open(struct compat_dir **dp, const char *path, char *err)
{
	struct compat_dir *d;
	WCHAR *w, *pat;
	size_t n;
	DWORD e, attr;

	*dp = NULL;
	if ((w = wpath(path, err)) == NULL)
		return -1;
	attr = GetFileAttributesW(w);
	if (attr == INVALID_FILE_ATTRIBUTES) {
		e = GetLastError();
		free(w);
		return fail_path(err, e, path);
	}
	if (!(attr & FILE_ATTRIBUTE_DIRECTORY)) {
		free(w);
		errno = ENOTDIR;
		return seterr(err, "%s: Not a directory", path);
	}
	n = wcslen(w);
	pat = xcalloc(n + 3, sizeof *pat);
	memcpy(pat, w, n * sizeof *w);
	if (n > 0 && w[n - 1] != L'\\')
		pat[n++] = L'\\';
	pat[n] = L'*';
	free(w);
	d = xcalloc(1, sizeof *d);
	d->h = FindFirstFileExW(pat, FindExInfoBasic, &d->fd,
	    FindExSearchNameMatch, NULL, FIND_FIRST_EX_LARGE_FETCH);
	free(pat);
	if (d->h == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		if (e != ERROR_FILE_NOT_FOUND && e != ERROR_NO_MORE_FILES) {
			free(d);
			return fail_path(err, e, path);
		}
	} else
		d->have = 1;
	*dp = d;
	return 0;
}

const char *
compat_dir_next(struct compat_dir *d)
{
	for (;;) {
		if (!d->have) {
			if (d->h == INVALID_HANDLE_VALUE ||
			    !FindNextFileW(d->h, &d->fd))
				return NULL;
		}
		d->have = 0;
		if (wcscmp(d->fd.cFileName, L".") == 0 ||
		    wcscmp(d->fd.cFileName, L"..") == 0)
			continue;
		free(d->name);
		d->name = w_to_utf8(d->fd.cFileName);
		return d->name;
	}
}

void
compat_dir_close(struct compat_dir *d)
{
	if (d == NULL)
		return;
	if (d->h != INVALID_HANDLE_VALUE)
		FindClose(d->h);
	free(d->name);
	free(d);
}

/* Position just past the directory part of a UTF-8 path ('/', '\' or a
 * drive's "C:"); path itself when it has none. */
static const char *
base_of(const char *path)
{
	const char *s, *b = path;

	if (((path[0] >= 'A' && path[0] <= 'Z') || (path[0] >= 'a' &&
	    path[0] <= 'z')) && path[1] == ':')
		b = path + 2;
	for (s = b; *s != '\0'; s++)
		if (*s == '/' || *s == '\\')
			b = s + 1;
	return b;
}

/*
 * The directory part opened (following links, as realpath) and named
 * by GetFinalPathNameByHandleW, in the '/' form duo.h promises.
 */
int
compat_abspath(const char *path, struct buf *b, char *err)
{
	const char *base;
	char *dir, *r, *s, *cp;
	WCHAR *w, *f, *p;
	HANDLE h;
	DWORD n, e;
	size_t dl;

	if (*path == '\0')
		return seterr(err, "empty path");
	/* "C:\out\" as "C:\out" (callers strip only '/'). */
	cp = xstrdup(path);
	for (dl = strlen(cp); dl > 1 && (cp[dl - 1] == '\\' ||
	    cp[dl - 1] == '/') && !(dl == 3 && cp[1] == ':'); dl--)
		cp[dl - 1] = '\0';
	path = cp;
	base = base_of(path);
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") ==
	    0) {
		seterr(err, "%s: not a file name", path);
		free(cp);
		return -1;
	}
	dl = (size_t)(base - path);
	if (dl == 0)
		dir = xstrdup(".");
	else if (dl == 2 && path[1] == ':')
		dir = xstrndup(path, 2);	/* "C:x": C:'s current dir */
	else
		dir = xstrndup(path, dl);
	if ((w = wpath(dir, err)) == NULL) {
		free(dir);
		free(cp);
		return -1;
	}
	h = CreateFileW(w, FILE_READ_ATTRIBUTES, SHARE_ALL, NULL,
	    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE) {
		e = GetLastError();
		fail_path(err, e, dir);
		free(dir);
		free(cp);
		return -1;
	}
	n = GetFinalPathNameByHandleW(h, NULL, 0, VOLUME_NAME_DOS);
	f = xcalloc((size_t)n + 2, sizeof *f);
	if (n == 0 || GetFinalPathNameByHandleW(h, f, n + 1,
	    VOLUME_NAME_DOS) == 0) {
		e = GetLastError();
		CloseHandle(h);
		free(f);
		fail_path(err, e, dir);
		free(dir);
		free(cp);
		return -1;
	}
	CloseHandle(h);
	free(dir);
	/* \\?\UNC\srv\x -> \\srv\x, \\?\C:\x -> C:\x (wpath puts the
	 * prefix back when a path is long), then '/' for '\\'. */
	p = f;
	if (wcsncmp(f, L"\\\\?\\UNC\\", 8) == 0) {
		p = f + 6;
		p[0] = L'\\';
	} else if (wcsncmp(f, L"\\\\?\\", 4) == 0 && f[5] == L':')
		p = f + 4;
	r = w_to_utf8(p);
	free(f);
	for (s = r; *s != '\0'; s++)
		if (*s == '\\')
			*s = '/';
	xbuf_printf(b, "%s%s%s", r, r[0] != '\0' && r[strlen(r) - 1] == '/' ?
	    "" : "/", base);
	free(r);
	free(cp);
	return 0;
}
