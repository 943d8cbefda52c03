/*
 * check_compat: the compat contract of duo.h, on the POSIX side
 * (lib/compat.c).  lib/compat_win.c keeps the same contract; it is
 * checked under wine by tests/e2e/74-win-compat.t.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/duo.h"

/* ---- calendar: known answers ---- */

static const struct {
	int64_t	 t;
	int	 y, mo, d, h, mi, s, wday, yday;
} cal[] = {
	{ 0, 1970, 1, 1, 0, 0, 0, 4, 0 },
	{ 951782400, 2000, 2, 29, 0, 0, 0, 2, 59 },
	{ 1703980799, 2023, 12, 30, 23, 59, 59, 6, 363 },
	{ 4102444800LL, 2100, 1, 1, 0, 0, 0, 5, 0 },
	{ 253402300799LL, 9999, 12, 31, 23, 59, 59, 5, 364 },
	{ -86401, 1969, 12, 30, 23, 59, 59, 2, 363 },
};

START_TEST(test_gmtime)
{
	struct tm tm;

	ck_assert_int_eq(compat_gmtime((time_t)cal[_i].t, &tm), 0);
	ck_assert_int_eq(tm.tm_year + 1900, cal[_i].y);
	ck_assert_int_eq(tm.tm_mon + 1, cal[_i].mo);
	ck_assert_int_eq(tm.tm_mday, cal[_i].d);
	ck_assert_int_eq(tm.tm_hour, cal[_i].h);
	ck_assert_int_eq(tm.tm_min, cal[_i].mi);
	ck_assert_int_eq(tm.tm_sec, cal[_i].s);
	ck_assert_int_eq(tm.tm_wday, cal[_i].wday);
	ck_assert_int_eq(tm.tm_yday, cal[_i].yday);
	ck_assert(compat_timegm(&tm) == (time_t)cal[_i].t);
}
END_TEST

/* timegm normalises: month 12 of 2023 is January 2024, day 0 the day
 * before the 1st, second -1 the second before midnight. */
START_TEST(test_timegm_normalise)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = 2023 - 1900;
	tm.tm_mon = 12;
	tm.tm_mday = 0;
	tm.tm_sec = -1;
	ck_assert(compat_timegm(&tm) == 1703980799);
	ck_assert_int_eq(tm.tm_mday, 30);
	ck_assert_int_eq(tm.tm_mon, 11);
	ck_assert_int_eq(tm.tm_hour, 23);
}
END_TEST

START_TEST(test_sys_utcoff)
{
	long off = 12345;

	/* Windows only: the POSIX side says "not used". */
	ck_assert_int_eq(compat_sys_utcoff(0, &off), -1);
}
END_TEST

/* ---- files, in a scratch directory ---- */

static char dir[256];
static char err[DUO_ERRLEN];

static const char *
P(const char *name)
{
	static char path[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
	return path[k];
}

static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof dir, "%s/check_compat.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	err[0] = '\0';
}

static void
teardown(void)
{
	struct compat_dir *d;
	const char *n;
	char sub[512];

	/* One level of subdirectories at most. */
	if (compat_dir_open(&d, dir, err) == 0) {
		while ((n = compat_dir_next(d)) != NULL) {
			snprintf(sub, sizeof sub, "%s/%s", dir, n);
			if (unlink(sub) == -1)
				rmdir(sub);
		}
		compat_dir_close(d);
	}
	rmdir(dir);
}

static void
put(const char *path, const char *s)
{
	FILE *fp = fopen(path, "w");

	ck_assert_ptr_nonnull(fp);
	fputs(s, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_open_create)
{
	struct stat st;
	mode_t um = umask(022);
	int fd;

	fd = compat_open(P("a"), COMPAT_RDWR | COMPAT_CREAT | COMPAT_EXCL |
	    COMPAT_PRIVATE, err);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(compat_close(fd), 0);
	ck_assert_int_eq(compat_open(P("a"), COMPAT_RDWR | COMPAT_CREAT |
	    COMPAT_EXCL, err), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(compat_open(P("missing"), COMPAT_RD, err), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "missing"));
	fd = compat_open(P("b"), COMPAT_RDWR | COMPAT_CREAT, err);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0644);
	compat_close(fd);
	umask(um);
}
END_TEST

/* What compat_open refuses, with errno and the words of the message. */
static const struct {
	int	 kind;		/* 0 symlink, 1 directory, 2 FIFO */
	int	 flags;
	int	 err;
	const char *msg;
} refuse[] = {
	{ 0, COMPAT_RD, ELOOP, "is a symbolic link; refusing" },
	{ 0, COMPAT_RDWR | COMPAT_TRUNC, ELOOP, "is a symbolic link" },
	{ 1, COMPAT_RD, EISDIR, "is a directory, not a regular file" },
	{ 2, COMPAT_RD, EINVAL, "is a FIFO, not a regular file" },
	{ 2, COMPAT_RDWR | COMPAT_TRUNC, EINVAL, "is a FIFO" },
};

START_TEST(test_open_refuse)
{
	char buf[8];
	FILE *fp;
	int fd;

	put(P("target"), "keep");
	switch (refuse[_i].kind) {
	case 0:
		ck_assert_int_eq(symlink(P("target"), P("x")), 0);
		break;
	case 1:
		ck_assert_int_eq(mkdir(P("x"), 0700), 0);
		break;
	default:
		ck_assert_int_eq(mkfifo(P("x"), 0600), 0);
		break;
	}
	/* Never blocks on the FIFO (no writer), never truncates. */
	fd = compat_open(P("x"), refuse[_i].flags, err);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, refuse[_i].err);
	ck_assert_ptr_nonnull(strstr(err, refuse[_i].msg));
	fp = fopen(P("target"), "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, fp));
	ck_assert_str_eq(buf, "keep");
	fclose(fp);
}
END_TEST

/* Offsets either side of 2^31 and 2^32, and past; a sparse file. */
static const int64_t offs[] = { 0, 2147483647LL, 4294967294LL,
    4294967296LL, 5368709127LL };

START_TEST(test_pio)
{
	struct compat_stat cs;
	char buf[8];
	int fd;

	fd = compat_open(P("big"), COMPAT_RDWR | COMPAT_CREAT, err);
	ck_assert_int_ge(fd, 0);
	ck_assert(lseek(fd, 3, SEEK_SET) == 3);
	ck_assert_int_eq(compat_pwrite(fd, "WXYZ", 4, offs[_i]), 0);
	memset(buf, 0, sizeof buf);
	ck_assert_int_eq(compat_pread(fd, buf, 4, offs[_i]), 4);
	ck_assert_str_eq(buf, "WXYZ");
	/* Short at the end, nothing past it. */
	ck_assert_int_eq(compat_pread(fd, buf, 8, offs[_i] + 2), 2);
	ck_assert_int_eq(compat_pread(fd, buf, 8, offs[_i] + 9), 0);
	/* The file position is the one before. */
	ck_assert(lseek(fd, 0, SEEK_CUR) == 3);
	ck_assert_int_eq(compat_fstat(fd, &cs), 0);
	ck_assert_int_eq(cs.type, COMPAT_FILE);
	ck_assert(cs.size == offs[_i] + 4);
	ck_assert_int_eq(compat_ftruncate(fd, 1), 0);
	ck_assert_int_eq(compat_fstat(fd, &cs), 0);
	ck_assert(cs.size == 1);
	ck_assert_int_eq(compat_fsync(fd), 0);
	ck_assert_int_eq(compat_reserve(fd, 1, 4096), 0);
	ck_assert_int_eq(compat_close(fd), 0);
}
END_TEST

START_TEST(test_stat)
{
	struct compat_stat cs;

	put(P("f"), "12345");
	ck_assert_int_eq(symlink("f", P("l")), 0);
	ck_assert_int_eq(compat_lstat(P("f"), &cs), 0);
	ck_assert_int_eq(cs.type, COMPAT_FILE);
	ck_assert(cs.size == 5);
	ck_assert_int_eq(compat_lstat(P("l"), &cs), 0);
	ck_assert_int_eq(cs.type, COMPAT_LINK);
	ck_assert_int_eq(compat_lstat(dir, &cs), 0);
	ck_assert_int_eq(cs.type, COMPAT_DIR);
	ck_assert_int_eq(compat_lstat(P("none"), &cs), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_dirs)
{
	struct compat_dir *d;
	const char *n;
	int seen = 0;

	ck_assert_int_eq(compat_mkdir(P("d"), err), 1);
	ck_assert_int_eq(compat_mkdir(P("d"), err), 0);
	put(P("f"), "");
	ck_assert_int_eq(compat_mkdir(P("f"), err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a directory"));
	ck_assert_int_eq(compat_fsync_dir(P("d"), err), 0);
	ck_assert_int_eq(compat_dir_open(&d, dir, err), 0);
	while ((n = compat_dir_next(d)) != NULL) {
		ck_assert_str_ne(n, ".");
		ck_assert_str_ne(n, "..");
		seen |= strcmp(n, "d") == 0 ? 1 : strcmp(n, "f") == 0 ? 2 : 4;
	}
	compat_dir_close(d);
	ck_assert_int_eq(seen, 3);
	ck_assert_int_eq(compat_dir_open(&d, P("none"), err), -1);
}
END_TEST

START_TEST(test_rename_unlink)
{
	char buf[8];
	FILE *fp;
	int fd;

	put(P("a"), "new");
	put(P("b"), "old");
	/* Replaces, even while the old file is held open. */
	fd = compat_open(P("b"), COMPAT_RD, err);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(compat_rename(P("a"), P("b"), err), 0);
	memset(buf, 0, sizeof buf);
	ck_assert_int_eq(compat_pread(fd, buf, 3, 0), 3);
	ck_assert_str_eq(buf, "old");
	compat_close(fd);
	fp = fopen(P("b"), "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, fp));
	fclose(fp);
	ck_assert_str_eq(buf, "new");
	put(P("c"), "c");
	ck_assert_int_eq(compat_rename_new(P("c"), P("b"), err), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_ptr_nonnull(strstr(err, "exists already"));
	ck_assert_int_eq(compat_rename_new(P("c"), P("e"), err), 0);
	ck_assert_int_eq(access(P("c"), F_OK), -1);
	ck_assert_int_eq(compat_unlink(P("e"), err), 0);
	ck_assert_int_eq(compat_unlink(P("e"), err), 1);
}
END_TEST

START_TEST(test_lock)
{
	int a, b;

	a = compat_open(P("k.lock"), COMPAT_RDWR | COMPAT_CREAT, err);
	b = compat_open(P("k.lock"), COMPAT_RDWR | COMPAT_CREAT, err);
	ck_assert_int_ge(a, 0);
	ck_assert_int_ge(b, 0);
	ck_assert_int_eq(compat_lock(a), 0);
	/* Another descriptor: busy, at once. */
	ck_assert_int_eq(compat_lock(b), 1);
	compat_close(a);
	ck_assert_int_eq(compat_lock(b), 0);
	compat_close(b);
}
END_TEST

START_TEST(test_abspath)
{
	struct buf b;
	char want[600], *real;

	ck_assert_int_eq(compat_mkdir(P("d"), err), 1);
	ck_assert_ptr_nonnull(real = realpath(dir, NULL));
	buf_init(&b);
	ck_assert_int_eq(compat_abspath(P("d/../x"), &b, err), 0);
	snprintf(want, sizeof want, "%s/x", real);
	ck_assert_str_eq(b.p, want);
	buf_reset(&b);
	ck_assert_int_eq(compat_abspath(P("none/x"), &b, err), -1);
	ck_assert_int_eq(compat_abspath(P("d/.."), &b, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a file name"));
	ck_assert_int_eq(compat_abspath("", &b, err), -1);
	buf_free(&b);
	free(real);
}
END_TEST

static const struct {
	mode_t	 mode;
	int	 file_shared;	/* compat_file_is_shared */
	int	 dir_ok;	/* compat_dir_private */
} modes[] = {
	{ 0600, 0, 0 },
	{ 0700, 0, 0 },
	{ 0640, 1, 0 },
	{ 0604, 1, 0 },
	{ 0750, 1, 0 },
	{ 0770, 1, -1 },
	{ 0757, 1, -1 },
};

START_TEST(test_private)
{
	int fd;

	put(P("f"), "x");
	ck_assert_int_eq(chmod(P("f"), modes[_i].mode), 0);
	fd = open(P("f"), O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(compat_file_is_shared(fd), modes[_i].file_shared);
	close(fd);
	ck_assert_int_eq(mkdir(P("d"), 0700), 0);
	ck_assert_int_eq(chmod(P("d"), modes[_i].mode), 0);
	ck_assert_int_eq(compat_dir_private(P("d"), err), modes[_i].dir_ok);
	if (modes[_i].dir_ok == -1)
		ck_assert_ptr_nonnull(strstr(err, "chmod go-w"));
	ck_assert_int_eq(compat_dir_private(P("f"), err), -1);
}
END_TEST

START_TEST(test_wait_read)
{
	char c;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(compat_wait_readable(p[0], 10), 0);
	ck_assert_int_eq(write(p[1], "z", 1), 1);
	ck_assert_int_eq(compat_wait_readable(p[0], 10), 1);
	ck_assert_int_eq(compat_read(p[0], &c, 1), 1);
	ck_assert_int_eq(c, 'z');
	close(p[1]);
	/* End of input is ready too, and reads 0. */
	ck_assert_int_eq(compat_wait_readable(p[0], 10), 1);
	ck_assert_int_eq(compat_read(p[0], &c, 1), 0);
	close(p[0]);
}
END_TEST

START_TEST(test_env_wipe)
{
	char *v;

	ck_assert_int_eq(setenv("CHECK_COMPAT_SECRET", "hunter2", 1), 0);
	v = getenv("CHECK_COMPAT_SECRET");
	compat_env_wipe("CHECK_COMPAT_SECRET");
	ck_assert_ptr_null(getenv("CHECK_COMPAT_SECRET"));
	/* The bytes themselves (glibc keeps setenv's copy allocated). */
	ck_assert_str_eq(v, "xxxxxxx");
	compat_env_wipe("CHECK_COMPAT_NEVER_SET");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("compat");
	TCase *tc = tcase_create("calendar"), *tf = tcase_create("files");
	SRunner *sr;
	int nf;

	tcase_add_loop_test(tc, test_gmtime, 0, sizeof cal / sizeof cal[0]);
	tcase_add_test(tc, test_timegm_normalise);
	tcase_add_test(tc, test_sys_utcoff);
	tcase_add_test(tc, test_env_wipe);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_test(tf, test_open_create);
	tcase_add_loop_test(tf, test_open_refuse, 0,
	    sizeof refuse / sizeof refuse[0]);
	tcase_add_loop_test(tf, test_pio, 0, sizeof offs / sizeof offs[0]);
	tcase_add_test(tf, test_stat);
	tcase_add_test(tf, test_dirs);
	tcase_add_test(tf, test_rename_unlink);
	tcase_add_test(tf, test_lock);
	tcase_add_test(tf, test_abspath);
	tcase_add_loop_test(tf, test_private, 0,
	    sizeof modes / sizeof modes[0]);
	tcase_add_test(tf, test_wait_read);
	suite_add_tcase(s, tf);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
