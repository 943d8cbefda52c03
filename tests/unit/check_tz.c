/*
 * check_tz: the TZif reader and POSIX TZ rules against glibc's answers
 * (tests/fixtures/tz/expect.h and posix.h, written by mk.py from glibc's
 * localtime_r, never from lib/tz.c), on zic's fat and slim output (slim
 * files make every instant after the last rule change depend on the
 * footer) and a version 1 file; corrupt files, every truncation and every
 * flipped byte; zone names that must not leave the zoneinfo folder; and
 * fmt_utcoff's cache.  Fixtures are found under $TOP (default ".").
 */
#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/duo.h"

struct want {
	const char	*zone;
	long long	 t;
	long		 off;
	int		 isdst;
	const char	*abbr;
};

static const struct want expect[] = {
#include "../fixtures/tz/expect.h"
};
#define NEXPECT	(sizeof expect / sizeof expect[0])

static const struct want posix[] = {
#include "../fixtures/tz/posix.h"
};
#define NPOSIX	(sizeof posix / sizeof posix[0])

static const char *
fixture(const char *name)
{
	static char path[1024];
	const char *top = getenv("TOP");

	snprintf(path, sizeof path, "%s/tests/fixtures/tz/%s",
	    top != NULL ? top : ".", name);
	return path;
}

static void
slurp(const char *name, struct buf *b)
{
	FILE *fp;
	char tmp[4096];
	size_t n;

	buf_init(b);
	fp = fopen(fixture(name), "rb");
	ck_assert_msg(fp != NULL, "%s: cannot open", fixture(name));
	while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
		xbuf_add(b, tmp, n);
	fclose(fp);
}

static struct tz *
loadfix(const char *name)
{
	struct buf b;
	struct tz *z;
	char err[DUO_ERRLEN];

	slurp(name, &b);
	ck_assert_msg(tz_load(&z, b.p, b.len, err) == 0, "%s: %s", name,
	    err);
	buf_free(&b);
	return z;
}

static void
check_at(const struct tz *z, const struct want *w, const char *what)
{
	struct tz_info ti;

	tz_lookup(z, w->t, &ti);
	ck_assert_msg(ti.off == w->off && ti.isdst == w->isdst &&
	    strcmp(ti.abbr, w->abbr) == 0,
	    "%s %s t=%lld: got %ld %d %s, want %ld %d %s", what, w->zone,
	    w->t, ti.off, ti.isdst, ti.abbr, w->off, w->isdst, w->abbr);
	ck_assert_msg(ti.lo <= w->t && (w->t < ti.hi || ti.hi == INT64_MAX),
	    "%s %s t=%lld: span [%lld, %lld)", what, w->zone, w->t,
	    (long long)ti.lo, (long long)ti.hi);
	ck_assert_int_eq(tz_utcoff(z, w->t), w->off);
}

static void
check_file(const char *dir, int v1only)
{
	char name[256];
	const char *zone = NULL;
	struct tz *z = NULL;
	size_t i, n = 0;

	for (i = 0; i < NEXPECT; i++) {
		if (v1only && (expect[i].t > INT32_MAX ||
		    strcmp(expect[i].zone, "America/New_York") != 0))
			continue;
		if (zone == NULL || strcmp(zone, expect[i].zone) != 0) {
			tz_free(z);
			zone = expect[i].zone;
			snprintf(name, sizeof name, "%s/%s", dir, zone);
			z = loadfix(name);
		}
		check_at(z, &expect[i], dir);
		n++;
	}
	tz_free(z);
	ck_assert_msg(n > (v1only ? 100u : 1000u), "%zu instants", n);
}

START_TEST(test_fat)
{
	check_file("fat", 0);
}
END_TEST

START_TEST(test_slim)
{
	check_file("slim", 0);
}
END_TEST

START_TEST(test_v1)
{
	check_file("v1", 1);
}
END_TEST

START_TEST(test_posix)
{
	struct tz *z;
	char err[DUO_ERRLEN];

	ck_assert_msg(tz_posix(&z, posix[_i].zone, err) == 0, "%s: %s",
	    posix[_i].zone, err);
	check_at(z, &posix[_i], "posix");
	tz_free(z);
}
END_TEST

/* Worked out by hand: DST all year (RFC 8536's example, 3.3.1). */
START_TEST(test_allyear)
{
	static const long long t[] = { 1577836800, 1577836800 + 3 * 3600,
	    1577836800 + 5 * 3600, 1577836800 + 6 * 3600, 1593561600,
	    1609459199, 1609459200, 1609477200, 4102444800LL };
	struct tz *z;
	char err[DUO_ERRLEN];
	size_t i;

	ck_assert_int_eq(tz_posix(&z, "EST5EDT,0/0,J365/25", err), 0);
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_msg(tz_utcoff(z, t[i]) == -4 * 3600, "t=%lld",
		    t[i]);
	tz_free(z);
}
END_TEST

/*
 * Worked out by hand: a change near New Year in UTC.  2018's daylight
 * time ends 2018-12-31 23:59:59 XDT = 2019-01-01 01:59:59 UTC, 2019's
 * begins 2019-01-01 00:00 XST = 03:00 UTC.  (glibc, which reads only the
 * UTC year's rule, says XST from 00:00 UTC; that is why these instants
 * are not in posix.h.)
 */
START_TEST(test_newyear)
{
	static const struct {
		long long	 t;
		long		 off;
	} w[] = { { 1546300800, -7200 }, { 1546307998, -7200 },
	    { 1546307999, -10800 }, { 1546311599, -10800 },
	    { 1546311600, -7200 } };
	struct tz *z;
	char err[DUO_ERRLEN];
	size_t i;

	ck_assert_int_eq(tz_posix(&z, "XST3XDT,J1/0,J365/23:59:59", err), 0);
	for (i = 0; i < sizeof w / sizeof w[0]; i++)
		ck_assert_msg(tz_utcoff(z, w[i].t) == w[i].off, "t=%lld",
		    w[i].t);
	tz_free(z);
}
END_TEST

static const char *const badposix[] = {
	"", "EST", "ES5", "5EST", "EST25", "EST-25", "EST5:60", "EST5::",
	"EST5:00:60", "EST1234", "EST5EDT,", "EST5EDT,M3.2.0",
	"EST5EDT,M3.2.0,", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M0.1.0,M11.1.0",
	"EST5EDT,M3.6.0,M11.1.0", "EST5EDT,M3.0.0,M11.1.0",
	"EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J365", "EST5EDT,J366,J1",
	"EST5EDT,366,1", "EST5EDT,M3.2.0/168,M11.1.0",
	"EST5EDT,M3.2.0/-168,M11.1.0", "EST5EDT,M3.2.0,M11.1.0x",
	"EST5EDT,M3.2.0,M11.1.0,", "EST5EDT25", "<ES>5", "<E$T>5", "<EST5",
	"EST+", "EST5EDT,M3.2.0,M11.1.0/1:", "E_T5", "EST5 ", " EST5",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG5",
	"America/New_York", "EST5EDT,M3.2,M11.1.0",
};

START_TEST(test_posix_bad)
{
	struct tz *z = (struct tz *)1;
	char err[DUO_ERRLEN];

	ck_assert_msg(tz_posix(&z, badposix[_i], err) == -1, "%s",
	    badposix[_i]);
	ck_assert_ptr_null(z);
	ck_assert_str_eq(err, "bad TZ string");
}
END_TEST

static const struct {
	const char	*file;
	const char	*err;
} bad[] = {
	{ "bad/empty", "truncated header" },
	{ "bad/magic", "not a TZif file" },
	{ "bad/version", "unknown TZif version" },
	{ "bad/truncated", "counts exceed the file size" },
	{ "bad/counts", "counts exceed the file size" },
	{ "bad/types0", "bad type count" },
	{ "bad/index", "bad type index" },
	{ "bad/order", "transitions out of order" },
	{ "bad/offset", "bad UTC offset" },
	{ "bad/abbr", "bad abbreviation index" },
	{ "bad/nofooter", "no TZ string footer" },
	{ "bad/footer", "bad TZ string footer" },
	{ "bad/leap", "leap-second files are not supported" },
};

START_TEST(test_bad)
{
	struct buf b;
	struct tz *z;
	char err[DUO_ERRLEN];

	slurp(bad[_i].file, &b);
	ck_assert_int_eq(tz_load(&z, b.p, b.len, err), -1);
	ck_assert_ptr_null(z);
	ck_assert_str_eq(err, bad[_i].err);
	buf_free(&b);
}
END_TEST

/* Every proper prefix of a v2+ file lacks at least its footer's LF. */
START_TEST(test_prefix)
{
	struct buf b;
	struct tz *z;
	char err[DUO_ERRLEN];
	size_t n;

	slurp("fat/America/New_York", &b);
	for (n = 0; n < b.len; n++) {
		/* a copy of exactly n bytes, so ASan sees any overread */
		char *p = xmalloc(n > 0 ? n : 1);

		memcpy(p, b.p, n);
		ck_assert_msg(tz_load(&z, p, n, err) == -1, "length %zu", n);
		free(p);
	}
	ck_assert_int_eq(tz_load(&z, b.p, b.len, err), 0);
	tz_free(z);
	buf_free(&b);
}
END_TEST

/* Any byte changed: an error or a zone that answers sanely. */
START_TEST(test_flip)
{
	static const unsigned char x[] = { 0xff, 0x01, 0x80 };
	static const int64_t t[] = { INT64_MIN, -(INT64_C(1) << 60),
	    -2147483648LL, 0, 1700000000, 2147483647, 4102444800LL,
	    INT64_C(1) << 60, INT64_MAX };
	struct tz_info ti;
	struct buf b;
	struct tz *z;
	char err[DUO_ERRLEN], *p;
	size_t i, k, j, ok = 0;

	slurp(_i == 0 ? "fat/Europe/Dublin" : "slim/Australia/Lord_Howe", &b);
	p = xmalloc(b.len);
	for (i = 0; i < b.len; i++)
		for (k = 0; k < sizeof x; k++) {
			memcpy(p, b.p, b.len);
			p[i] ^= x[k];
			if (tz_load(&z, p, b.len, err) == -1)
				continue;
			ok++;
			for (j = 0; j < sizeof t / sizeof t[0]; j++) {
				tz_lookup(z, t[j], &ti);
				ck_assert(ti.lo <= t[j]);
				ck_assert(t[j] < ti.hi || ti.hi == INT64_MAX);
				ck_assert(ti.off > -100000 && ti.off < 100000);
				ck_assert(ti.abbr != NULL);
			}
			tz_free(z);
		}
	ck_assert(ok > 0);
	free(p);
	buf_free(&b);
}
END_TEST

/* Walking span to span from 1900 to 2100: each span is one offset. */
START_TEST(test_spans)
{
	static const char *const f[] = { "fat/Australia/Lord_Howe",
	    "slim/Europe/Dublin", "slim/Pacific/Apia" };
	struct tz_info ti;
	struct tz *z;
	int64_t t;
	long n = 0;

	z = loadfix(f[_i]);
	for (t = -2208988800LL; t < 4102444800LL; t = ti.hi) {
		tz_lookup(z, t, &ti);
		ck_assert(ti.lo <= t && t < ti.hi);
		ck_assert_int_eq(tz_utcoff(z, ti.lo), ti.off);
		ck_assert_int_eq(tz_utcoff(z, ti.hi - 1), ti.off);
		ck_assert_int_eq(tz_utcoff(z, t + (ti.hi - t) / 2), ti.off);
		n++;
	}
	ck_assert(n > 20);
	tz_free(z);
}
END_TEST

static const struct {
	const char	*name;
	int		 ok;
} names[] = {
	{ "America/New_York", 1 }, { "Etc/GMT+5", 1 }, { "UTC", 1 },
	{ "America/Argentina/Buenos_Aires", 1 }, { "GMT-0", 1 },
	{ "a.b", 1 }, { "", 0 }, { "/etc/passwd", 0 }, { "../etc/passwd", 0 },
	{ "America/../../etc", 0 }, { "America/..", 0 }, { ".", 0 },
	{ "America/.hidden", 0 }, { "America//New_York", 0 },
	{ "America/", 0 }, { "America\\New_York", 0 }, { "C:x", 0 },
	{ "America/New York", 0 }, { "America/New_York\n", 0 },
	{ "Am\xc3\xa9rica", 0 }, { "EST5EDT,M3.2.0,M11.1.0", 0 },
	{ "<+03>-3", 0 },
};

START_TEST(test_names)
{
	char big[300];

	ck_assert_msg(tz_name_ok(names[_i].name) == names[_i].ok, "%s",
	    names[_i].name);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ck_assert_int_eq(tz_name_ok(big), 0);
	big[255] = '\0';
	ck_assert_int_eq(tz_name_ok(big), 1);
}
END_TEST

/* Opening by name inside TZDIR (a fixture folder) and through TZ. */
static const struct {
	const char	*tz;		/* TZ for "local"; NULL: unset it */
	const char	*name;
	const char	*err;		/* NULL: opens */
	long long	 t;
	long		 off;
} opens[] = {
	{ NULL, "America/New_York", NULL, 1688169600, -4 * 3600 },
	{ NULL, ":Europe/Dublin", NULL, 1688169600, 3600 },
	{ NULL, "utc", NULL, 1688169600, 0 },
	{ NULL, "UTC", NULL, 1688169600, 0 },
	{ NULL, "EST5EDT,M3.2.0,M11.1.0", NULL, 1688169600, -4 * 3600 },
	{ NULL, "<+0545>-5:45", NULL, 1688169600, 5 * 3600 + 45 * 60 },
	{ NULL, "Mars/Olympus_Mons", "Mars/Olympus_Mons: unknown time zone",
	    0, 0 },
	{ NULL, ":EST5", ":EST5: unknown time zone", 0, 0 },
	{ NULL, "America", "America: unknown time zone", 0, 0 },
	{ NULL, "../fat/America/New_York",
	    "../fat/America/New_York: unknown time zone", 0, 0 },
	{ NULL, "America/../America/New_York",
	    "America/../America/New_York: unknown time zone", 0, 0 },
	{ NULL, "/etc/localtime", "/etc/localtime: unknown time zone", 0, 0 },
	{ NULL, "", ": unknown time zone", 0, 0 },
	{ NULL, "local:", "local:: unknown time zone", 0, 0 },
	{ "America/Sao_Paulo", "local", NULL, 1688169600, -3 * 3600 },
	{ ":Pacific/Apia", "local", NULL, 1688169600, 13 * 3600 },
	{ "IST-2IDT,M3.4.4/26,M10.5.0", "local", NULL, 1688169600,
	    3 * 3600 },
	{ "", "local", NULL, 1688169600, 0 },
	{ ":", "local", NULL, 1688169600, 0 },
	{ "America/Nope", "local", "TZ=America/Nope: unknown time zone",
	    0, 0 },
	{ "../fat/America/New_York", "local",
	    "TZ=../fat/America/New_York: unknown time zone", 0, 0 },
};

START_TEST(test_open)
{
	struct tz *z;
	char err[DUO_ERRLEN], dir[1024];
	int r;

	snprintf(dir, sizeof dir, "%s", fixture("fat"));
	setenv("TZDIR", dir, 1);
	if (opens[_i].tz != NULL)
		setenv("TZ", opens[_i].tz, 1);
	else
		unsetenv("TZ");
	r = tz_open(&z, opens[_i].name, err);
	if (opens[_i].err != NULL) {
		ck_assert_msg(r == -1, "%s opened", opens[_i].name);
		ck_assert_ptr_null(z);
		ck_assert_str_eq(err, opens[_i].err);
	} else {
		ck_assert_msg(r == 0, "%s: %s", opens[_i].name, err);
		ck_assert_int_eq(tz_utcoff(z, opens[_i].t), opens[_i].off);
		tz_free(z);
	}
	unsetenv("TZ");
	unsetenv("TZDIR");
}
END_TEST

/* TZ may name a file by absolute path (the user's own environment);
 * corrupt files say why. */
START_TEST(test_open_files)
{
	struct tz *z;
	char err[DUO_ERRLEN], path[1100], want[1200];

	if (fixture("")[0] != '/')
		return;		/* needs TOP to be absolute */
	snprintf(path, sizeof path, "%s", fixture("slim/Europe/Berlin"));
	setenv("TZ", path, 1);
	ck_assert_int_eq(tz_open(&z, "local", err), 0);
	ck_assert_int_eq(tz_utcoff(z, 1688169600), 7200);
	tz_free(z);
	ck_assert_int_eq(tz_open(&z, path, err), -1);
	snprintf(path, sizeof path, ":%s", fixture("bad/truncated"));
	setenv("TZ", path, 1);
	ck_assert_int_eq(tz_open(&z, "local", err), -1);
	snprintf(want, sizeof want, "TZ=%s: counts exceed the file size",
	    path);
	ck_assert_str_eq(err, want);
	unsetenv("TZ");
	setenv("TZDIR", fixture("bad"), 1);
	ck_assert_int_eq(tz_open(&z, "order", err), -1);
	ck_assert_str_eq(err, "order: transitions out of order");
	unsetenv("TZDIR");
}
END_TEST

START_TEST(test_isutc)
{
	static const struct {
		const char	*s;
		int		 utc;
	} u[] = { { "UTC0", 1 }, { "<-00>0", 1 }, { "GMT0BST", 0 },
	    { "EST5", 0 }, { "UTC0XXX0,M1.1.0,M2.1.0", 0 } };
	struct tz *z;
	char err[DUO_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof u / sizeof u[0]; i++) {
		ck_assert_int_eq(tz_posix(&z, u[i].s, err), 0);
		ck_assert_msg(tz_isutc(z) == u[i].utc, "%s", u[i].s);
		tz_free(z);
	}
	ck_assert_int_eq(tz_open(&z, "utc", err), 0);
	ck_assert_int_eq(tz_isutc(z), 1);
	tz_free(z);
	z = loadfix("fat/Europe/Berlin");
	ck_assert_int_eq(tz_isutc(z), 0);
	tz_free(z);
}
END_TEST

/* fmt_zone and fmt_utcoff's span cache, in order and shuffled. */
START_TEST(test_fmt)
{
	struct fmt f;
	char err[DUO_ERRLEN];
	size_t i, k, n = 0, step = _i == 0 ? 1 : 7919;

	setenv("TZDIR", fixture("slim"), 1);
	ck_assert_int_eq(fmt_zone("Australia/Lord_Howe", err), 0);
	fmt_init(&f, FMT_MPE, 0, 0);
	for (i = 0, k = 0; i < NEXPECT; i++, k = (k + step) % NEXPECT) {
		if (strcmp(expect[k].zone, "Australia/Lord_Howe") != 0)
			continue;
		ck_assert_msg(fmt_utcoff(&f, expect[k].t) == expect[k].off,
		    "t=%lld", expect[k].t);
		n++;
	}
	ck_assert(n > 100);
	fmt_free(&f);
	ck_assert_int_eq(fmt_zone("utc", err), 1);
	ck_assert_int_eq(fmt_zone("Nowhere/Else", err), -1);
	ck_assert_str_eq(err, "Nowhere/Else: unknown time zone");
	unsetenv("TZDIR");
}
END_TEST

static Suite *
tz_suite(void)
{
	Suite *s = suite_create("tz");
	TCase *tc = tcase_create("tz");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fat);
	tcase_add_test(tc, test_slim);
	tcase_add_test(tc, test_v1);
	tcase_add_loop_test(tc, test_posix, 0, NPOSIX);
	tcase_add_test(tc, test_allyear);
	tcase_add_test(tc, test_newyear);
	tcase_add_loop_test(tc, test_posix_bad, 0,
	    sizeof badposix / sizeof badposix[0]);
	tcase_add_loop_test(tc, test_bad, 0, sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, test_prefix);
	tcase_add_loop_test(tc, test_flip, 0, 2);
	tcase_add_loop_test(tc, test_spans, 0, 3);
	tcase_add_loop_test(tc, test_names, 0, sizeof names / sizeof names[0]);
	tcase_add_loop_test(tc, test_open, 0, sizeof opens / sizeof opens[0]);
	tcase_add_test(tc, test_open_files);
	tcase_add_test(tc, test_isutc);
	tcase_add_loop_test(tc, test_fmt, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tz_suite());
	int nf;

	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
