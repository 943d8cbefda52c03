/*
 * check_ckpt: the stream protocol parser, event times, file names, and
 * the commit protocol on real files in a mkdtemp directory (crashes are
 * simulated by a hook that calls _exit in a forked child).
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../../lib/duo.h"

#define BEGIN(c) "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"auth\"," \
	"\"host\":\"API-x.example\",\"cursor\":" c "}\n"
#define MARK(c, n) "{\"@duo\":\"mark\",\"cursor\":" c ",\"n\":" #n "}\n"
#define END(c, n) "{\"@duo\":\"end\",\"cursor\":" c ",\"n\":" #n "}\n"
#define EXIT(s) "{\"@duo\":\"exit\",\"status\":" #s "}\n"
#define CUR(n) "{\"kind\":\"auth\",\"min\":" #n "}"
#define EMPTYSHA \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The fixed clock of every test: 2024-05-01T18:45:07Z. */
static int64_t
fixed_clock(void)
{
	return 1714589107000LL;
}

static char tmpl[64];

static void
rmtree(const char *dir)
{
	struct dirent *d;
	char p[512];
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, d->d_name);
		if (unlink(p) == -1)
			rmtree(p);
	}
	closedir(dp);
	rmdir(dir);
}

static void
setup(void)
{
	snprintf(tmpl, sizeof tmpl, "%s/check_ckpt.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
}

static void
teardown(void)
{
	rmtree(tmpl);
}

static char *
p(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", tmpl, name);
	return buf[i];
}

static int
open_ck(struct ckpt *ck, const char *kind)
{
	char err[DUO_ERRLEN];
	int rc;

	rc = ckpt_open(ck, p("state"), kind, err);
	ck->clock = fixed_clock;
	return rc;
}

/* A descriptor reading the stream (from a scratch file). */
static int
stream_fd(const char *stream)
{
	char name[600];
	FILE *fp;
	int fd;

	snprintf(name, sizeof name, "%s/stream.in", tmpl);
	ck_assert_ptr_nonnull(fp = fopen(name, "w"));
	fputs(stream, fp);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_ge(fd = open(name, O_RDONLY), 0);
	unlink(name);
	return fd;
}

/* Commit a stream given as a string; err gets the message. */
static int
commit_kind(const char *kind, const char *stream, const char *append,
    long long maxrec, int health, char *err)
{
	struct ckpt_opts o;
	struct ckpt ck;
	int fd, rc;

	memset(&o, 0, sizeof o);
	if (append != NULL)
		o.append = p(append);
	else
		o.outdir = p("out");
	o.maxrec = maxrec;
	o.health = health;
	ck_assert_int_eq(open_ck(&ck, kind), 0);
	fd = stream_fd(stream);
	err[0] = '\0';
	rc = ckpt_commit(&ck, fd, &o, err);
	close(fd);
	ckpt_close(&ck);
	return rc;
}

static int
commit(const char *stream, const char *append, long long maxrec, char *err)
{
	return commit_kind("auth", stream, append, maxrec, 0, err);
}

static void
slurp(const char *path, struct buf *b)
{
	FILE *fp;
	int c;

	buf_reset(b);
	xbuf_add(b, "", 0);
	if ((fp = fopen(path, "r")) == NULL)
		return;
	while ((c = getc(fp)) != EOF)
		xbuf_addc(b, c);
	fclose(fp);
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Concatenate the *.log files of out/ in name order into b; return how
 * many there are.  Fails the test if a file not ending in .log is not a
 * hidden temp file.
 */
static int
published(struct buf *b)
{
	struct dirent *d;
	struct buf f;
	char *names[256];
	int n = 0, i;
	DIR *dp;

	buf_reset(b);
	xbuf_add(b, "", 0);
	buf_init(&f);
	if ((dp = opendir(p("out"))) == NULL)
		return 0;
	while ((d = readdir(dp)) != NULL) {
		size_t l = strlen(d->d_name);

		if (l > 4 && strcmp(d->d_name + l - 4, ".log") == 0) {
			ck_assert_int_lt(n, 256);
			names[n++] = xstrdup(d->d_name);
		}
	}
	closedir(dp);
	qsort(names, (size_t)n, sizeof names[0], cmpstr);
	for (i = 0; i < n; i++) {
		char q[600];

		snprintf(q, sizeof q, "%s/%s", p("out"), names[i]);
		slurp(q, &f);
		xbuf_add(b, f.p, f.len);
		free(names[i]);
	}
	buf_free(&f);
	return n;
}

static void
stored(struct buf *b)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];

	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_msg(ckpt_get(&ck, err) == 0, "get: %s", err);
	buf_reset(b);
	xbuf_add(b, ck.cursor.p, ck.cursor.len);
	ckpt_close(&ck);
}

/* ---- pure functions ---- */

static const struct {
	const char	*s;
	int		 ok;
} kindtab[] = {
	{ "auth", 1 }, { "admin", 1 }, { "telephony", 1 }, { "activity", 1 },
	{ "offline", 1 }, { "trustmonitor", 1 }, { "Auth", 0 }, { "", 0 },
	{ "auth/../x", 0 }, { "authx", 0 },
};

START_TEST(test_kind)
{
	ck_assert_int_eq(ckpt_kind_ok(kindtab[_i].s), kindtab[_i].ok);
}
END_TEST

/* Expected values from date(1): date -u -d "$s" +%s. */
static const struct {
	const char	*s;
	int		 ok;
	int64_t		 t;
} isotab[] = {
	{ "2024-05-01T18:45:07Z", 1, 1714589107 },
	{ "2024-05-01T13:45:07-05:00", 1, 1714589107 },
	{ "2020-02-13T18:56:20.351346+00:00", 1, 1581620180 },
	{ "2024-03-10T02:30:00+05:30", 1, 1710018000 },
	{ "2000-02-29T23:59:59Z", 1, 951868799 },
	{ "2024-05-01 18:45:07Z", 1, 1714589107 },
	{ "2024-05-01T18:45:07", 0, 0 },
	{ "2024-13-01T18:45:07Z", 0, 0 },
	{ "2024-05-01T18:45:07Zx", 0, 0 },
	{ "2024-05-01T18:45Z", 0, 0 },
	{ "", 0, 0 },
};

START_TEST(test_iso)
{
	int64_t t = -1;
	int r;

	r = ckpt_parse_iso(isotab[_i].s, strlen(isotab[_i].s), &t);
	ck_assert_int_eq(r, isotab[_i].ok ? 0 : -1);
	if (isotab[_i].ok)
		ck_assert_int_eq(t, isotab[_i].t);
}
END_TEST

static const struct {
	const char	*line;
	int		 found;
	int64_t		 t;
} timetab[] = {
	{ "2024-05-01 13:45:07 DUO AUTH |utc=2024-05-01T18:45:07Z|txid=a|",
	    1, 1714589107 },
	{ "utc=\"2024-05-01T18:45:07Z\" txid=\"a\"", 1, 1714589107 },
	{ "x=1 utc=\"2024-05-01T18:45:08Z\"", 1, 1714589108 },
	{ "{\"duo_time\":\"2024-05-01T13:45:07-05:00\",\"txid\":\"a\"}", 1,
	    1714589107 },
	{ "{\"isotimestamp\":\"2020-02-13T18:56:20.351346+00:00\","
	    "\"timestamp\":1}", 1, 1581620180 },
	{ "{\"ts\":\"2023-03-21T22:34:49.466370+00:00\"}", 1, 1679438089 },
	{ "{\"timestamp\":1579878582,\"x\":\"utc=1\"}", 1, 1579878582 },
	{ "{\"timestamp\":1714589107123}", 1, 1714589107 },
	{ "{\"surfaced_timestamp\":1714589107999}", 1, 1714589107 },
	{ "{\"a\":1}", 0, 0 },
	{ "{not json", 0, 0 },
	{ "1714589107 host=\"x\",eventtype=\"authentication\"", 1,
	    1714589107 },
	{ "CEF:0|Duo|x|1|auth|a|3|rt=1714589107000 suser=x", 1, 1714589107 },
	{ "nothing here xutc=2024-05-01T18:45:07Z", 0, 0 },
	{ "", 0, 0 },
};

START_TEST(test_event_time)
{
	struct json j;
	int64_t t = -1;
	int r;

	json_init(&j);
	r = ckpt_event_time(&j, timetab[_i].line, strlen(timetab[_i].line),
	    &t);
	ck_assert_msg(r == timetab[_i].found, "line %d: %s", _i,
	    timetab[_i].line);
	if (r)
		ck_assert_int_eq(t, timetab[_i].t);
	json_free(&j);
}
END_TEST

static const struct {
	const char	*line;
	int		 ok;
	int		 type;
	const char	*cursor;
	long long	 n;
	const char	*host;
} ctltab[] = {
	{ "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"auth\",\"host\":\"API-X.d\","
	    "\"cursor\":{ \"a\" : [1, 2] }}", 1, CKPT_BEGIN, "{\"a\":[1,2]}",
	    0, "api-x.d" },
	{ "{\"@duo\":\"mark\",\"cursor\":{\"b\":\"x y\"},\"n\":1000}", 1,
	    CKPT_MARK, "{\"b\":\"x y\"}", 1000, NULL },
	{ "{\"@duo\":\"end\",\"cursor\":{},\"n\":0}", 1, CKPT_END, "{}", 0,
	    NULL },
	{ "{\"@duo\":\"mark\",\"cursor\":{},\"n\":-1}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"mark\",\"cursor\":{}}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"mark\",\"cursor\":[],\"n\":1}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"pause\",\"cursor\":{},\"n\":1}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"begin\",\"v\":1,\"cursor\":{}}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"end\",\"cursor\":{},\"n\":1", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":1,\"cursor\":{},\"n\":1}", 0, 0, NULL, 0, NULL },
	/* Empty strings where names belong (they once crashed it). */
	{ "{\"@duo\":\"\",\"cursor\":{}}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"\",\"host\":\"h\","
	    "\"cursor\":{}}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"auth\",\"host\":\"\","
	    "\"cursor\":{}}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"a\\u0000\",\"host\":\"h\","
	    "\"cursor\":{}}", 0, 0, NULL, 0, NULL },
	/* The exit line. */
	{ "{\"@duo\":\"exit\",\"status\":3}", 1, CKPT_EXIT, "", 0, NULL },
	{ "{\"@duo\":\"exit\",\"status\":0,\"more\":true}", 1, CKPT_EXIT,
	    "", 0, NULL },
	{ "{\"@duo\":\"exit\",\"status\":4}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"exit\"}", 0, 0, NULL, 0, NULL },
	{ "{\"@duo\":\"exit\",\"status\":0,\"more\":1}", 0, 0, NULL, 0,
	    NULL },
};

START_TEST(test_ctl)
{
	struct ckpt_ctl c;
	struct json j;
	char err[DUO_ERRLEN];
	int r;

	ckpt_ctl_init(&c);
	json_init(&j);
	ck_assert(ckpt_ctl_is(ctltab[_i].line, strlen(ctltab[_i].line)));
	r = ckpt_ctl_parse(&c, &j, ctltab[_i].line, strlen(ctltab[_i].line),
	    err);
	ck_assert_int_eq(r, ctltab[_i].ok ? 0 : -1);
	if (ctltab[_i].ok) {
		ck_assert_int_eq(c.type, ctltab[_i].type);
		ck_assert_str_eq(c.cursor.p, ctltab[_i].cursor);
		ck_assert_int_eq(c.n, ctltab[_i].n);
		if (ctltab[_i].host != NULL)
			ck_assert_str_eq(c.host.p, ctltab[_i].host);
	}
	ckpt_ctl_free(&c);
	json_free(&j);
}
END_TEST

START_TEST(test_ctl_exit)
{
	struct ckpt_ctl c;
	struct json j;
	char err[DUO_ERRLEN];
	const char *l = "{\"@duo\":\"exit\",\"status\":1,\"more\":true,"
	    "\"x\":\"kept by duo-fmt\"}";

	ckpt_ctl_init(&c);
	json_init(&j);
	ck_assert_int_eq(ckpt_ctl_parse(&c, &j, l, strlen(l), err), 0);
	ck_assert_int_eq(c.type, CKPT_EXIT);
	ck_assert_int_eq(c.status, 1);
	ck_assert_int_eq(c.more, 1);
	ckpt_ctl_free(&c);
	json_free(&j);
}
END_TEST

/* Cursors checked with lib/cursor; now is 2024-05-01T18:45:07Z. */
static const struct {
	const char	*kind;
	const char	*cursor;
	int		 fresh_ok;
	int		 ok;
	const char	*msg;
} curtab[] = {
	{ "auth", "{\"kind\":\"auth\",\"min\":1714500000000}", 0, 1, NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":1714500000000,"
	    "\"max\":1714589000000,\"next\":\"1,x\"}", 0, 1, NULL },
	{ "auth", "{}", 1, 1, NULL },
	{ "auth", "{}", 0, 0, "empty cursor" },
	{ "auth", "{\"kind\":\"admin\",\"sec\":1714500000}", 0, 0,
	    "of kind admin" },
	{ "auth", "{\"p\":1}", 0, 0, "bad cursor" },
	{ "auth", "{\"kind\":\"auth\",\"min\":\"x\"}", 0, 0, "bad cursor" },
	/* The injected mark of issue 11: the year 2100. */
	{ "auth", "{\"kind\":\"auth\",\"min\":4102444800000}", 0, 0,
	    "in the future (2100-01-01T00:00:00Z)" },
	{ "auth", "{\"kind\":\"auth\",\"min\":1714500000000,"
	    "\"max\":4102444800000}", 0, 0, "in the future" },
	/* Within the skew (5 minutes), and just past it. */
	{ "auth", "{\"kind\":\"auth\",\"min\":1714589407000}", 0, 1, NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":1714589408000}", 0, 0,
	    "in the future" },
	{ "admin", "{\"kind\":\"admin\",\"sec\":1714589000,\"seen\":[]}", 0, 1,
	    NULL },
	{ "admin", "{\"kind\":\"admin\",\"sec\":4102444800}", 0, 0,
	    "in the future" },
	{ "offline", "{\"kind\":\"offline\",\"sec\":1}", 0, 1, NULL },
	{ "trustmonitor", "{\"kind\":\"trustmonitor\",\"min\":1}", 0, 1, NULL },
};

START_TEST(test_cursor_check)
{
	char err[DUO_ERRLEN];
	int r;

	err[0] = '\0';
	r = ckpt_cursor_check(curtab[_i].kind, curtab[_i].cursor,
	    strlen(curtab[_i].cursor), curtab[_i].fresh_ok, 1714589107000LL,
	    err);
	ck_assert_msg(r == (curtab[_i].ok ? 0 : -1), "%d: %s", _i, err);
	if (curtab[_i].msg != NULL)
		ck_assert_msg(strstr(err, curtab[_i].msg) != NULL, "%d: %s",
		    _i, err);
}
END_TEST

/* 0 < 3 < 1 < 2 */
static const int worsetab[][3] = {
	{ 0, 0, 0 }, { 0, 3, 3 }, { 3, 0, 3 }, { 3, 1, 1 }, { 1, 3, 1 },
	{ 1, 2, 2 }, { 2, 1, 2 }, { 2, 3, 2 }, { 0, 2, 2 }, { 3, 3, 3 },
};

START_TEST(test_worse)
{
	ck_assert_int_eq(ckpt_worse(worsetab[_i][0], worsetab[_i][1]),
	    worsetab[_i][2]);
}
END_TEST

START_TEST(test_health)
{
	struct buf b;

	buf_init(&b);
	ckpt_health(&b, "auth", 1714589107, 7200, 0, 0, 123, 1714588651,
	    "api-x|y%.example");
	ck_assert_str_eq(b.p, "2024-05-01 20:45:07 DUO STATUS "
	    "|utc=2024-05-01T18:45:07Z|kind=auth|result=ok|status=0|"
	    "records=123|lag=456|newest=2024-05-01T18:37:31Z|more=0|"
	    "host=api-x%7Cy%25.example|\n");
	buf_reset(&b);
	ckpt_health(&b, "admin", 1714589107, -18000, 0, 1, 0, -1, "h");
	ck_assert_str_eq(b.p, "2024-05-01 13:45:07 DUO STATUS "
	    "|utc=2024-05-01T18:45:07Z|kind=admin|result=more|status=0|"
	    "records=0|lag=|newest=|more=1|host=h|\n");
	buf_reset(&b);
	ckpt_health(&b, "auth", 1714589107, 0, 3, 0, 5, -1, "h");
	ck_assert_ptr_nonnull(strstr(b.p, "|result=temp|status=3|"));
	buf_reset(&b);
	ckpt_health(&b, "auth", 1714589107, 0, 1, 1, 5, -1, "h");
	ck_assert_ptr_nonnull(strstr(b.p, "|result=fail|status=1|"));
	buf_reset(&b);
	ckpt_health(&b, "auth", 1714589107, 0, 2, 0, 5, -1, "h");
	ck_assert_ptr_nonnull(strstr(b.p, "|result=usage|status=2|"));
	buf_free(&b);
}
END_TEST

/* The line reader keeps at most CKPT_MAXLINE bytes of a line. */
START_TEST(test_in_long)
{
	struct ckpt_in in;
	const char *l;
	char name[] = "/tmp/check_ckpt_in.XXXXXX";
	size_t n, cap, i;
	int fd, flags;
	FILE *fp;

	ck_assert_int_ge(fd = mkstemp(name), 0);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	fputs("short\n", fp);
	for (i = 0; i < 3 * (size_t)CKPT_MAXLINE + 17; i++)
		putc('a' + (int)(i % 26), fp);
	fputs("\nafter\nexactly", fp);
	for (i = 0; i < (size_t)CKPT_MAXLINE - 7; i++)
		putc('b', fp);
	fputs("\nlast", fp);
	fclose(fp);
	ck_assert_int_ge(fd = open(name, O_RDONLY), 0);
	unlink(name);
	ckpt_in_init(&in, fd, NULL, 0);
	cap = in.cap;
	ck_assert_int_eq(ckpt_in_line(&in, &l, &n, &flags), 1);
	ck_assert(n == 5 && memcmp(l, "short", 5) == 0 && flags == 0);
	ck_assert_int_eq(ckpt_in_line(&in, &l, &n, &flags), 1);
	ck_assert_int_eq(flags, LINE_LONG);
	ck_assert_uint_eq(n, CKPT_MAXLINE);
	ck_assert(memcmp(l, "abcdef", 6) == 0);
	ck_assert_int_eq(ckpt_in_line(&in, &l, &n, &flags), 1);
	ck_assert(n == 5 && memcmp(l, "after", 5) == 0 && flags == 0);
	/* A line of exactly CKPT_MAXLINE bytes is whole. */
	ck_assert_int_eq(ckpt_in_line(&in, &l, &n, &flags), 1);
	ck_assert_int_eq(flags, 0);
	ck_assert_uint_eq(n, CKPT_MAXLINE);
	ck_assert_int_eq(ckpt_in_line(&in, &l, &n, &flags), 1);
	ck_assert(n == 4 && memcmp(l, "last", 4) == 0);
	ck_assert_int_eq(flags, LINE_NOEOL);
	ck_assert_int_eq(ckpt_in_line(&in, &l, &n, &flags), 0);
	ck_assert_uint_eq(in.cap, cap);
	ckpt_in_free(&in);
	close(fd);
}
END_TEST

START_TEST(test_ctl_is)
{
	ck_assert(!ckpt_ctl_is("{\"@duo\" :", 9));
	ck_assert(!ckpt_ctl_is(" {\"@duo\":", 9));
	ck_assert(!ckpt_ctl_is("{\"@duo\"", 7));
	ck_assert(ckpt_ctl_is("{\"@duo\":", 8));
}
END_TEST

START_TEST(test_filename)
{
	struct buf b;
	int64_t t;

	buf_init(&b);
	ckpt_filename(&b, "auth", 1714589107, 12);
	ck_assert_str_eq(b.p, "duo-auth-20240501T184507Z-000012.log");
	ck_assert_int_eq(ckpt_filename_time(b.p, "auth", &t), 0);
	ck_assert_int_eq(t, 1714589107);
	ck_assert_int_eq(ckpt_filename_time(b.p, "admin", &t), -1);
	ck_assert_int_eq(ckpt_filename_time(
	    "duo-auth-20240501T184507Z-000012.log.tmp", "auth", &t), -1);
	ck_assert_int_eq(ckpt_filename_time(
	    "duo-auth-20240501T184507Z-00x012.log", "auth", &t), -1);
	ck_assert_int_eq(ckpt_filename_time(
	    "duo-auth-20240501X184507Z-000012.log", "auth", &t), -1);
	ck_assert_int_eq(ckpt_filename_time(
	    "duo-auth-20240501T184507Z-1234567.log", "auth", &t), 0);
	buf_free(&b);
}
END_TEST

/* ---- the commit protocol on files ---- */

#define STREAM3 BEGIN("{}") "a1\n" "a2\n" MARK("{\"kind\":\"auth\",\"min\":1}", 2) "a3\n" \
	END("{\"kind\":\"auth\",\"min\":2}", 1) EXIT(0)

START_TEST(test_commit_ok)
{
	struct buf b, c;
	char err[DUO_ERRLEN];

	buf_init(&b);
	buf_init(&c);
	ck_assert_msg(commit(STREAM3, NULL, 0, err) == 0, "%s", err);
	ck_assert_int_eq(published(&b), 1);
	ck_assert_str_eq(b.p, "a1\na2\na3\n");
	stored(&c);
	ck_assert_str_eq(c.p, "{\"kind\":\"auth\",\"min\":2}");
	slurp(p("out/duo-auth-20240501T184507Z-000001.log"), &b);
	ck_assert_str_eq(b.p, "a1\na2\na3\n");
	slurp(p("state/host"), &b);
	ck_assert_str_eq(b.p, "api-x.example\n");
	slurp(p("state/auth.cursor"), &b);
	ck_assert_str_eq(b.p, "{\"v\":1,\"seq\":1,\"cursor\":{\"kind\":\"auth\",\"min\":2}}\n");
	slurp(p("state/auth.ledger"), &b);
	ck_assert(strstr(b.p, "{\"v\":1,\"op\":\"commit\",\"seq\":1,"
	    "\"time\":\"2024-05-01T18:45:07Z\",\"from\":{},\"to\":{\"kind\":\"auth\",\"min\":2},"
	    "\"n\":3,\"mode\":\"file\",\"file\":\"") == b.p);
	/* One ledger line. */
	ck_assert_ptr_eq(strchr(b.p, '\n'), b.p + b.len - 1);
	/* The same stream again is stale now. */
	ck_assert_int_eq(commit(STREAM3, NULL, 0, err), 1);
	ck_assert_ptr_nonnull(strstr(err, "stale cursor"));
	ck_assert_int_eq(published(&b), 1);
	buf_free(&b);
	buf_free(&c);
}
END_TEST

START_TEST(test_commit_sha)
{
	struct buf b;
	char err[DUO_ERRLEN];

	buf_init(&b);
	ck_assert_int_eq(commit(STREAM3, NULL, 0, err), 0);
	slurp(p("state/auth.ledger"), &b);
	/* printf 'a1\na2\na3\n' | sha256sum */
	ck_assert_msg(strstr(b.p, "\"offset\":0,\"bytes\":9,\"sha256\":"
	    "\"f57874560d1b226ce2a6d8e4d9dab1145dc81df75e338d26000dc541d62328d2"
	    "\",\"newest\":null}\n") != NULL, "%s", b.p);
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*stream;
	int		 rc;
	const char	*out;		/* published bytes */
	const char	*cursor;	/* stored afterwards */
	const char	*msg;		/* in the message */
} streams[] = {
	/* No end: up to the last mark, exit 3. */
	{ BEGIN("{}") "a1\n" MARK("{\"kind\":\"auth\",\"min\":1}", 1) "a2\n" "a3\n", 3, "a1\n",
	    "{\"kind\":\"auth\",\"min\":1}", "without an exit line" },
	/* A cut last line is dropped. */
	{ BEGIN("{}") "a1\n" MARK("{\"kind\":\"auth\",\"min\":1}", 1) "a2", 3, "a1\n",
	    "{\"kind\":\"auth\",\"min\":1}", "without an exit line" },
	/* Count mismatch: up to the previous mark, exit 1. */
	{ BEGIN("{}") "a1\n" MARK("{\"kind\":\"auth\",\"min\":1}", 1) "a2\n" "a3\n"
	    MARK("{\"kind\":\"auth\",\"min\":2}", 3) "a4\n" END("{\"kind\":\"auth\",\"min\":3}", 1), 1, "a1\n",
	    "{\"kind\":\"auth\",\"min\":1}", "counts 3 lines but 2" },
	{ BEGIN("{}") "a1\n" END("{\"kind\":\"auth\",\"min\":1}", 0), 1, "", "{}", "counts 0" },
	/* No begin. */
	{ "a1\n" END("{}", 1), 1, "", "{}", "run duo-get with -C" },
	{ MARK("{}", 0), 1, "", "{}", "run duo-get with -C" },
	/* Empty stream: temporary. */
	{ "", 3, "", "{}", "empty stream" },
	/* Stale cursor, other kind, bad version. */
	{ BEGIN("{\"kind\":\"auth\",\"min\":9}") "a1\n" END("{\"kind\":\"auth\",\"min\":10}", 1), 1, "", "{}",
	    "stale cursor" },
	{ "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"admin\",\"host\":\"h\","
	    "\"cursor\":{}}\n" "a\n" END("{\"kind\":\"auth\",\"min\":1}", 1), 1, "", "{}",
	    "for kind admin" },
	{ "{\"@duo\":\"begin\",\"v\":2,\"kind\":\"auth\",\"host\":\"h\","
	    "\"cursor\":{}}\n" "a\n" END("{\"kind\":\"auth\",\"min\":1}", 1), 1, "", "{}",
	    "version 2" },
	/* Garbage control line: up to the previous mark. */
	{ BEGIN("{}") "a1\n" MARK("{\"kind\":\"auth\",\"min\":1}", 1) "a2\n"
	    "{\"@duo\":\"mark\",\"cursor\":{\n" END("{\"kind\":\"auth\",\"min\":2}", 0), 1,
	    "a1\n", "{\"kind\":\"auth\",\"min\":1}", "line 5" },
	/* A second begin, data after end. */
	{ BEGIN("{}") "a1\n" MARK("{\"kind\":\"auth\",\"min\":1}", 1) BEGIN("{}"), 1, "a1\n",
	    "{\"kind\":\"auth\",\"min\":1}", "second begin" },
	{ BEGIN("{}") "a1\n" END("{\"kind\":\"auth\",\"min\":1}", 1) "a2\n", 1, "a1\n",
	    "{\"kind\":\"auth\",\"min\":1}", "after the end" },
	/* No data, new cursor: the cursor moves, no file. */
	{ BEGIN("{}") END("{\"kind\":\"auth\",\"min\":1}", 0) EXIT(0), 0, "", "{\"kind\":\"auth\",\"min\":1}", NULL },
	/* Cursors compare after compaction. */
	{ BEGIN("{ }") "a1\n" END("{\"kind\":\"auth\",\"min\":1}", 1) EXIT(0), 0, "a1\n", "{\"kind\":\"auth\",\"min\":1}",
	    NULL },
	/* Control-looking data is control: a data line may not start so. */
	{ BEGIN("{}") "{\"@duo\" :1}\n" END("{\"kind\":\"auth\",\"min\":1}", 1) EXIT(0), 0,
	    "{\"@duo\" :1}\n", "{\"kind\":\"auth\",\"min\":1}", NULL },
};

START_TEST(test_streams)
{
	struct buf b;
	char err[DUO_ERRLEN];
	int rc;

	buf_init(&b);
	rc = commit(streams[_i].stream, NULL, 0, err);
	ck_assert_msg(rc == streams[_i].rc, "stream %d: rc %d: %s", _i, rc,
	    err);
	if (streams[_i].msg != NULL)
		ck_assert_msg(strstr(err, streams[_i].msg) != NULL,
		    "stream %d: %s", _i, err);
	published(&b);
	ck_assert_str_eq(b.p, streams[_i].out);
	stored(&b);
	ck_assert_str_eq(b.p, streams[_i].cursor);
	buf_free(&b);
}
END_TEST

START_TEST(test_other_host)
{
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(commit(BEGIN("{}") END("{\"kind\":\"auth\",\"min\":1}", 0)
	    EXIT(0), NULL, 0, err), 0);
	ck_assert_int_eq(commit("{\"@duo\":\"begin\",\"v\":1,\"kind\":\"auth\","
	    "\"host\":\"api-y.example\",\"cursor\":{\"kind\":\"auth\",\"min\":1}}\n" "a\n"
	    END("{\"kind\":\"auth\",\"min\":2}", 1), NULL, 0, err), 1);
	ck_assert_ptr_nonnull(strstr(err, "api-y.example"));
	ck_assert_int_eq(published(&b), 0);
	stored(&b);
	ck_assert_str_eq(b.p, "{\"kind\":\"auth\",\"min\":1}");
	buf_free(&b);
}
END_TEST

START_TEST(test_progressive)
{
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(commit(BEGIN("{}") "a1\n" MARK("{\"kind\":\"auth\",\"min\":1}", 1)
	    "a2\n" MARK("{\"kind\":\"auth\",\"min\":2}", 1) "a3\n" "a4\n" MARK("{\"kind\":\"auth\",\"min\":3}", 2)
	    "a5\n" END("{\"kind\":\"auth\",\"min\":4}", 1) EXIT(0), NULL, 2, err),
	    0);
	/* Published at p2 (2 records), p3 (2), end (1). */
	ck_assert_int_eq(published(&b), 3);
	ck_assert_str_eq(b.p, "a1\na2\na3\na4\na5\n");
	slurp(p("out/duo-auth-20240501T184507Z-000002.log"), &b);
	ck_assert_str_eq(b.p, "a3\na4\n");
	stored(&b);
	ck_assert_str_eq(b.p, "{\"kind\":\"auth\",\"min\":4}");
	/* Without end, the progressive parts stay published. */
	ck_assert_int_eq(commit(BEGIN("{\"kind\":\"auth\",\"min\":4}") "b1\n" "b2\n"
	    MARK("{\"kind\":\"auth\",\"min\":5}", 2) "b3\n", NULL, 2, err), 3);
	ck_assert_int_eq(published(&b), 4);
	ck_assert_str_eq(b.p, "a1\na2\na3\na4\na5\nb1\nb2\n");
	buf_free(&b);
}
END_TEST

START_TEST(test_append)
{
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(commit(STREAM3, "sink.log", 0, err), 0);
	ck_assert_int_eq(commit(BEGIN("{\"kind\":\"auth\",\"min\":2}") "a4\n" MARK("{\"kind\":\"auth\",\"min\":3}", 1)
	    "a5\n", "sink.log", 0, err), 3);
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "a1\na2\na3\na4\n");
	slurp(p("state/auth.ledger"), &b);
	ck_assert_ptr_nonnull(strstr(b.p, "\"mode\":\"append\""));
	ck_assert_ptr_nonnull(strstr(b.p, "\"offset\":9,\"bytes\":3,"));
	ck_assert_int_eq(access(p("state/auth.spool"), F_OK), -1);
	buf_free(&b);
}
END_TEST

START_TEST(test_set)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_set(&ck, "{ \"kind\":\"auth\", \"min\" : 7 }", err), 0);
	ckpt_close(&ck);
	stored(&b);
	ck_assert_str_eq(b.p, "{\"kind\":\"auth\",\"min\":7}");
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_set(&ck, "[1]", err), 2);
	ck_assert_int_eq(ckpt_set(&ck, "{", err), 2);
	ckpt_close(&ck);
	ck_assert_int_eq(commit(BEGIN("{\"kind\":\"auth\",\"min\":7}") "x\n"
	    END("{\"kind\":\"auth\",\"min\":8}", 1) EXIT(0), NULL, 0, err), 0);
	slurp(p("state/auth.ledger"), &b);
	ck_assert_ptr_nonnull(strstr(b.p, "{\"v\":1,\"op\":\"set\",\"seq\":1,"
	    "\"time\":\"2024-05-01T18:45:07Z\",\"from\":null,\"to\":"
	    "{\"kind\":\"auth\",\"min\":7},\"n\":0,\"mode\":\"none\",\"file\":null"));
	ck_assert_ptr_nonnull(strstr(b.p, "\"op\":\"commit\",\"seq\":2,"));
	buf_free(&b);
}
END_TEST

START_TEST(test_status)
{
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(commit(BEGIN("{}") "2024-05-01 13:45:00 DUO AUTH "
	    "|utc=2024-05-01T18:45:00Z|\n" "{\"timestamp\":1714589000}\n"
	    END("{\"kind\":\"auth\",\"min\":1}", 2) EXIT(0), NULL, 0, err), 0);
	ck_assert_int_eq(ckpt_status(p("state"), NULL, 1714589107000LL, -1,
	    &b, err), 0);
	ck_assert_str_eq(b.p, "auth host=api-x.example "
	    "last_commit=2024-05-01T18:45:07Z commits=1 records=2 files=1 "
	    "newest=2024-05-01T18:45:00Z lag=7s "
	    "last_run=2024-05-01T18:45:07Z result=ok "
	    "cursor={\"kind\":\"auth\",\"min\":1}\n");
	buf_reset(&b);
	ck_assert_int_eq(ckpt_status(p("state"), "admin", 0, -1, &b, err), 0);
	ck_assert_str_eq(b.p, "admin host=api-x.example last_commit=- "
	    "commits=0 records=0 files=0 newest=- lag=- last_run=- result=- "
	    "cursor={}\n");
	ck_assert_int_eq(ckpt_status(p("state"), "nope", 0, -1, &b, err), 2);
	ck_assert_int_eq(ckpt_status(p("nodir"), NULL, 0, -1, &b, err), 1);
	/* -L: lag 7 s against 7 and 6. */
	buf_reset(&b);
	ck_assert_int_eq(ckpt_status(p("state"), NULL, 1714589107000LL, 7,
	    &b, err), 0);
	ck_assert_int_eq(ckpt_status(p("state"), NULL, 1714589107000LL, 6,
	    &b, err), 1);
	ck_assert_msg(strstr(err, "auth: lag 7s exceeds") != NULL, "%s", err);
	buf_free(&b);
}
END_TEST

/* ---- corruption ---- */

static void
put(const char *name, const char *text)
{
	FILE *fp;

	ck_assert_ptr_nonnull(fp = fopen(p(name), "w"));
	fputs(text, fp);
	fclose(fp);
}

static const struct {
	const char	*file;
	const char	*text;		/* NULL: remove it */
	const char	*msg;
} corrupt[] = {
	{ "state/auth.cursor", "{\"v\":1,\"seq\":1,\"cursor\":{\"kind\":\"auth\",\"min\":1}",
	    "truncated" },
	{ "state/auth.cursor", "", "truncated" },
	{ "state/auth.cursor", "garbage\n", "corrupt state" },
	{ "state/auth.cursor", "{\"v\":1,\"seq\":1}\n", "corrupt state" },
	{ "state/auth.cursor", "{\"v\":2,\"seq\":1,\"cursor\":{}}\n",
	    "corrupt state" },
	{ "state/auth.cursor", NULL, "state file missing" },
	{ "state/auth.cursor", "{\"v\":1,\"seq\":1,\"cursor\":{\"kind\":\"auth\",\"min\":0}}\n",
	    "does not match" },
	{ "state/auth.ledger", NULL, "ledger missing" },
	{ "state/auth.ledger", "{\"v\":1,\"op\":\"commit\"", "not complete" },
	{ "state/auth.ledger", "garbage\n", "not a ledger entry" },
	{ "state/auth.intent", "{\"v\":1,\"kind\":\"auth\"}\n",
	    "corrupt intent" },
	{ "state/auth.intent", "{\"v\":1,", "corrupt intent" },
	{ "state/host", "api x\n", "corrupt host" },
	{ "state/host", "", "corrupt host" },
};

START_TEST(test_corrupt)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(commit(BEGIN("{}") "a\n" END("{\"kind\":\"auth\",\"min\":1}", 1)
	    EXIT(0), NULL, 0, err), 0);
	if (corrupt[_i].text == NULL)
		ck_assert_int_eq(unlink(p(corrupt[_i].file)), 0);
	else
		put(corrupt[_i].file, corrupt[_i].text);
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_get(&ck, err), 1);
	ck_assert_msg(strstr(err, corrupt[_i].msg) != NULL, "%d: %s", _i,
	    err);
	ckpt_close(&ck);
	/* commit refuses too, and publishes nothing. */
	ck_assert_int_eq(commit(BEGIN("{}") "b\n" END("{\"kind\":\"auth\",\"min\":1}", 1), NULL,
	    0, err), 1);
	ck_assert_int_eq(commit(BEGIN("{\"kind\":\"auth\",\"min\":1}") "b\n" END("{\"kind\":\"auth\",\"min\":2}", 1),
	    NULL, 0, err), 1);
	ck_assert_int_eq(published(&b), 1);
	ck_assert_str_eq(b.p, "a\n");
	/* status refuses as well (but for a pending intent). */
	buf_reset(&b);
	if (strstr(corrupt[_i].file, "intent") == NULL)
		ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, -1, &b,
		    err), 1);
	buf_free(&b);
}
END_TEST

START_TEST(test_set_repairs)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(commit(BEGIN("{}") "a\n" END("{\"kind\":\"auth\",\"min\":1}", 1)
	    EXIT(0), NULL, 0, err), 0);
	put("state/auth.cursor", "garbage");
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_set(&ck, "{\"kind\":\"auth\",\"min\":1}", err), 0);
	ckpt_close(&ck);
	stored(&b);
	ck_assert_str_eq(b.p, "{\"kind\":\"auth\",\"min\":1}");
	ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, -1, &b, err), 0);
	buf_free(&b);
}
END_TEST

/* ---- crashes at every step, in a child that _exits ---- */

static int crash_step;

static void
crash_hook(int step, void *arg)
{
	(void)arg;
	if (step == crash_step)
		_exit(77);
}

static void
check_no_partial(const char *sink)
{
	struct dirent *d;
	struct buf b;
	DIR *dp;

	buf_init(&b);
	if (sink != NULL) {
		slurp(p(sink), &b);
		ck_assert(b.len == 0 || b.p[b.len - 1] == '\n');
	} else if ((dp = opendir(p("out"))) != NULL) {
		while ((d = readdir(dp)) != NULL) {
			char q[600];
			size_t l = strlen(d->d_name);

			if (l < 4 || strcmp(d->d_name + l - 4, ".log") != 0)
				continue;
			snprintf(q, sizeof q, "%s/%s", p("out"), d->d_name);
			slurp(q, &b);
			ck_assert_str_eq(b.p, "a1\na2\na3\n");
		}
		closedir(dp);
	}
	buf_free(&b);
}

static void
crash_case(int stepno, const char *sink)
{
	struct ckpt_opts o;
	struct ckpt ck;
	char err[DUO_ERRLEN];
	struct buf b;
	pid_t pid;
	int st, rc, fd;

	buf_init(&b);
	memset(&o, 0, sizeof o);
	if (sink != NULL)
		o.append = p(sink);
	else
		o.outdir = p("out");
	if (sink != NULL)
		put(sink, "old\n");
	if ((pid = fork()) == 0) {
		open_ck(&ck, "auth");
		ck.hook = crash_hook;
		crash_step = stepno;
		fd = stream_fd(STREAM3);
		_exit(ckpt_commit(&ck, fd, &o, err));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 77,
	    "step %d did not run", stepno);
	check_no_partial(NULL);
	/* Recovery: up to step 2 the commit is undone, later completed. */
	stored(&b);
	ck_assert_str_eq(b.p, stepno <= CKPT_STEP_INTENT ? "{}" :
	    "{\"kind\":\"auth\",\"min\":2}");
	check_no_partial(sink);
	rc = commit(STREAM3, sink, 0, err);
	ck_assert_int_eq(rc, stepno <= CKPT_STEP_INTENT ? 0 : 1);
	if (sink != NULL) {
		slurp(p(sink), &b);
		ck_assert_str_eq(b.p, "old\na1\na2\na3\n");
	} else {
		ck_assert_int_eq(published(&b), 1);
		ck_assert_str_eq(b.p, "a1\na2\na3\n");
	}
	ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, -1, &b, err), 0);
	slurp(p("state/auth.ledger"), &b);
	ck_assert_ptr_nonnull(strstr(b.p, "\"n\":3"));
	ck_assert_ptr_null(strstr(strstr(b.p, "\"n\":3") + 1, "\"n\":3"));
	ck_assert_int_eq(access(p("state/auth.intent"), F_OK), -1);
	buf_free(&b);
}

START_TEST(test_crash_file)
{
	crash_case(_i, NULL);
}
END_TEST

START_TEST(test_crash_append)
{
	crash_case(_i, "sink.log");
}
END_TEST

/* The -a lock file of sink (.duo-lock-HASH beside it), in buf. */
static const char *
lockname(const char *sink, char *buf, size_t sz)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen, i;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	EVP_Digest(sink, strlen(sink), md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	snprintf(buf, sz, ".duo-lock-%.16s", hex);
	return buf;
}

/*
 * An intent written by hand, with the pending-append marker a run
 * writes before it: its append left "b1\nb" (torn) behind.  Recovery
 * cuts the file back to the recorded offset and appends the spooled
 * bytes again; a spool that does not match is refused.
 */
static void
torn_intent(const char *spool, size_t ledger)
{
	char tmp[2048 + PATH_MAX], lk[64], abs[PATH_MAX];

	put("state/auth.spool", spool);
	snprintf(tmp, sizeof tmp, "{\"v\":1,\"kind\":\"auth\",\"seq\":2,"
	    "\"mode\":\"append\",\"tmp\":null,\"file\":\"%s\","
	    "\"offset\":9,\"bytes\":6,\"sha256\":\"%s\",\"ledger\":%zu,"
	    "\"cursor\":" CUR(3) ",\"entry\":{\"v\":1,\"op\":\"commit\","
	    "\"seq\":2,\"time\":\"2024-05-01T18:45:07Z\",\"from\":"
	    CUR(2) ",\"to\":" CUR(3) ",\"n\":2,\"mode\":\"append\","
	    "\"file\":\"x\",\"offset\":9,\"bytes\":6,\"sha256\":\"0\","
	    "\"newest\":null}}\n", p("sink.log"),
	    /* printf 'b1\nb2\n' | sha256sum */
	    "60f7d20526ca5e01cb32632d83777bf8bed06baeb7a53bce9e86fecaac0e3f6d",
	    ledger);
	put("state/auth.intent", tmp);
	ck_assert_ptr_nonnull(realpath(p("state"), abs));
	snprintf(tmp, sizeof tmp, "{\"v\":1,\"state\":\"%s\",\"kind\":"
	    "\"auth\",\"seq\":2,\"offset\":9}\n", abs);
	put(lockname("sink.log", lk, sizeof lk), tmp);
}

START_TEST(test_torn_append)
{
	struct ckpt ck;
	char err[DUO_ERRLEN], lk[64];
	struct buf b, l;
	FILE *fp;

	buf_init(&b);
	buf_init(&l);
	ck_assert_int_eq(commit(STREAM3, "sink.log", 0, err), 0);
	slurp(p("state/auth.ledger"), &l);
	ck_assert_ptr_nonnull(fp = fopen(p("sink.log"), "a"));
	fputs("b1\nb", fp);
	fclose(fp);
	/* A spool that does not match the intent: refused, untouched. */
	torn_intent("b1\nXX\n", l.len);
	ck_assert_int_eq(commit(BEGIN(CUR(3)) END(CUR(3), 0) EXIT(0),
	    "sink.log", 0, err), 1);
	ck_assert_msg(strstr(err, "differs from the intent") != NULL, "%s",
	    err);
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "a1\na2\na3\nb1\nb");
	/* The right spool: cut back to 9 bytes, appended again. */
	torn_intent("b1\nb2\n", l.len);
	stored(&b);
	ck_assert_str_eq(b.p, CUR(3));
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "a1\na2\na3\nb1\nb2\n");
	slurp(p(lockname("sink.log", lk, sizeof lk)), &b);
	ck_assert_str_eq(b.p, "");
	ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, -1, &b, err), 0);
	/* A sink changed by someone else is refused (state as before). */
	put("state/auth.cursor", "{\"v\":1,\"seq\":1,\"cursor\":" CUR(2) "}\n");
	put("state/auth.ledger", l.p);
	torn_intent("b1\nb2\n", l.len);
	put("sink.log", "a1\na2\na3\nXXXXXXXXXXXXXXXXXX\n");
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_get(&ck, err), 1);
	ck_assert_msg(strstr(err, "another program changed it") != NULL, "%s",
	    err);
	ckpt_close(&ck);
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "a1\na2\na3\nXXXXXXXXXXXXXXXXXX\n");
	/* One cut below the commit's offset (rotated?): undone, refetched. */
	put("sink.log", "short\n");
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_msg(ckpt_get(&ck, err) == 0, "%s", err);
	ck_assert(ck.rolledback);
	ck_assert_msg(strstr(ck.note, "shorter than before") != NULL, "%s",
	    ck.note);
	ck_assert_str_eq(ck.cursor.p, CUR(2));
	ckpt_close(&ck);
	ck_assert_int_eq(access(p("state/auth.intent"), F_OK), -1);
	slurp(p(lockname("sink.log", lk, sizeof lk)), &b);
	ck_assert_str_eq(b.p, "");
	ck_assert_int_eq(commit(BEGIN(CUR(2)) "b1\n" END(CUR(3), 1) EXIT(0),
	    "sink.log", 0, err), 0);
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "short\nb1\n");
	/* The spool lost to a power cut, the append torn: undone. */
	put("state/auth.cursor", "{\"v\":1,\"seq\":1,\"cursor\":" CUR(2) "}\n");
	put("state/auth.ledger", l.p);
	put("sink.log", "a1\na2\na3\nb1\nb");
	torn_intent("b1\nb2\n", l.len);
	unlink(p("state/auth.spool"));
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_msg(ckpt_get(&ck, err) == 0, "%s", err);
	ck_assert(ck.rolledback);
	ck_assert_str_eq(ck.cursor.p, CUR(2));
	ckpt_close(&ck);
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "a1\na2\na3\n");
	buf_free(&b);
	buf_free(&l);
}
END_TEST

/* ---- issue 11: hostile input and neighbours ---- */

/* A forged mark or end: refused, nothing after the previous mark. */
static const struct {
	const char	*stream;
	int		 rc;
	const char	*out;
	const char	*cursor;
	const char	*msg;
} hostile[] = {
	{ BEGIN("{}") "a1\n" MARK(CUR(1), 1) "a2\n"
	    MARK("{\"kind\":\"auth\",\"min\":4102444800000}", 1) "a3\n"
	    END(CUR(3), 1) EXIT(0), 1, "a1\n", CUR(1), "in the future" },
	{ BEGIN("{}") "a1\n" MARK(CUR(1), 1) "a2\n"
	    MARK("{\"kind\":\"admin\",\"sec\":1}", 1) EXIT(0), 1, "a1\n",
	    CUR(1), "of kind admin" },
	{ BEGIN("{}") "a1\n" END("{\"p\":1}", 1) EXIT(0), 1, "", "{}",
	    "bad cursor" },
	{ BEGIN("{}") "a1\n" END("{}", 1) EXIT(0), 1, "", "{}",
	    "empty cursor" },
	{ BEGIN("{\"kind\":\"auth\",\"min\":4102444800000}") "a1\n"
	    END(CUR(1), 1) EXIT(0), 1, "", "{}", "line 1: bad cursor" },
	/* Empty strings where names belong: messages, not crashes. */
	{ "{\"@duo\":\"\",\"cursor\":{}}\n", 1, "", "{}", "line 1" },
	{ BEGIN("{}") "a1\n" MARK(CUR(1), 1) "{\"@duo\":\"\",\"cursor\":{}}\n",
	    1, "a1\n", CUR(1), "line 4: unknown control line" },
	{ "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"\",\"host\":\"h\","
	    "\"cursor\":{}}\n", 1, "", "{}", "empty kind" },
	/* The exit line: its status counts, nothing may follow it. */
	{ BEGIN("{}") "a1\n" MARK(CUR(1), 1) "a2\n" EXIT(3), 3, "a1\n",
	    CUR(1), "status 3" },
	{ BEGIN("{}") "a1\n" MARK(CUR(1), 1) "a2\n" EXIT(1), 1, "a1\n",
	    CUR(1), "status 1" },
	{ BEGIN("{}") "a1\n" MARK(CUR(1), 1)
	    "{\"@duo\":\"exit\",\"status\":0,\"more\":true}\n", 0, "a1\n",
	    CUR(1), NULL },
	{ BEGIN("{}") "a1\n" END(CUR(1), 1) EXIT(0) "a2\n", 1, "a1\n",
	    CUR(1), "after the exit line" },
	{ BEGIN("{}") "a1\n" END(CUR(1), 1), 3, "a1\n", CUR(1),
	    "auth: stream ended without an exit line (upstream killed?)" },
	/* A mark after the end line. */
	{ BEGIN("{}") "a1\n" END(CUR(1), 1) MARK(CUR(2), 0) EXIT(0), 1,
	    "a1\n", CUR(1), "after the end line" },
};

START_TEST(test_hostile)
{
	struct buf b;
	char err[DUO_ERRLEN];
	int rc;

	buf_init(&b);
	rc = commit(hostile[_i].stream, NULL, 0, err);
	ck_assert_msg(rc == hostile[_i].rc, "stream %d: rc %d: %s", _i, rc,
	    err);
	if (hostile[_i].msg != NULL)
		ck_assert_msg(strstr(err, hostile[_i].msg) != NULL,
		    "stream %d: %s", _i, err);
	published(&b);
	ck_assert_str_eq(b.p, hostile[_i].out);
	stored(&b);
	ck_assert_str_eq(b.p, hostile[_i].cursor);
	buf_free(&b);
}
END_TEST

/* duo-ckpt set checks the cursor like a stream's. */
START_TEST(test_set_checks)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];

	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_set(&ck, "{\"kind\":\"admin\",\"sec\":1}", err),
	    2);
	ck_assert_msg(strstr(err, "of kind admin") != NULL, "%s", err);
	ck_assert_int_eq(ckpt_set(&ck, "{\"p\":1}", err), 2);
	ck_assert_int_eq(ckpt_set(&ck,
	    "{\"kind\":\"auth\",\"min\":4102444800000}", err), 2);
	ck_assert_msg(strstr(err, "future") != NULL, "%s", err);
	ck_assert_int_eq(ckpt_set(&ck, "{}", err), 0);
	ck_assert_int_eq(ckpt_set(&ck, CUR(5), err), 0);
	ckpt_close(&ck);
	ck_assert_int_eq(access(p("state/auth.cursor"), F_OK), 0);
}
END_TEST

/* Damaged state files with empty names: "corrupt", not a crash. */
static const struct {
	const char	*file;
	const char	*text;
	const char	*msg;
} emptynames[] = {
	{ "state/auth.intent", "{\"v\":1,\"kind\":\"\",\"seq\":2,\"mode\":\"none\","
	    "\"tmp\":null,\"file\":null,\"offset\":0,\"bytes\":0,\"sha256\":"
	    "\"" EMPTYSHA "\",\"ledger\":0,\"cursor\":{},\"entry\":{}}\n",
	    "corrupt intent" },
	{ "state/auth.intent", "{\"v\":1,\"kind\":\"auth\",\"seq\":2,\"mode\":\"\","
	    "\"tmp\":null,\"file\":null,\"offset\":0,\"bytes\":0,\"sha256\":"
	    "\"" EMPTYSHA "\",\"ledger\":0,\"cursor\":{},\"entry\":{}}\n",
	    "corrupt intent" },
	{ "state/auth.ledger", "{\"v\":1,\"op\":\"\",\"seq\":1,\"time\":"
	    "\"2024-05-01T18:45:07Z\",\"from\":{},\"to\":" CUR(1) ",\"n\":1,"
	    "\"mode\":\"file\",\"file\":\"x\",\"offset\":0,\"bytes\":2,"
	    "\"sha256\":\"0\",\"newest\":null}\n", "not a ledger entry" },
	{ "state/auth.ledger", "{\"v\":1,\"op\":\"commit\",\"seq\":1,\"time\":"
	    "\"2024-05-01T18:45:07Z\",\"from\":{},\"to\":" CUR(1) ",\"n\":1,"
	    "\"mode\":\"\",\"file\":\"x\",\"offset\":0,\"bytes\":2,"
	    "\"sha256\":\"0\",\"newest\":null}\n", "not a ledger entry" },
};

START_TEST(test_empty_names)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(commit(BEGIN("{}") "a\n" END(CUR(1), 1) EXIT(0), NULL,
	    0, err), 0);
	put(emptynames[_i].file, emptynames[_i].text);
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_get(&ck, err), 1);
	ck_assert_msg(strstr(err, emptynames[_i].msg) != NULL, "%d: %s", _i,
	    err);
	ckpt_close(&ck);
	ck_assert_int_eq(commit(BEGIN(CUR(1)) "b\n" END(CUR(2), 1) EXIT(0),
	    NULL, 0, err), 1);
	ck_assert_int_eq(published(&b), 1);
	buf_free(&b);
}
END_TEST

/* A set entry with "from":null, then a commit, then status. */
START_TEST(test_set_null_status)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_set(&ck, CUR(1), err), 0);
	ckpt_close(&ck);
	ck_assert_int_eq(commit(BEGIN(CUR(1)) "a\n" END(CUR(2), 1) EXIT(0),
	    NULL, 0, err), 0);
	ck_assert_msg(ckpt_status(p("state"), NULL, 1714589107000LL, -1, &b,
	    err) == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(b.p, " commits=1 records=1 "));
	buf_free(&b);
}
END_TEST

/* A state file replaced by a FIFO, a directory or a link: refused at
 * once (a FIFO must not hang), nothing published, nothing followed. */
static const char *const replaced[] = {
	"state/auth.cursor", "state/auth.ledger", "state/auth.intent",
	"state/host", "state/auth.lock", "state/auth.run",
};

START_TEST(test_replaced)
{
	struct ckpt ck;
	char err[DUO_ERRLEN], target[600];
	struct buf b;
	int how, rc;

	buf_init(&b);
	for (how = 0; how < 3; how++) {
		teardown();
		setup();
		ck_assert_int_eq(commit(BEGIN("{}") "a\n" END(CUR(1), 1)
		    EXIT(0), NULL, 0, err), 0);
		unlink(p(replaced[_i]));
		snprintf(target, sizeof target, "%s", p("victim"));
		put("victim", "precious\n");
		if (how == 0)
			ck_assert_int_eq(mkfifo(p(replaced[_i]), 0600), 0);
		else if (how == 1)
			ck_assert_int_eq(mkdir(p(replaced[_i]), 0700), 0);
		else
			ck_assert_int_eq(symlink(target, p(replaced[_i])), 0);
		alarm(10);
		ck_assert_int_eq(open_ck(&ck, "auth"), 0);
		rc = ckpt_get(&ck, err);
		ckpt_close(&ck);
		if (strcmp(replaced[_i], "state/auth.run") != 0) {
			ck_assert_msg(rc == 1, "%s %d: rc %d", replaced[_i],
			    how, rc);
			ck_assert_msg(strstr(err, how == 2 ? "symbolic link" :
			    "not a regular file") != NULL, "%s", err);
		}
		rc = commit(BEGIN(CUR(1)) "b\n" END(CUR(2), 1) EXIT(0), NULL,
		    0, err);
		if (strcmp(replaced[_i], "state/auth.run") != 0)
			ck_assert_int_eq(rc, 1);
		buf_reset(&b);
		(void)ckpt_status(p("state"), NULL, 0, -1, &b, err);
		alarm(0);
		slurp(p("victim"), &b);
		ck_assert_str_eq(b.p, "precious\n");
		if (strcmp(replaced[_i], "state/auth.run") != 0) {
			ck_assert_int_eq(published(&b), 1);
			ck_assert_str_eq(b.p, "a\n");
		}
	}
	buf_free(&b);
}
END_TEST

/* Symbolic links planted where files are created: never followed. */
START_TEST(test_symlinks)
{
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	put("victim", "precious\n");
	ck_assert_int_eq(mkdir(p("state"), 0755), 0);
	ck_assert_int_eq(symlink(p("victim"), p("state/auth.spool")), 0);
	/* A left-over spool is removed, not followed. */
	ck_assert_int_eq(commit(STREAM3, "sink.log", 0, err), 0);
	slurp(p("victim"), &b);
	ck_assert_str_eq(b.p, "precious\n");
	teardown();
	setup();
	put("victim", "precious\n");
	ck_assert_int_eq(mkdir(p("state"), 0755), 0);
	/* The -a target itself. */
	ck_assert_int_eq(symlink(p("victim"), p("sink.log")), 0);
	ck_assert_int_eq(commit(STREAM3, "sink.log", 0, err), 2);
	ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
	unlink(p("sink.log"));
	/* The published file's name (the clock is fixed). */
	ck_assert_int_eq(mkdir(p("out"), 0755), 0);
	ck_assert_int_eq(symlink(p("victim"),
	    p("out/duo-auth-20240501T184507Z-000001.log")), 0);
	ck_assert_int_eq(commit(STREAM3, NULL, 0, err), 0);
	ck_assert_int_eq(access(p("out/duo-auth-20240501T184508Z-000001.log"),
	    F_OK), 0);
	slurp(p("victim"), &b);
	ck_assert_str_eq(b.p, "precious\n");
	teardown();
	setup();
	put("victim", "precious\n");
	ck_assert_int_eq(mkdir(p("state"), 0755), 0);
	/* The lock and the ledger. */
	ck_assert_int_eq(symlink(p("victim"), p("state/auth.ledger")), 0);
	ck_assert_int_eq(commit(STREAM3, NULL, 0, err), 1);
	unlink(p("state/auth.ledger"));
	unlink(p("state/auth.lock"));
	ck_assert_int_eq(symlink(p("victim"), p("state/auth.lock")), 0);
	ck_assert_int_eq(commit(STREAM3, NULL, 0, err), 1);
	ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
	unlink(p("state/auth.lock"));
	slurp(p("victim"), &b);
	ck_assert_str_eq(b.p, "precious\n");
	/* Nothing was committed by all that. */
	stored(&b);
	ck_assert_str_eq(b.p, "{}");
	ck_assert_int_eq(commit(STREAM3, NULL, 0, err), 0);
	buf_free(&b);
}
END_TEST

/* A state directory others may write to, or another user's. */
START_TEST(test_private)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];

	ck_assert_int_eq(mkdir(p("state"), 0755), 0);
	ck_assert_int_eq(chmod(p("state"), 0775), 0);
	ck_assert_int_eq(ckpt_open(&ck, p("state"), "auth", err), 2);
	ck_assert_msg(strstr(err, "writable by group or others: run chmod "
	    "go-w") != NULL, "%s", err);
	ckpt_close(&ck);
	ck_assert_int_eq(chmod(p("state"), 0757), 0);
	ck_assert_int_eq(ckpt_open(&ck, p("state"), "auth", err), 2);
	ckpt_close(&ck);
	ck_assert_int_eq(chmod(p("state"), 0700), 0);
	ck_assert_int_eq(ckpt_open(&ck, p("state"), "auth", err), 0);
	ckpt_close(&ck);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(p("state"), 65534, 65534), 0);
		ck_assert_int_eq(ckpt_open(&ck, p("state"), "auth", err), 2);
		ck_assert_msg(strstr(err, "owned by uid 65534") != NULL &&
		    strstr(err, "chown") != NULL, "%s", err);
		ckpt_close(&ck);
	}
}
END_TEST

/* A signal: read on for the grace period, publish to the last mark. */
START_TEST(test_signal)
{
	struct ckpt_opts o;
	struct ckpt ck;
	char err[DUO_ERRLEN];
	const char *s = BEGIN("{}") "a1\n" MARK(CUR(1), 1) "a2\n";
	volatile int flag = 15;
	struct buf b;
	int fds[2], rc;

	buf_init(&b);
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(write(fds[1], s, strlen(s)), (ssize_t)strlen(s));
	memset(&o, 0, sizeof o);
	o.outdir = p("out");
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck.sig = &flag;
	ck.grace_ms = 200;
	rc = ckpt_commit(&ck, fds[0], &o, err);
	ck_assert_int_eq(rc, 3);
	ck_assert_msg(strstr(err, "interrupted by a signal") != NULL, "%s",
	    err);
	ck_assert(ck.signalled);
	ckpt_close(&ck);
	close(fds[0]);
	close(fds[1]);
	published(&b);
	ck_assert_str_eq(b.p, "a1\n");
	stored(&b);
	ck_assert_str_eq(b.p, CUR(1));
	buf_free(&b);
}
END_TEST

/* -H: a health line ends the last publication, not counted in n. */
START_TEST(test_health_commit)
{
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	setenv("TZ", "UTC", 1);
	ck_assert_int_eq(commit_kind("auth", BEGIN("{}")
	    "x |utc=2024-05-01T18:40:07Z|\n" END(CUR(1), 1) EXIT(0), NULL, 0,
	    1, err), 0);
	ck_assert_int_eq(published(&b), 1);
	ck_assert_str_eq(b.p, "x |utc=2024-05-01T18:40:07Z|\n"
	    "2024-05-01 18:45:07 DUO STATUS |utc=2024-05-01T18:45:07Z|"
	    "kind=auth|result=ok|status=0|records=1|lag=300|"
	    "newest=2024-05-01T18:40:07Z|more=0|host=api-x.example|\n");
	slurp(p("state/auth.ledger"), &b);
	ck_assert_ptr_nonnull(strstr(b.p, "\"n\":1,"));
	/* Nothing new, cut short: still a heartbeat, with the old newest. */
	ck_assert_int_eq(commit_kind("auth", BEGIN(CUR(1)), NULL, 0, 1, err),
	    3);
	ck_assert_int_eq(published(&b), 2);
	ck_assert_ptr_nonnull(strstr(b.p, "|result=temp|status=3|records=0|"
	    "lag=300|newest=2024-05-01T18:40:07Z|"));
	stored(&b);
	ck_assert_str_eq(b.p, CUR(1));
	unsetenv("TZ");
	buf_free(&b);
}
END_TEST

/* The ledger stays bounded, its chain verifiable, status exact. */
START_TEST(test_compact)
{
	struct ckpt_opts o;
	struct ckpt ck;
	char err[DUO_ERRLEN], s[512], out[600];
	struct buf b;
	int i, fd, lines;
	size_t k;

	buf_init(&b);
	memset(&o, 0, sizeof o);
	snprintf(out, sizeof out, "%s", p("out"));
	o.outdir = out;
	for (i = 0; i < 40; i++) {
		snprintf(s, sizeof s, "%s%s\"host\":\"h\",\"cursor\":%s}\n"
		    "r%d\n{\"@duo\":\"end\",\"cursor\":{\"kind\":\"auth\","
		    "\"min\":%d},\"n\":1}\n" EXIT(0), "{\"@duo\":\"begin\","
		    "\"v\":1,", "\"kind\":\"auth\",", i == 0 ? "{}" : "", i,
		    i + 1);
		if (i > 0)
			snprintf(s, sizeof s, "{\"@duo\":\"begin\",\"v\":1,"
			    "\"kind\":\"auth\",\"host\":\"h\",\"cursor\":"
			    "{\"kind\":\"auth\",\"min\":%d}}\nr%d\n"
			    "{\"@duo\":\"end\",\"cursor\":{\"kind\":\"auth\","
			    "\"min\":%d},\"n\":1}\n" EXIT(0), i, i, i + 1);
		ck_assert_int_eq(open_ck(&ck, "auth"), 0);
		ck.ledger_keep = 4;
		fd = stream_fd(s);
		ck_assert_msg(ckpt_commit(&ck, fd, &o, err) == 0, "%d: %s", i,
		    err);
		close(fd);
		ckpt_close(&ck);
		slurp(p("state/auth.ledger"), &b);
		for (lines = 0, k = 0; k < b.len; k++)
			lines += b.p[k] == '\n';
		ck_assert_msg(lines <= 9, "%d lines after %d", lines, i + 1);
	}
	ck_assert_ptr_nonnull(strstr(b.p, "\"op\":\"summary\""));
	buf_reset(&b);
	ck_assert_msg(ckpt_status(p("state"), "auth", 1714589107000LL, -1, &b,
	    err) == 0, "%s", err);
	ck_assert_msg(strstr(b.p, " commits=40 records=40 files=40 ") != NULL,
	    "%s", b.p);
	stored(&b);
	ck_assert_str_eq(b.p, CUR(40));
	/* A gap inside the kept entries is still found. */
	slurp(p("state/auth.ledger"), &b);
	{
		char *q = strstr(b.p, "\"op\":\"commit\"");

		q = strstr(q, "\"from\":{\"kind\":\"auth\",\"min\":");
		q[strlen("\"from\":{\"kind\":\"auth\",\"mi")] = 'x';
		put("state/auth.ledger", b.p);
	}
	ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, -1, &b, err), 1);
	ck_assert_msg(strstr(err, "coverage gap") != NULL, "%s", err);
	buf_free(&b);
}
END_TEST

/* Run a commit in a child killed (_exit) at a step. */
static void
crash_commit(const char *kind, const char *stream, const char *sink,
    int stepno)
{
	struct ckpt_opts o;
	struct ckpt ck;
	char err[DUO_ERRLEN];
	pid_t pid;
	int st, fd;

	memset(&o, 0, sizeof o);
	if (sink != NULL)
		o.append = p(sink);
	else
		o.outdir = p("out");
	if ((pid = fork()) == 0) {
		open_ck(&ck, kind);
		ck.hook = crash_hook;
		crash_step = stepno;
		fd = stream_fd(stream);
		_exit(ckpt_commit(&ck, fd, &o, err));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 77,
	    "step %d did not run", stepno);
}

#define ADMIN(c) "{\"kind\":\"admin\",\"sec\":" #c "}"
#define ABEGIN(c) "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"admin\"," \
	"\"host\":\"API-x.example\",\"cursor\":" c "}\n"

/*
 * Two kinds appending to one file: auth is killed half-way through its
 * append; admin must not append after the torn bytes (nor be cut back
 * later by auth's recovery): it waits for auth's recovery.
 */
START_TEST(test_shared_append)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	crash_commit("auth", BEGIN("{}") "auth1 long enough\n"
	    "auth2 long enough\n" END(CUR(1), 2) EXIT(0), "sink.log",
	    CKPT_STEP_PUBMID);
	/* Torn at a line boundary: nothing in the file tells. */
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "auth1 long enough\n");
	ck_assert_int_eq(commit_kind("admin", ABEGIN("{}") "admin1\n"
	    "{\"@duo\":\"end\",\"cursor\":" ADMIN(1) ",\"n\":1}\n" EXIT(0),
	    "sink.log", 0, 0, err), 3);
	ck_assert_msg(strstr(err, "interrupted append of auth") != NULL, "%s",
	    err);
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "auth1 long enough\n");
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_msg(ckpt_get(&ck, err) == 0, "%s", err);
	ck_assert(ck.recovered);
	ckpt_close(&ck);
	ck_assert_int_eq(commit_kind("admin", ABEGIN("{}") "admin1\n"
	    "{\"@duo\":\"end\",\"cursor\":" ADMIN(1) ",\"n\":1}\n" EXIT(0),
	    "sink.log", 0, 0, err), 0);
	ck_assert_int_eq(commit(BEGIN(CUR(1)) "auth3\n" END(CUR(2), 1)
	    EXIT(0), "sink.log", 0, err), 0);
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "auth1 long enough\nauth2 long enough\n"
	    "admin1\nauth3\n");
	/* Killed after its marker, before its intent: stale, cut back. */
	crash_commit("auth", BEGIN(CUR(2)) "auth4\n" END(CUR(3), 1) EXIT(0),
	    "sink.log", CKPT_STEP_INTENT);
	ck_assert_int_eq(commit_kind("admin", ABEGIN(ADMIN(1)) "admin2\n"
	    "{\"@duo\":\"end\",\"cursor\":" ADMIN(2) ",\"n\":1}\n" EXIT(0),
	    "sink.log", 0, 0, err), 0);
	ck_assert_int_eq(commit(BEGIN(CUR(2)) "auth4\n" END(CUR(3), 1)
	    EXIT(0), "sink.log", 0, err), 0);
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "auth1 long enough\nauth2 long enough\n"
	    "admin1\nauth3\nadmin2\nauth4\n");
	buf_free(&b);
}
END_TEST

/* The output directory deleted (and made again) mid-commit. */
START_TEST(test_outdir_vanished)
{
	struct ckpt ck;
	char err[DUO_ERRLEN], cmd[700];
	struct buf b;
	int again;

	buf_init(&b);
	for (again = 0; again < 2; again++) {
		teardown();
		setup();
		crash_commit("auth", STREAM3, NULL, CKPT_STEP_PUBLISH);
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", p("out"));
		ck_assert_int_eq(system(cmd), 0);
		if (again)
			ck_assert_int_eq(mkdir(p("out"), 0755), 0);
		ck_assert_int_eq(open_ck(&ck, "auth"), 0);
		ck_assert_msg(ckpt_get(&ck, err) == 0, "%s", err);
		ck_assert(ck.rolledback);
		ck_assert_msg(strstr(ck.note, "records will be fetched again") !=
		    NULL, "%s", ck.note);
		ck_assert_str_eq(ck.cursor.p, "{}");
		ckpt_close(&ck);
		ck_assert_int_eq(access(p("state/auth.intent"), F_OK), -1);
		ck_assert_int_eq(commit(STREAM3, NULL, 0, err), 0);
		ck_assert_int_eq(published(&b), 1);
		ck_assert_str_eq(b.p, "a1\na2\na3\n");
		ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, -1, &b,
		    err), 0);
	}
	/* After the rename the commit completes, the file is not needed. */
	teardown();
	setup();
	crash_commit("auth", STREAM3, NULL, CKPT_STEP_STATETMP);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", p("out"));
	ck_assert_int_eq(system(cmd), 0);
	stored(&b);
	ck_assert_str_eq(b.p, "{}");
	buf_free(&b);
}
END_TEST

/* A missing or unusable output is a configuration error (2). */
START_TEST(test_bad_output)
{
	char err[DUO_ERRLEN];

	ck_assert_int_eq(commit_kind("auth", STREAM3, "nodir/sink.log", 0, 0,
	    err), 2);
	ck_assert_msg(strstr(err, "nodir") != NULL, "%s", err);
	put("out", "a file\n");
	ck_assert_int_eq(commit(STREAM3, NULL, 0, err), 2);
	ck_assert_msg(strstr(err, "not a directory") != NULL, "%s", err);
	ck_assert_int_eq(mkdir(p("sink.log"), 0755), 0);
	ck_assert_int_eq(commit(STREAM3, "sink.log", 0, err), 2);
	ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
}
END_TEST

/* ---- the compat file operations ckpt relies on ---- */

START_TEST(test_compat_files)
{
	struct compat_stat st;
	struct compat_dir *d;
	struct buf b;
	char err[DUO_ERRLEN], buf[16];
	const char *name;
	int fd, fd2, n;

	buf_init(&b);
	/* open: create exclusively, refuse links, FIFOs, directories. */
	ck_assert_int_ge(fd = compat_open(p("f"), COMPAT_RDWR | COMPAT_CREAT |
	    COMPAT_EXCL, err), 0);
	ck_assert_int_eq(compat_open(p("f"), COMPAT_RDWR | COMPAT_CREAT |
	    COMPAT_EXCL, err), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(compat_pwrite(fd, "hello\n", 6, 0), 0);
	ck_assert_int_eq(compat_pwrite(fd, "HE", 2, 0), 0);
	ck_assert_int_eq(compat_pread(fd, buf, sizeof buf, 0), 6);
	ck_assert(memcmp(buf, "HEllo\n", 6) == 0);
	ck_assert_int_eq(compat_pread(fd, buf, 4, 4), 2);
	ck_assert_int_eq(compat_fsync(fd), 0);
	ck_assert_int_eq(compat_ftruncate(fd, 3), 0);
	ck_assert_int_eq(compat_fstat(fd, &st), 0);
	ck_assert_int_eq(st.type, COMPAT_FILE);
	ck_assert_int_eq(st.size, 3);
	ck_assert_int_eq(compat_reserve(fd, 3, 100), 0);
	ck_assert_int_eq(compat_fstat(fd, &st), 0);
	ck_assert_int_eq(st.size, 3);	/* reserving does not grow it */
	/* A lock: a second descriptor, even of this process, is refused. */
	ck_assert_int_eq(compat_lock(fd), 0);
	ck_assert_int_ge(fd2 = compat_open(p("f"), COMPAT_RDWR, err), 0);
	ck_assert_int_eq(compat_lock(fd2), 1);
	ck_assert_int_eq(compat_close(fd), 0);
	ck_assert_int_eq(compat_lock(fd2), 0);
	compat_close(fd2);
	ck_assert_int_eq(symlink(p("f"), p("l")), 0);
	ck_assert_int_eq(compat_open(p("l"), COMPAT_RD, err), -1);
	ck_assert_int_eq(errno, ELOOP);
	ck_assert_msg(strstr(err, "symbolic link") != NULL, "%s", err);
	ck_assert_int_eq(compat_open(p("l"), COMPAT_RDWR | COMPAT_CREAT |
	    COMPAT_TRUNC, err), -1);
	ck_assert_int_eq(compat_lstat(p("f"), &st), 0);
	ck_assert_int_eq(st.size, 3);	/* not truncated through the link */
	ck_assert_int_eq(compat_lstat(p("l"), &st), 0);
	ck_assert_int_eq(st.type, COMPAT_LINK);
	ck_assert_int_eq(mkfifo(p("fifo"), 0600), 0);
	alarm(5);
	ck_assert_int_eq(compat_open(p("fifo"), COMPAT_RD, err), -1);
	ck_assert_msg(strstr(err, "FIFO, not a regular file") != NULL, "%s",
	    err);
	alarm(0);
	ck_assert_int_eq(compat_open(tmpl, COMPAT_RD, err), -1);
	ck_assert_int_eq(errno, EISDIR);
	ck_assert_int_eq(compat_open(p("none"), COMPAT_RD, err), -1);
	ck_assert_int_eq(errno, ENOENT);
	/* rename_new never replaces; rename does. */
	put("g", "g\n");
	ck_assert_int_eq(compat_rename_new(p("g"), p("f"), err), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(compat_rename_new(p("g"), p("h"), err), 0);
	ck_assert_int_eq(compat_lstat(p("g"), &st), -1);
	ck_assert_int_eq(compat_rename(p("h"), p("f"), err), 0);
	slurp(p("f"), &b);
	ck_assert_str_eq(b.p, "g\n");
	/* unlink: 0 removed, 1 not there. */
	ck_assert_int_eq(compat_unlink(p("f"), err), 0);
	ck_assert_int_eq(compat_unlink(p("f"), err), 1);
	/* mkdir: 1 made, 0 there already, -1 a file in the way. */
	ck_assert_int_eq(compat_mkdir(p("d"), err), 1);
	ck_assert_int_eq(compat_mkdir(p("d"), err), 0);
	put("file", "x");
	ck_assert_int_eq(compat_mkdir(p("file"), err), -1);
	ck_assert_int_eq(compat_mkdir(p("no/such"), err), -1);
	/* Listing. */
	ck_assert_int_eq(compat_dir_open(&d, tmpl, err), 0);
	for (n = 0; (name = compat_dir_next(d)) != NULL; n++)
		ck_assert(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
	compat_dir_close(d);
	ck_assert_int_eq(n, 4);		/* l fifo d file */
	/* abspath: the directory resolved, the name kept. */
	ck_assert_int_eq(chdir(tmpl), 0);
	buf_reset(&b);
	ck_assert_int_eq(compat_abspath("d/x.log", &b, err), 0);
	ck_assert_msg(b.p[0] == '/' && strstr(b.p, "/d/x.log") != NULL, "%s",
	    b.p);
	buf_reset(&b);
	ck_assert_int_eq(compat_abspath("no/x.log", &b, err), -1);
	ck_assert_int_eq(chdir("/"), 0);
	/* dir_private. */
	ck_assert_int_eq(chmod(p("d"), 0700), 0);
	ck_assert_int_eq(compat_dir_private(p("d"), err), 0);
	ck_assert_int_eq(chmod(p("d"), 0770), 0);
	ck_assert_int_eq(compat_dir_private(p("d"), err), -1);
	ck_assert_int_eq(compat_dir_private(p("file"), err), -1);
	buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ckpt");
	TCase *tc;
	SRunner *sr;
	int nf;

	tc = tcase_create("pure");
	tcase_add_loop_test(tc, test_kind, 0, sizeof kindtab /
	    sizeof kindtab[0]);
	tcase_add_loop_test(tc, test_iso, 0, sizeof isotab / sizeof isotab[0]);
	tcase_add_loop_test(tc, test_event_time, 0, sizeof timetab /
	    sizeof timetab[0]);
	tcase_add_loop_test(tc, test_ctl, 0, sizeof ctltab /
	    sizeof ctltab[0]);
	tcase_add_test(tc, test_ctl_is);
	tcase_add_test(tc, test_ctl_exit);
	tcase_add_loop_test(tc, test_cursor_check, 0, sizeof curtab /
	    sizeof curtab[0]);
	tcase_add_loop_test(tc, test_worse, 0, sizeof worsetab /
	    sizeof worsetab[0]);
	tcase_add_test(tc, test_health);
	tcase_add_test(tc, test_in_long);
	tcase_add_test(tc, test_filename);
	suite_add_tcase(s, tc);

	tc = tcase_create("commit");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_commit_ok);
	tcase_add_test(tc, test_commit_sha);
	tcase_add_loop_test(tc, test_streams, 0, sizeof streams /
	    sizeof streams[0]);
	tcase_add_test(tc, test_other_host);
	tcase_add_test(tc, test_progressive);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_set);
	tcase_add_test(tc, test_status);
	tcase_add_loop_test(tc, test_corrupt, 0, sizeof corrupt /
	    sizeof corrupt[0]);
	tcase_add_test(tc, test_set_repairs);
	tcase_add_loop_test(tc, test_crash_file, 1, CKPT_NSTEPS + 1);
	tcase_add_loop_test(tc, test_crash_append, 1, CKPT_NSTEPS + 1);
	tcase_add_test(tc, test_torn_append);
	tcase_add_loop_test(tc, test_hostile, 0, sizeof hostile /
	    sizeof hostile[0]);
	tcase_add_test(tc, test_set_checks);
	tcase_add_loop_test(tc, test_empty_names, 0, sizeof emptynames /
	    sizeof emptynames[0]);
	tcase_add_test(tc, test_set_null_status);
	tcase_add_loop_test(tc, test_replaced, 0, sizeof replaced /
	    sizeof replaced[0]);
	tcase_add_test(tc, test_symlinks);
	tcase_add_test(tc, test_private);
	tcase_add_test(tc, test_signal);
	tcase_add_test(tc, test_health_commit);
	tcase_add_test(tc, test_compact);
	tcase_add_test(tc, test_shared_append);
	tcase_add_test(tc, test_outdir_vanished);
	tcase_add_test(tc, test_bad_output);
	tcase_add_test(tc, test_compat_files);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
