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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/duo.h"

#define BEGIN(c) "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"auth\"," \
	"\"host\":\"API-x.example\",\"cursor\":" c "}\n"
#define MARK(c, n) "{\"@duo\":\"mark\",\"cursor\":" c ",\"n\":" #n "}\n"
#define END(c, n) "{\"@duo\":\"end\",\"cursor\":" c ",\"n\":" #n "}\n"

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

/* Commit a stream given as a string; err gets the message. */
static int
commit(const char *stream, const char *append, long long maxrec, char *err)
{
	struct ckpt_opts o;
	struct ckpt ck;
	FILE *fp;
	int rc;

	memset(&o, 0, sizeof o);
	if (append != NULL)
		o.append = p(append);
	else
		o.outdir = p("out");
	o.maxrec = maxrec;
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	fp = fmemopen((void *)stream, strlen(stream) ? strlen(stream) : 1,
	    "r");
	if (strlen(stream) == 0)
		fgetc(fp);
	ck_assert_ptr_nonnull(fp);
	err[0] = '\0';
	rc = ckpt_commit(&ck, fp, &o, err);
	fclose(fp);
	ckpt_close(&ck);
	return rc;
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

#define STREAM3 BEGIN("{}") "a1\n" "a2\n" MARK("{\"p\":1}", 2) "a3\n" \
	END("{\"p\":2}", 1)

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
	ck_assert_str_eq(c.p, "{\"p\":2}");
	slurp(p("out/duo-auth-20240501T184507Z-000001.log"), &b);
	ck_assert_str_eq(b.p, "a1\na2\na3\n");
	slurp(p("state/host"), &b);
	ck_assert_str_eq(b.p, "api-x.example\n");
	slurp(p("state/auth.cursor"), &b);
	ck_assert_str_eq(b.p, "{\"v\":1,\"seq\":1,\"cursor\":{\"p\":2}}\n");
	slurp(p("state/auth.ledger"), &b);
	ck_assert(strstr(b.p, "{\"v\":1,\"op\":\"commit\",\"seq\":1,"
	    "\"time\":\"2024-05-01T18:45:07Z\",\"from\":{},\"to\":{\"p\":2},"
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
	{ BEGIN("{}") "a1\n" MARK("{\"p\":1}", 1) "a2\n" "a3\n", 3, "a1\n",
	    "{\"p\":1}", "without an end" },
	/* A cut last line is dropped. */
	{ BEGIN("{}") "a1\n" MARK("{\"p\":1}", 1) "a2", 3, "a1\n",
	    "{\"p\":1}", "without an end" },
	/* Count mismatch: up to the previous mark, exit 1. */
	{ BEGIN("{}") "a1\n" MARK("{\"p\":1}", 1) "a2\n" "a3\n"
	    MARK("{\"p\":2}", 3) "a4\n" END("{\"p\":3}", 1), 1, "a1\n",
	    "{\"p\":1}", "counts 3 lines but 2" },
	{ BEGIN("{}") "a1\n" END("{\"p\":1}", 0), 1, "", "{}", "counts 0" },
	/* No begin. */
	{ "a1\n" END("{}", 1), 1, "", "{}", "run duo-get with -C" },
	{ MARK("{}", 0), 1, "", "{}", "run duo-get with -C" },
	/* Empty stream: temporary. */
	{ "", 3, "", "{}", "empty stream" },
	/* Stale cursor, other kind, bad version. */
	{ BEGIN("{\"p\":9}") "a1\n" END("{\"p\":10}", 1), 1, "", "{}",
	    "stale cursor" },
	{ "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"admin\",\"host\":\"h\","
	    "\"cursor\":{}}\n" "a\n" END("{\"p\":1}", 1), 1, "", "{}",
	    "for kind admin" },
	{ "{\"@duo\":\"begin\",\"v\":2,\"kind\":\"auth\",\"host\":\"h\","
	    "\"cursor\":{}}\n" "a\n" END("{\"p\":1}", 1), 1, "", "{}",
	    "version 2" },
	/* Garbage control line: up to the previous mark. */
	{ BEGIN("{}") "a1\n" MARK("{\"p\":1}", 1) "a2\n"
	    "{\"@duo\":\"mark\",\"cursor\":{\n" END("{\"p\":2}", 0), 1,
	    "a1\n", "{\"p\":1}", "line 5" },
	/* A second begin, data after end. */
	{ BEGIN("{}") "a1\n" MARK("{\"p\":1}", 1) BEGIN("{}"), 1, "a1\n",
	    "{\"p\":1}", "second begin" },
	{ BEGIN("{}") "a1\n" END("{\"p\":1}", 1) "a2\n", 1, "a1\n",
	    "{\"p\":1}", "after the end" },
	/* No data, new cursor: the cursor moves, no file. */
	{ BEGIN("{}") END("{\"p\":1}", 0), 0, "", "{\"p\":1}", NULL },
	/* Cursors compare after compaction. */
	{ BEGIN("{ }") "a1\n" END("{\"p\":1}", 1), 0, "a1\n", "{\"p\":1}",
	    NULL },
	/* Control-looking data is control: a data line may not start so. */
	{ BEGIN("{}") "{\"@duo\" :1}\n" END("{\"p\":1}", 1), 0,
	    "{\"@duo\" :1}\n", "{\"p\":1}", NULL },
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
	ck_assert_int_eq(commit(BEGIN("{}") END("{\"p\":1}", 0), NULL, 0,
	    err), 0);
	ck_assert_int_eq(commit("{\"@duo\":\"begin\",\"v\":1,\"kind\":\"auth\","
	    "\"host\":\"api-y.example\",\"cursor\":{\"p\":1}}\n" "a\n"
	    END("{\"p\":2}", 1), NULL, 0, err), 1);
	ck_assert_ptr_nonnull(strstr(err, "api-y.example"));
	ck_assert_int_eq(published(&b), 0);
	stored(&b);
	ck_assert_str_eq(b.p, "{\"p\":1}");
	buf_free(&b);
}
END_TEST

START_TEST(test_progressive)
{
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(commit(BEGIN("{}") "a1\n" MARK("{\"p\":1}", 1)
	    "a2\n" MARK("{\"p\":2}", 1) "a3\n" "a4\n" MARK("{\"p\":3}", 2)
	    "a5\n" END("{\"p\":4}", 1), NULL, 2, err), 0);
	/* Published at p2 (2 records), p3 (2), end (1). */
	ck_assert_int_eq(published(&b), 3);
	ck_assert_str_eq(b.p, "a1\na2\na3\na4\na5\n");
	slurp(p("out/duo-auth-20240501T184507Z-000002.log"), &b);
	ck_assert_str_eq(b.p, "a3\na4\n");
	stored(&b);
	ck_assert_str_eq(b.p, "{\"p\":4}");
	/* Without end, the progressive parts stay published. */
	ck_assert_int_eq(commit(BEGIN("{\"p\":4}") "b1\n" "b2\n"
	    MARK("{\"p\":5}", 2) "b3\n", NULL, 2, err), 3);
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
	ck_assert_int_eq(commit(BEGIN("{\"p\":2}") "a4\n" MARK("{\"p\":3}", 1)
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
	ck_assert_int_eq(ckpt_set(&ck, "{ \"p\" : 7 }", err), 0);
	ckpt_close(&ck);
	stored(&b);
	ck_assert_str_eq(b.p, "{\"p\":7}");
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_set(&ck, "[1]", err), 2);
	ck_assert_int_eq(ckpt_set(&ck, "{", err), 2);
	ckpt_close(&ck);
	ck_assert_int_eq(commit(BEGIN("{\"p\":7}") "x\n" END("{\"p\":8}", 1),
	    NULL, 0, err), 0);
	slurp(p("state/auth.ledger"), &b);
	ck_assert_ptr_nonnull(strstr(b.p, "{\"v\":1,\"op\":\"set\",\"seq\":1,"
	    "\"time\":\"2024-05-01T18:45:07Z\",\"from\":null,\"to\":"
	    "{\"p\":7},\"n\":0,\"mode\":\"none\",\"file\":null"));
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
	    END("{\"p\":1}", 2), NULL, 0, err), 0);
	ck_assert_int_eq(ckpt_status(p("state"), NULL, 1714589107000LL, &b,
	    err), 0);
	ck_assert_str_eq(b.p, "auth host=api-x.example "
	    "last_commit=2024-05-01T18:45:07Z commits=1 records=2 files=1 "
	    "newest=2024-05-01T18:45:00Z lag=7s cursor={\"p\":1}\n");
	buf_reset(&b);
	ck_assert_int_eq(ckpt_status(p("state"), "admin", 0, &b, err), 0);
	ck_assert_str_eq(b.p, "admin host=api-x.example last_commit=- "
	    "commits=0 records=0 files=0 newest=- lag=- cursor={}\n");
	ck_assert_int_eq(ckpt_status(p("state"), "nope", 0, &b, err), 2);
	ck_assert_int_eq(ckpt_status(p("nodir"), NULL, 0, &b, err), 1);
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
	{ "state/auth.cursor", "{\"v\":1,\"seq\":1,\"cursor\":{\"p\":1}",
	    "truncated" },
	{ "state/auth.cursor", "", "truncated" },
	{ "state/auth.cursor", "garbage\n", "corrupt state" },
	{ "state/auth.cursor", "{\"v\":1,\"seq\":1}\n", "corrupt state" },
	{ "state/auth.cursor", "{\"v\":2,\"seq\":1,\"cursor\":{}}\n",
	    "corrupt state" },
	{ "state/auth.cursor", NULL, "state file missing" },
	{ "state/auth.cursor", "{\"v\":1,\"seq\":1,\"cursor\":{\"p\":0}}\n",
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
	ck_assert_int_eq(commit(BEGIN("{}") "a\n" END("{\"p\":1}", 1), NULL,
	    0, err), 0);
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
	ck_assert_int_eq(commit(BEGIN("{}") "b\n" END("{\"p\":1}", 1), NULL,
	    0, err), 1);
	ck_assert_int_eq(commit(BEGIN("{\"p\":1}") "b\n" END("{\"p\":2}", 1),
	    NULL, 0, err), 1);
	ck_assert_int_eq(published(&b), 1);
	ck_assert_str_eq(b.p, "a\n");
	/* status refuses as well (but for a pending intent). */
	buf_reset(&b);
	if (strstr(corrupt[_i].file, "intent") == NULL)
		ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, &b, err),
		    1);
	buf_free(&b);
}
END_TEST

START_TEST(test_set_repairs)
{
	struct ckpt ck;
	char err[DUO_ERRLEN];
	struct buf b;

	buf_init(&b);
	ck_assert_int_eq(commit(BEGIN("{}") "a\n" END("{\"p\":1}", 1), NULL,
	    0, err), 0);
	put("state/auth.cursor", "garbage");
	ck_assert_int_eq(open_ck(&ck, "auth"), 0);
	ck_assert_int_eq(ckpt_set(&ck, "{\"p\":1}", err), 0);
	ckpt_close(&ck);
	stored(&b);
	ck_assert_str_eq(b.p, "{\"p\":1}");
	ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, &b, err), 0);
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
	FILE *fp;
	int st, rc;

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
		fp = fmemopen((void *)STREAM3, strlen(STREAM3), "r");
		_exit(ckpt_commit(&ck, fp, &o, err));
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 77,
	    "step %d did not run", stepno);
	check_no_partial(NULL);
	/* Recovery: up to step 2 the commit is undone, later completed. */
	stored(&b);
	ck_assert_str_eq(b.p, stepno <= CKPT_STEP_INTENT ? "{}" :
	    "{\"p\":2}");
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
	ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, &b, err), 0);
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

/*
 * An intent written by hand: its append left "b1\nb" (torn) behind.
 * Recovery cuts the file back to the recorded offset and appends the
 * spooled bytes again; a spool that does not match is refused.
 */
static void
torn_intent(const char *spool, size_t ledger)
{
	char tmp[2048];

	put("state/auth.spool", spool);
	snprintf(tmp, sizeof tmp, "{\"v\":1,\"kind\":\"auth\",\"seq\":2,"
	    "\"mode\":\"append\",\"tmp\":null,\"file\":\"%s\","
	    "\"offset\":9,\"bytes\":6,\"sha256\":\"%s\",\"ledger\":%zu,"
	    "\"cursor\":{\"p\":3},\"entry\":{\"v\":1,\"op\":\"commit\","
	    "\"seq\":2,\"time\":\"2024-05-01T18:45:07Z\",\"from\":"
	    "{\"p\":2},\"to\":{\"p\":3},\"n\":2,\"mode\":\"append\","
	    "\"file\":\"x\",\"offset\":9,\"bytes\":6,\"sha256\":\"0\","
	    "\"newest\":null}}\n", p("sink.log"),
	    /* printf 'b1\nb2\n' | sha256sum */
	    "60f7d20526ca5e01cb32632d83777bf8bed06baeb7a53bce9e86fecaac0e3f6d",
	    ledger);
	put("state/auth.intent", tmp);
}

START_TEST(test_torn_append)
{
	char err[DUO_ERRLEN];
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
	ck_assert_int_eq(commit(BEGIN("{\"p\":3}") END("{\"p\":3}", 0),
	    "sink.log", 0, err), 1);
	ck_assert_msg(strstr(err, "differs from the intent") != NULL, "%s",
	    err);
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "a1\na2\na3\nb1\nb");
	/* The right spool: cut back to 9 bytes, appended again. */
	torn_intent("b1\nb2\n", l.len);
	stored(&b);
	ck_assert_str_eq(b.p, "{\"p\":3}");
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "a1\na2\na3\nb1\nb2\n");
	ck_assert_int_eq(ckpt_status(p("state"), "auth", 0, &b, err), 0);
	/* A sink changed by someone else is refused. */
	torn_intent("b1\nb2\n", l.len);
	put("sink.log", "short\n");
	{
		struct ckpt ck;

		ck_assert_int_eq(open_ck(&ck, "auth"), 0);
		ck_assert_int_eq(ckpt_get(&ck, err), 1);
		ck_assert_msg(strstr(err, "another program changed it") !=
		    NULL, "%s", err);
		ckpt_close(&ck);
	}
	slurp(p("sink.log"), &b);
	ck_assert_str_eq(b.p, "short\n");
	buf_free(&b);
	buf_free(&l);
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
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
