/*
 * compat-test: drives lib/compat_win.c from tests/e2e/71-compat-win.t,
 * built with mingw-w64 and run under wine (or on Windows).  One
 * subcommand per check; each prints what it found and exits 0 when the
 * check held, 1 when it did not, 2 on bad usage, 3 "busy" (lock).
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <winioctl.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/duo.h"

static char err[DUO_ERRLEN];

static int
fail(const char *what)
{
	fprintf(stderr, "compat-test: %s: %s\n", what, err[0] ? err :
	    strerror(errno));
	return 1;
}

/* Each argument on a line of its own, bytes as they are. */
static int
t_argv(int argc, char **argv)
{
	int i;

	for (i = 2; i < argc; i++)
		printf("%s\n", argv[i]);
	return 0;
}

static int
t_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL)
		return 1;
	printf("%s\n", v);
	return 0;
}

/* After the wipe no copy is left: getenv, the CRT's, the process's. */
static int
t_wipe(const char *name)
{
	char *v = getenv(name);
	WCHAR w[64], buf[64];

	if (v == NULL)
		return 1;
	compat_env_wipe(name);
	MultiByteToWideChar(CP_UTF8, 0, name, -1, w, 64);
	printf("%s %s %s %s\n", v, getenv(name) == NULL ? "gone" : "left",
	    (getenv)(name) == NULL ? "gone" : "left",
	    GetEnvironmentVariableW(w, buf, 64) == 0 ? "gone" : "left");
	return 0;
}

/* Text through stdio and write(2): LF must stay LF. */
static int
t_lines(void)
{
	printf("one\ntwo\n");
	fputs("three\n", stdout);
	fflush(stdout);
	if (write(1, "four\n", 5) != 5)
		return 1;
	fprintf(stderr, "err\n");
	return 0;
}

static int
t_cat(void)
{
	char b[4096];
	size_t n;

	while ((n = fread(b, 1, sizeof b, stdin)) > 0)
		if (fwrite(b, 1, n, stdout) != n)
			return 1;
	return ferror(stdin) ? 1 : 0;
}

static int
t_getdelim(const char *path)
{
	FILE *fp;
	char *l = NULL;
	size_t cap = 0;
	ssize_t n;

	if ((fp = fopen(path, "rb")) == NULL)
		return fail(path);
	while ((n = getdelim(&l, &cap, '\n', fp)) != -1)
		printf("%zd\n", n);
	free(l);
	fclose(fp);
	return 0;
}

static int
t_write(const char *path, const char *text, int flags)
{
	int fd;

	if ((fd = compat_open(path, flags, err)) == -1)
		return fail("open");
	if (compat_pwrite(fd, text, strlen(text), 0) == -1 ||
	    compat_fsync(fd) == -1) {
		compat_close(fd);
		return fail("write");
	}
	compat_close(fd);
	return 0;
}

static int
t_read(const char *path)
{
	char b[4096];
	ssize_t n;
	int fd;

	if ((fd = compat_open(path, COMPAT_RD, err)) == -1)
		return fail("open");
	while ((n = compat_read(fd, b, sizeof b)) > 0)
		fwrite(b, 1, (size_t)n, stdout);
	compat_close(fd);
	return n == 0 ? 0 : fail("read");
}

/*
 * A file held open by compat_open can be renamed away and removed
 * while the holder keeps reading the old contents, and a new file can
 * take its name at once; a file held by the CRT's own open() cannot be
 * renamed (the trap this layer exists for).  Renaming over a held file
 * needs POSIX rename semantics (Windows 10 1607 and later): reported,
 * "over held: refused" under wine 8.
 */
static int
t_share(const char *a, const char *b)
{
	char buf[16], c[1024];
	int fd, crt, bad = 0;

	snprintf(c, sizeof c, "%s.moved", a);
	if (t_write(a, "old\n", COMPAT_RDWR | COMPAT_CREAT |
	    COMPAT_TRUNC) || t_write(b, "new\n", COMPAT_RDWR |
	    COMPAT_CREAT | COMPAT_TRUNC))
		return 1;
	if ((fd = compat_open(a, COMPAT_RD, err)) == -1)
		return fail("open");
	if (compat_rename(a, c, err) == -1) {
		printf("rename held file: %s\n", err);
		bad = 1;
	} else
		printf("rename held file: ok\n");
	if (t_write(a, "newer\n", COMPAT_RDWR | COMPAT_CREAT |
	    COMPAT_EXCL) == 0)
		printf("new file under the old name: ok\n");
	else
		bad = 1;
	memset(buf, 0, sizeof buf);
	if (compat_pread(fd, buf, sizeof buf - 1, 0) != 4 ||
	    strcmp(buf, "old\n") != 0) {
		printf("held file reads: %s", buf);
		bad = 1;
	} else
		printf("held file still reads old\n");
	printf("over held: %s\n", compat_rename(b, c, err) == 0 ? "ok" :
	    "refused");
	if (compat_unlink(c, err) != 0) {
		printf("unlink held file: %s\n", err);
		bad = 1;
	} else
		printf("unlink held file: ok\n");
	/* POSIX delete semantics (Windows 10 1607 and later) free the
	 * name at once; wine 8 keeps it until the last handle closes. */
	printf("recreate while held: %s\n", t_write(c, "again\n",
	    COMPAT_RDWR | COMPAT_CREAT | COMPAT_EXCL) == 0 ? "ok" :
	    "refused");
	compat_close(fd);
	compat_unlink(c, err);
	if (t_write(c, "again\n", COMPAT_RDWR | COMPAT_CREAT |
	    COMPAT_EXCL))
		bad = 1;
	else
		printf("recreated after unlink: ok\n");
	/* The CRT's open: no delete sharing. */
	if ((crt = _open(a, _O_RDONLY | _O_BINARY)) == -1)
		return fail("_open");
	printf("crt open: rename %s\n", compat_rename(a, b, err) == 0 ?
	    "went through" : "refused");
	_close(crt);
	return bad;
}

static int
t_lock(const char *path, const char *secs)
{
	int fd, r;

	if ((fd = compat_open(path, COMPAT_RDWR | COMPAT_CREAT, err)) == -1)
		return fail("open");
	if ((r = compat_lock(fd)) == -1)
		return fail("lock");
	if (r == 1) {
		printf("busy\n");
		return 3;
	}
	printf("locked\n");
	fflush(stdout);
	/* The lock byte is far out: the data stays readable by others. */
	Sleep((DWORD)atoi(secs) * 1000);
	compat_close(fd);
	return 0;
}

/* Positioned I/O around 4 GiB and past it, in a sparse file. */
static int
t_pio(const char *path)
{
	static const int64_t offs[] = { 0, 4294967294LL, 4294967296LL,
	    5368709120LL + 7 };
	struct compat_stat cs;
	char buf[8];
	DWORD got;
	size_t i;
	int64_t pos;
	int fd, bad = 0;

	if ((fd = compat_open(path, COMPAT_RDWR | COMPAT_CREAT |
	    COMPAT_TRUNC, err)) == -1)
		return fail("open");
	if (!DeviceIoControl((HANDLE)_get_osfhandle(fd), FSCTL_SET_SPARSE,
	    NULL, 0, NULL, 0, &got, NULL))
		printf("not sparse (FSCTL_SET_SPARSE failed)\n");
	if (compat_pwrite(fd, "head", 4, 0) == -1)
		return fail("pwrite");
	if (_lseeki64(fd, 2, SEEK_SET) != 2)
		return fail("lseek");
	for (i = 1; i < sizeof offs / sizeof offs[0]; i++)
		if (compat_pwrite(fd, "ABCD", 4, offs[i]) == -1)
			return fail("pwrite");
	for (i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		memset(buf, 0, sizeof buf);
		if (compat_pread(fd, buf, 4, offs[i]) != 4)
			return fail("pread");
		printf("%lld %s\n", (long long)offs[i], buf);
	}
	/* At and past the end: a short read, then none. */
	if (compat_pread(fd, buf, 8, offs[3] + 2) != 2 ||
	    compat_pread(fd, buf, 8, offs[3] + 100) != 0) {
		printf("short reads at the end wrong\n");
		bad = 1;
	}
	if ((pos = _lseeki64(fd, 0, SEEK_CUR)) != 2) {
		printf("file position moved to %lld\n", (long long)pos);
		bad = 1;
	}
	if (compat_fstat(fd, &cs) == -1)
		return fail("fstat");
	printf("size %lld\n", (long long)cs.size);
	if (compat_ftruncate(fd, 4294967300LL) == -1 ||
	    compat_fstat(fd, &cs) == -1)
		return fail("ftruncate");
	printf("truncated %lld\n", (long long)cs.size);
	if (compat_fsync(fd) == -1)
		return fail("fsync");
	/* Room reserved, the size unchanged. */
	if (compat_reserve(fd, cs.size, 1 << 20) == -1 ||
	    compat_fstat(fd, &cs) == -1)
		return fail("reserve");
	printf("reserved, size %lld\n", (long long)cs.size);
	compat_close(fd);
	return bad;
}

/* compat_wait_readable on a pipe: nothing yet, then data, then EOF. */
static int
t_waitread(void)
{
	char b[64];
	ssize_t r;

	printf("%d", compat_wait_readable(0, 300));
	printf(" %d", compat_wait_readable(0, 10000));
	r = compat_read(0, b, sizeof b);
	printf(" %lld", (long long)r);
	printf(" %d", compat_wait_readable(0, 10000));
	printf(" %lld\n", (long long)compat_read(0, b, sizeof b));
	return 0;
}

/* A protected DACL: the current user, SYSTEM and Administrators full
 * control, and with "everyone" read for Everyone. */
static int
t_acl(const char *path, const char *how)
{
	PSECURITY_DESCRIPTOR sd;
	HANDLE tok;
	BYTE tu[256];
	DWORD n;
	char sddl[512], *me;
	WCHAR w[1024];

	if (strcmp(how, "everyone") != 0 && strcmp(how, "private") != 0)
		return 2;
	if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &tok) ||
	    !GetTokenInformation(tok, TokenUser, tu, sizeof tu, &n) ||
	    !ConvertSidToStringSidA(((TOKEN_USER *)tu)->User.Sid, &me))
		return 1;
	snprintf(sddl, sizeof sddl, "D:P(A;;FA;;;%s)(A;;FA;;;SY)"
	    "(A;;FA;;;BA)%s", me, strcmp(how, "everyone") == 0 ?
	    "(A;;FR;;;WD)" : "");
	LocalFree(me);
	MultiByteToWideChar(CP_UTF8, 0, path, -1, w, 1024);
	/* SetFileSecurityW: wine 8 turns it into the Unix mode. */
	if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl,
	    SDDL_REVISION_1, &sd, NULL) ||
	    !SetFileSecurityW(w, DACL_SECURITY_INFORMATION |
	    PROTECTED_DACL_SECURITY_INFORMATION, sd)) {
		fprintf(stderr, "compat-test: %s: error %lu\n", path,
		    (unsigned long)GetLastError());
		return 1;
	}
	LocalFree(sd);
	return 0;
}

/* The file's owner and DACL in SDDL, for diagnostics. */
static int
t_sddl(const char *path)
{
	PSECURITY_DESCRIPTOR sd;
	WCHAR w[1024];
	char *s;

	MultiByteToWideChar(CP_UTF8, 0, path, -1, w, 1024);
	if (GetNamedSecurityInfoW(w, SE_FILE_OBJECT,
	    OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, NULL,
	    NULL, NULL, NULL, &sd) != ERROR_SUCCESS ||
	    !ConvertSecurityDescriptorToStringSecurityDescriptorA(sd,
	    SDDL_REVISION_1, OWNER_SECURITY_INFORMATION |
	    DACL_SECURITY_INFORMATION, &s, NULL))
		return 1;
	printf("%s\n", s);
	LocalFree(s);
	LocalFree(sd);
	return 0;
}

static int
t_conf(const char *path)
{
	struct duo_conf c;

	if (conf_load(&c, path, err) == -1) {
		printf("%s\n", err);
		return 1;
	}
	printf("loaded\n");
	conf_free(&c);
	return 0;
}

static int
t_shared(const char *path)
{
	int fd, r;

	if ((fd = compat_open(path, COMPAT_RD, err)) == -1)
		return fail("open");
	r = compat_file_is_shared(fd);
	compat_close(fd);
	printf("%s\n", r ? "shared" : "private");
	return 0;
}

static int
t_dirpriv(const char *path)
{
	if (compat_dir_private(path, err) == -1) {
		printf("%s\n", err);
		return 1;
	}
	printf("private\n");
	return 0;
}

static int
t_abspath(const char *path)
{
	struct buf b;

	buf_init(&b);
	if (compat_abspath(path, &b, err) == -1)
		return fail("abspath");
	printf("%s\n", b.p);
	buf_free(&b);
	return 0;
}

static int
t_lstat(const char *path)
{
	static const char *names[] = { "?", "file", "dir", "link", "other" };
	struct compat_stat cs;

	if (compat_lstat(path, &cs) == -1) {
		printf("%s\n", errno == ENOENT ? "missing" : strerror(errno));
		return 1;
	}
	printf("%s %lld\n", names[cs.type], (long long)cs.size);
	return 0;
}

static int
t_ls(const char *path)
{
	struct compat_dir *d;
	const char *n;

	if (compat_dir_open(&d, path, err) == -1)
		return fail("dir");
	while ((n = compat_dir_next(d)) != NULL)
		printf("%s\n", n);
	compat_dir_close(d);
	return 0;
}

/*
 * compat_gmtime and compat_timegm against the CRT's _gmtime64_s, at
 * every 997th minute from 1970 to 3000, and back again.
 */
static int
t_time(void)
{
	struct tm a, b;
	__time64_t t;
	long n = 0;

	for (t = 0; t < 32503680000LL; t += 997 * 60 + 13, n++) {
		if (compat_gmtime((time_t)t, &a) == -1 ||
		    _gmtime64_s(&b, &t) != 0 || a.tm_year != b.tm_year ||
		    a.tm_mon != b.tm_mon || a.tm_mday != b.tm_mday ||
		    a.tm_hour != b.tm_hour || a.tm_min != b.tm_min ||
		    a.tm_sec != b.tm_sec || a.tm_wday != b.tm_wday ||
		    a.tm_yday != b.tm_yday || compat_timegm(&a) != t) {
			printf("differs at %lld\n", (long long)t);
			return 1;
		}
	}
	/* Normalisation as timegm: month 13, day 0, negative seconds. */
	memset(&a, 0, sizeof a);
	a.tm_year = 2023 - 1900;
	a.tm_mon = 12;
	a.tm_mday = 0;
	a.tm_sec = -1;
	if (compat_timegm(&a) != 1703980799 || a.tm_mday != 30) {
		printf("normalisation wrong\n");
		return 1;
	}
	/* Before 1970. */
	if (compat_gmtime(-86401, &a) == -1 || a.tm_year != 69 ||
	    a.tm_mon != 11 || a.tm_mday != 30 || a.tm_hour != 23 ||
	    a.tm_wday != 2) {
		printf("before 1970 wrong\n");
		return 1;
	}
	printf("ok %ld\n", n);
	return 0;
}

static int
t_utcoff(int argc, char **argv)
{
	struct tm tm;
	long off;
	int i;

	for (i = 2; i < argc; i++) {
		if (compat_sys_utcoff(atoll(argv[i]), &off) == -1 ||
		    compat_localtime((time_t)atoll(argv[i]), &tm) == -1)
			return 1;
		printf("%s %ld %d\n", argv[i], off, tm.tm_isdst);
	}
	return 0;
}

/* Block in compat_read on stdin until a console event ends it. */
static int
t_sigread(void)
{
	static volatile int sig;
	char b[64];
	ssize_t r;

	compat_catch_signals(&sig);
	printf("waiting\n");
	fflush(stdout);
	r = compat_read(0, b, sizeof b);
	printf("read %lld errno %s sig %d\n", (long long)r,
	    r == -1 && errno == EINTR ? "EINTR" : "other", sig);
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: compat-test command [args]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *c;

	compat_init(&argc, &argv);
	if (argc < 2)
		return usage();
	c = argv[1];
	if (strcmp(c, "argv") == 0)
		return t_argv(argc, argv);
	if (strcmp(c, "lines") == 0)
		return t_lines();
	if (strcmp(c, "cat") == 0)
		return t_cat();
	if (strcmp(c, "waitread") == 0)
		return t_waitread();
	if (strcmp(c, "sigread") == 0)
		return t_sigread();
	if (strcmp(c, "time") == 0)
		return t_time();
	if (strcmp(c, "utcoff") == 0)
		return t_utcoff(argc, argv);
	if (argc < 3)
		return usage();
	if (strcmp(c, "env") == 0)
		return t_env(argv[2]);
	if (strcmp(c, "wipe") == 0)
		return t_wipe(argv[2]);
	if (strcmp(c, "getdelim") == 0)
		return t_getdelim(argv[2]);
	if (strcmp(c, "create") == 0)
		return t_write(argv[2], argc > 3 ? argv[3] : "x\n",
		    COMPAT_RDWR | COMPAT_CREAT | COMPAT_EXCL);
	if (strcmp(c, "create-private") == 0)
		return t_write(argv[2], argc > 3 ? argv[3] : "x\n",
		    COMPAT_RDWR | COMPAT_CREAT | COMPAT_EXCL | COMPAT_PRIVATE);
	if (strcmp(c, "read") == 0)
		return t_read(argv[2]);
	if (strcmp(c, "lock") == 0 && argc > 3)
		return t_lock(argv[2], argv[3]);
	if (strcmp(c, "pio") == 0)
		return t_pio(argv[2]);
	if (strcmp(c, "acl") == 0 && argc > 3)
		return t_acl(argv[2], argv[3]);
	if (strcmp(c, "conf") == 0)
		return t_conf(argv[2]);
	if (strcmp(c, "sddl") == 0)
		return t_sddl(argv[2]);
	if (strcmp(c, "shared") == 0)
		return t_shared(argv[2]);
	if (strcmp(c, "dirpriv") == 0)
		return t_dirpriv(argv[2]);
	if (strcmp(c, "abspath") == 0)
		return t_abspath(argv[2]);
	if (strcmp(c, "lstat") == 0)
		return t_lstat(argv[2]);
	if (strcmp(c, "ls") == 0)
		return t_ls(argv[2]);
	if (strcmp(c, "mkdir") == 0) {
		int r = compat_mkdir(argv[2], err);

		if (r == -1)
			return fail("mkdir");
		printf("%d\n", r);
		return 0;
	}
	if (strcmp(c, "unlink") == 0) {
		int r = compat_unlink(argv[2], err);

		if (r == -1)
			return fail("unlink");
		printf("%d\n", r);
		return 0;
	}
	if (strcmp(c, "fsyncdir") == 0)
		return compat_fsync_dir(argv[2], err) == -1 ? fail("fsync") : 0;
	if (argc < 4)
		return usage();
	if (strcmp(c, "share") == 0)
		return t_share(argv[2], argv[3]);
	if (strcmp(c, "rename") == 0)
		return compat_rename(argv[2], argv[3], err) == -1 ?
		    fail("rename") : 0;
	if (strcmp(c, "rename-new") == 0)
		return compat_rename_new(argv[2], argv[3], err) == -1 ?
		    fail("rename") : 0;
	return usage();
}
