/* check_cursor: cursor format, paging state machines, time arguments. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/duo.h"

#define NOW	1709210096000LL		/* 2024-02-29T12:34:56Z */

/* ---- parse and format ---- */

static const struct {
	const char	*kind;
	const char	*in;
	const char	*out;	/* NULL: must be refused */
} parse_cases[] = {
	{ "auth", "{}", "{}" },
	{ "auth", " { } ", "{}" },
	{ "auth", "{\"kind\":\"auth\",\"min\":5}",
	    "{\"kind\":\"auth\",\"min\":5}" },
	{ "auth", "{\"min\":5, \"kind\":\"auth\", \"max\":9, "
	    "\"next\":[\"7\", \"a b\"]}",
	    "{\"kind\":\"auth\",\"min\":5,\"max\":9,\"next\":[\"7\",\"a b\"]}" },
	{ "telephony", "{\"kind\":\"telephony\",\"min\":1,\"max\":2,"
	    "\"next\":\"2,x\"}",
	    "{\"kind\":\"telephony\",\"min\":1,\"max\":2,\"next\":\"2,x\"}" },
	{ "trustmonitor", "{\"kind\":\"trustmonitor\",\"min\":1,\"max\":2,"
	    "\"next\":31229}",
	    "{\"kind\":\"trustmonitor\",\"min\":1,\"max\":2,\"next\":31229}" },
	{ "admin", "{\"kind\":\"admin\",\"sec\":100}",
	    "{\"kind\":\"admin\",\"sec\":100,\"seen\":[]}" },
	{ "offline", "{\"kind\":\"offline\",\"sec\":100,\"seen\":"
	    "[\"0123456789abcdef\",\"0123456789abcdef\"]}",
	    "{\"kind\":\"offline\",\"sec\":100,\"seen\":"
	    "[\"0123456789abcdef\",\"0123456789abcdef\"]}" },
	/* refused */
	{ "offline", "{\"kind\":\"offline\",\"sec\":66666666666666662666}",
	    NULL },
	{ "offline", "{\"kind\":\"offline\",\"sec\":253402300800}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":253402300800000}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":1,\"max\":253402300800000}",
	    NULL },
	{ "admin", "{\"kind\":\"auth\",\"min\":5}", NULL },
	{ "auth", "{\"kind\":\"admin\",\"sec\":5}", NULL },
	{ "auth", "{\"min\":5}", NULL },
	{ "auth", "{\"kind\":\"auth\"}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":\"5\"}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":-5}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":5,\"max\":5}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":5,\"next\":\"x\"}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":5,\"max\":9,\"next\":[]}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":5,\"max\":9,\"next\":{}}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":5,\"extra\":1}", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":5", NULL },
	{ "auth", "[]", NULL },
	{ "auth", "", NULL },
	{ "admin", "{\"kind\":\"admin\",\"sec\":1,\"seen\":[\"0123\"]}", NULL },
	{ "admin", "{\"kind\":\"admin\",\"sec\":1,\"seen\":"
	    "[\"0123456789ABCDEF\"]}", NULL },
	{ "admin", "{\"kind\":\"admin\",\"sec\":1,\"seen\":\"x\"}", NULL },
	{ "admin", "{\"kind\":\"admin\",\"sec\":1.5}", NULL },
};

START_TEST(test_parse)
{
	struct cursor c;
	struct buf b;
	char err[DUO_ERRLEN];
	int kind, r;

	kind = cursor_kind(parse_cases[_i].kind);
	ck_assert_int_ge(kind, 0);
	cursor_init(&c, kind);
	buf_init(&b);
	r = cursor_parse(&c, kind, parse_cases[_i].in,
	    strlen(parse_cases[_i].in), err);
	if (parse_cases[_i].out == NULL) {
		ck_assert_int_eq(r, -1);
	} else {
		ck_assert_msg(r == 0, "%s: %s", parse_cases[_i].in, err);
		cursor_format(&c, &b);
		ck_assert_str_eq(b.p, parse_cases[_i].out);
		/* And the formatted text parses to itself. */
		ck_assert_int_eq(cursor_parse(&c, kind, b.p, b.len, err), 0);
		buf_reset(&b);
		cursor_format(&c, &b);
		ck_assert_str_eq(b.p, parse_cases[_i].out);
	}
	buf_free(&b);
	cursor_free(&c);
}
END_TEST

START_TEST(test_kinds)
{
	ck_assert_int_eq(cursor_kind("auth"), KIND_AUTH);
	ck_assert_int_eq(cursor_kind("trustmonitor"), KIND_TRUSTMONITOR);
	ck_assert_int_eq(cursor_kind("Auth"), -1);
	ck_assert_int_eq(cursor_kind(""), -1);
	ck_assert_int_eq(cursor_isv1(KIND_ADMIN), 1);
	ck_assert_int_eq(cursor_isv1(KIND_OFFLINE), 1);
	ck_assert_int_eq(cursor_isv1(KIND_ACTIVITY), 0);
	ck_assert_str_eq(cursor_kindname(KIND_OFFLINE), "offline");
}
END_TEST

/* ---- requests ---- */

static const char *
param(const struct cursor_req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nparams; i++)
		if (strcmp(r->params[i].name, name) == 0)
			return r->params[i].value;
	return NULL;
}

static const struct {
	const char	*kind;
	const char	*cursor;
	long		 limit;
	const char	*path;
	const char	*mintime, *maxtime, *lim, *sort, *offname, *off;
} req_cases[] = {
	{ "auth", "{\"kind\":\"auth\",\"min\":1000}", 0,
	    "/admin/v2/logs/authentication", "1000", "5000", "1000",
	    "ts:asc", "next_offset", NULL },
	{ "auth", "{\"kind\":\"auth\",\"min\":1000,\"max\":2000,"
	    "\"next\":[\"1500\",\"tx-1\"]}", 10,
	    "/admin/v2/logs/authentication", "1000", "2000", "10",
	    "ts:asc", "next_offset", "1500,tx-1" },
	{ "telephony", "{\"kind\":\"telephony\",\"min\":1000,\"max\":2000,"
	    "\"next\":\"1500,tel\\/1\"}", 5000,
	    "/admin/v2/logs/telephony", "1000", "2000", "1000", "ts:asc",
	    "next_offset", "1500,tel/1" },
	{ "activity", "{\"kind\":\"activity\",\"min\":1}", 7,
	    "/admin/v2/logs/activity", "1", "5000", "7", "ts:asc",
	    "next_offset", NULL },
	{ "trustmonitor", "{\"kind\":\"trustmonitor\",\"min\":1000,"
	    "\"max\":2000,\"next\":31229}", 1000,
	    "/admin/v1/trust_monitor/events", "1000", "2000", "500", NULL,
	    "offset", "31229" },
	{ "admin", "{\"kind\":\"admin\",\"sec\":4}", 0,
	    "/admin/v1/logs/administrator", "4", NULL, NULL, NULL, NULL,
	    NULL },
	{ "offline", "{\"kind\":\"offline\",\"sec\":5}", 0,
	    "/admin/v1/logs/offline_enrollment", "5", NULL, NULL, NULL, NULL,
	    NULL },
};

START_TEST(test_request)
{
	struct cursor c;
	struct cursor_req r;
	char err[DUO_ERRLEN];
	int kind = cursor_kind(req_cases[_i].kind);

	cursor_init(&c, kind);
	ck_assert_int_eq(cursor_parse(&c, kind, req_cases[_i].cursor,
	    strlen(req_cases[_i].cursor), err), 0);
	ck_assert_int_eq(cursor_request(&c, 5000, req_cases[_i].limit, &r),
	    1);
	ck_assert_str_eq(r.path, req_cases[_i].path);
#define P(name, want) do {						\
	const char *g = param(&r, name);				\
	if ((want) == NULL)						\
		ck_assert_msg(g == NULL, "%s present", name);		\
	else {								\
		ck_assert_msg(g != NULL, "%s missing", name);		\
		ck_assert_str_eq(g, (want));				\
	}								\
} while (0)
	P("mintime", req_cases[_i].mintime);
	P("maxtime", req_cases[_i].maxtime);
	P("limit", req_cases[_i].lim);
	P("sort", req_cases[_i].sort);
	if (req_cases[_i].offname != NULL)
		P(req_cases[_i].offname, req_cases[_i].off);
	P(strcmp(req_cases[_i].kind, "trustmonitor") == 0 ? "next_offset" :
	    "offset", (const char *)NULL);
#undef P
	cursor_free(&c);
}
END_TEST

START_TEST(test_request_bounds)
{
	struct cursor c;
	struct cursor_req r;

	/* v2: nothing when min >= bound (Duo wants mintime < maxtime). */
	cursor_init(&c, KIND_AUTH);
	cursor_since(&c, 5000);
	ck_assert_int_eq(cursor_request(&c, 5000, 0, &r), 0);
	ck_assert_int_eq(cursor_request(&c, 4000, 0, &r), 0);
	ck_assert_int_eq(cursor_request(&c, 5001, 0, &r), 1);
	cursor_free(&c);
	/* A fresh cursor asks for nothing until since is set. */
	cursor_init(&c, KIND_AUTH);
	ck_assert_int_eq(cursor_request(&c, 5001, 0, &r), 0);
	cursor_free(&c);
	/* v1: second granularity, the bound second is included. */
	cursor_init(&c, KIND_ADMIN);
	cursor_since(&c, 5999);
	ck_assert_int_eq(c.sec, 5);
	ck_assert_int_eq(cursor_request(&c, 4999, 0, &r), 0);
	ck_assert_int_eq(cursor_request(&c, 5000, 0, &r), 1);
	cursor_free(&c);
}
END_TEST

/* ---- v2 pages ---- */

static int
take(struct cursor *c, const char *body, int64_t bound, long limit,
    struct buf *out, size_t *n, int *flags)
{
	char err[DUO_ERRLEN];

	return cursor_page(c, body, strlen(body), bound, limit, out, n, flags,
	    err);
}

START_TEST(test_v2_window)
{
	struct cursor c;
	struct cursor_req r;
	struct buf out, f;
	size_t n;
	int flags;

	cursor_init(&c, KIND_AUTH);
	buf_init(&out);
	buf_init(&f);
	cursor_since(&c, 1000);
	ck_assert_int_eq(cursor_request(&c, 9000, 2, &r), 1);
	/* The window is fixed at [1000, 9000] while paging. */
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{"
	    "\"authlogs\":[ {\"a\": 1,\n \"s\":\"x y\"}, {\"a\":2} ],"
	    "\"metadata\":{\"next_offset\":[\"1500\",\"t2\"],"
	    "\"total_objects\":3}}}", 9000, 2, &out, &n, &flags), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(flags, 0);
	ck_assert_str_eq(out.p, "{\"a\":1,\"s\":\"x y\"}\n{\"a\":2}\n");
	cursor_format(&c, &f);
	ck_assert_str_eq(f.p, "{\"kind\":\"auth\",\"min\":1000,\"max\":9000,"
	    "\"next\":[\"1500\",\"t2\"]}");
	/* A later bound does not move the open window. */
	ck_assert_int_eq(cursor_request(&c, 20000, 2, &r), 1);
	ck_assert_str_eq(param(&r, "maxtime"), "9000");
	ck_assert_str_eq(param(&r, "next_offset"), "1500,t2");
	buf_reset(&out);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{"
	    "\"authlogs\":[{\"a\":3}],\"metadata\":{\"next_offset\":null}}}",
	    9000, 2, &out, &n, &flags), 0);
	ck_assert_int_eq(n, 1);
	buf_reset(&f);
	cursor_format(&c, &f);
	ck_assert_str_eq(f.p, "{\"kind\":\"auth\",\"min\":9001}");
	ck_assert_int_eq(cursor_request(&c, 9000, 2, &r), 0);
	ck_assert_int_eq(cursor_request(&c, 9001, 2, &r), 0);
	ck_assert_int_eq(cursor_request(&c, 9002, 2, &r), 1);
	ck_assert_str_eq(param(&r, "mintime"), "9001");
	ck_assert_str_eq(param(&r, "maxtime"), "9002");
	/* An empty last page without metadata also closes the window. */
	buf_reset(&out);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{"
	    "\"authlogs\":[]}}", 9002, 2, &out, &n, &flags), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(c.min, 9003);
	ck_assert_int_eq(c.max, 0);
	buf_free(&out);
	buf_free(&f);
	cursor_free(&c);
}
END_TEST

START_TEST(test_v2_shapes)
{
	struct cursor c;
	struct cursor_req r;
	struct buf out;
	size_t n;
	int flags;

	buf_init(&out);
	/* Telephony/activity: items and a string next_offset. */
	cursor_init(&c, KIND_ACTIVITY);
	cursor_since(&c, 10);
	ck_assert_int_eq(cursor_request(&c, 90, 0, &r), 1);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{\"items\":"
	    "[{\"ts\":\"x\"}],\"metadata\":{\"next_offset\":\"20,ab\"}}}", 90,
	    0, &out, &n, &flags), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(cursor_request(&c, 90, 0, &r), 1);
	ck_assert_str_eq(param(&r, "next_offset"), "20,ab");
	/* The same offset again with nothing new: no endless loop. */
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{\"items\":"
	    "[],\"metadata\":{\"next_offset\":\"20,ab\"}}}", 90, 0, &out, &n,
	    &flags), 0);
	ck_assert_int_eq(flags, CURSOR_NOPROGRESS);
	ck_assert_int_eq(c.min, 91);
	ck_assert_int_eq(c.max, 0);
	/* Wrong shapes are errors, not silently empty pages. */
	ck_assert_int_eq(cursor_request(&c, 200, 0, &r), 1);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{\"authlogs\":"
	    "[]}}", 200, 0, &out, &n, &flags), -1);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{\"items\":"
	    "{}}}", 200, 0, &out, &n, &flags), -1);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{\"items\":"
	    "[1]}}", 200, 0, &out, &n, &flags), -1);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\"}", 200, 0, &out, &n,
	    &flags), -1);
	cursor_free(&c);
	/* Trust Monitor: events, numeric offset goes back as offset. */
	cursor_init(&c, KIND_TRUSTMONITOR);
	cursor_since(&c, 10);
	ck_assert_int_eq(cursor_request(&c, 90, 0, &r), 1);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{\"events\":"
	    "[{\"e\":1},{\"e\":2}],\"metadata\":{\"next_offset\":2}}}", 90, 0,
	    &out, &n, &flags), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(cursor_request(&c, 90, 0, &r), 1);
	ck_assert_str_eq(param(&r, "offset"), "2");
	cursor_free(&c);
	buf_free(&out);
}
END_TEST

/* ---- v1 pages, against a model of Duo's v1 log handler ---- */

#define MAXREC	4000

struct v1data {
	long long	ts[MAXREC];
	int		val[MAXREC];	/* equal val: byte-identical */
	int		visible[MAXREC];
	int		n;
	int		got[MAXREC];	/* deliveries per record */
};

/*
 * The page Duo returns for mintime: the first `page` visible records
 * with ts >= mintime in time order, extended by every further record
 * of the last record's second when extend is set.
 */
static void
v1_serve(const struct v1data *d, long long mintime, int page, int extend,
    struct buf *b)
{
	int i, k = 0;
	long long last = -1;

	buf_reset(b);
	xbuf_adds(b, "{\"stat\":\"OK\",\"response\":[");
	for (i = 0; i < d->n; i++) {
		if (!d->visible[i] || d->ts[i] < mintime)
			continue;
		if (k >= page && (!extend || d->ts[i] != last))
			break;
		xbuf_printf(b, "%s{\"timestamp\": %lld, \"a\": %d}",
		    k ? ", " : "", d->ts[i], d->val[i]);
		last = d->ts[i];
		k++;
	}
	xbuf_adds(b, "]}");
}

/* Count the deliveries in out against the dataset. */
static void
v1_count(struct v1data *d, const struct buf *out)
{
	const char *p = out->p, *e;
	long long ts;
	int val, i, cnt;

	if (out->len == 0)
		return;
	while ((e = strchr(p, '\n')) != NULL) {
		ck_assert_int_eq(sscanf(p, "{\"timestamp\":%lld,\"a\":%d}",
		    &ts, &val), 2);
		/* Identical records: credit the least-delivered copy. */
		cnt = -1;
		for (i = 0; i < d->n; i++)
			if (d->ts[i] == ts && d->val[i] == val &&
			    (cnt == -1 || d->got[i] < d->got[cnt]))
				cnt = i;
		ck_assert_int_ge(cnt, 0);
		d->got[cnt]++;
		p = e + 1;
	}
}

/* Run duo-get's loop with a resume (format, parse) after every page. */
static int
v1_run(struct v1data *d, struct cursor *c, int64_t bound, int page,
    int extend, long limit, int *noprog)
{
	struct cursor_req r;
	struct buf body, out, f;
	char err[DUO_ERRLEN];
	size_t n;
	int flags, pages = 0;

	buf_init(&body);
	buf_init(&out);
	buf_init(&f);
	while (cursor_request(c, bound, limit, &r) == 1) {
		ck_assert_int_lt(pages, 10000);
		v1_serve(d, atoll(param(&r, "mintime")), page, extend, &body);
		buf_reset(&out);
		ck_assert_int_eq(take(c, body.p, bound, limit, &out, &n,
		    &flags), 0);
		if (flags & CURSOR_NOPROGRESS)
			(*noprog)++;
		v1_count(d, &out);
		pages++;
		if (!c->done) {
			/* A resumed run asks once more from sec, which
			 * the model skips; the cursor must say the rest. */
			int64_t hop = c->hop;

			buf_reset(&f);
			cursor_format(c, &f);
			ck_assert_int_eq(cursor_parse(c, c->kind, f.p, f.len,
			    err), 0);
			c->hop = hop;
		}
	}
	buf_free(&body);
	buf_free(&out);
	buf_free(&f);
	return pages;
}

static void
v1_fill(struct v1data *d, unsigned seed)
{
	long long ts = 100;
	int i, burst;

	memset(d, 0, sizeof *d);
	srand(seed);
	for (i = 0; i < MAXREC; ) {
		/* bursts: up to 40 records in one second, some identical */
		burst = rand() % 8 == 0 ? 1 + rand() % 40 : 1 + rand() % 3;
		for (; burst > 0 && i < MAXREC; burst--, i++) {
			d->ts[i] = ts;
			d->val[i] = rand() % 6 == 0 && i > 0 &&
			    d->ts[i - 1] == ts ? d->val[i - 1] : i;
			d->visible[i] = 1;
		}
		ts += 1 + rand() % 3;
	}
	d->n = MAXREC;
}

static const struct {
	int	page;		/* Duo's page size */
	int	extend;		/* Duo extends to the whole last second */
	long	limit;		/* duo-get -n */
} v1_cases[] = {
	{ 1000, 1, 0 },
	{ 7, 1, 7 },
	{ 3, 1, 3 },
	{ 50, 1, 50 },
	{ 50, 0, 50 },	/* no extension: boundary second refetched */
	{ 20, 0, 20 },	/* and seconds larger than a page */
};

START_TEST(test_v1_exactly_once)
{
	static struct v1data d;
	struct cursor c;
	int i, noprog = 0, lost = 0;
	long long split;

	v1_fill(&d, 7u + (unsigned)_i);
	/* Half the data, then more of the same second becomes visible
	 * (settling), then the rest. */
	split = d.ts[MAXREC / 2];
	for (i = 0; i < d.n; i++)
		if (d.ts[i] > split || (d.ts[i] == split && i % 2))
			d.visible[i] = 0;
	cursor_init(&c, KIND_ADMIN);
	cursor_since(&c, 0);
	v1_run(&d, &c, 10000000LL * 1000, v1_cases[_i].page,
	    v1_cases[_i].extend, v1_cases[_i].limit, &noprog);
	for (i = 0; i < d.n; i++)
		d.visible[i] = 1;
	c.done = 0;
	v1_run(&d, &c, 10000000LL * 1000, v1_cases[_i].page,
	    v1_cases[_i].extend, v1_cases[_i].limit, &noprog);
	for (i = 0; i < d.n; i++) {
		ck_assert_msg(d.got[i] <= 1, "record %d delivered %d times",
		    i, d.got[i]);
		lost += d.got[i] == 0;
	}
	if (v1_cases[_i].extend)
		ck_assert_int_eq(lost, 0);
	else if (lost > 0) {
		/* Without extension a second with more records than a
		 * page cannot be drained; duo-get steps on and says so. */
		ck_assert_int_gt(noprog, 0);
	}
	if (v1_cases[_i].page == 20)
		ck_assert_int_gt(lost, 0);	/* the model can lose */
	cursor_free(&c);
}
END_TEST

START_TEST(test_v1_bound)
{
	static struct v1data d;
	struct cursor c;
	int i, noprog = 0;

	v1_fill(&d, 99);
	cursor_init(&c, KIND_OFFLINE);
	cursor_since(&c, 0);
	/* Nothing after the bound second is delivered ... */
	v1_run(&d, &c, d.ts[1000] * 1000 + 999, 300, 1, 300, &noprog);
	for (i = 0; i < d.n; i++)
		ck_assert_int_eq(d.got[i], d.ts[i] <= d.ts[1000]);
	ck_assert_int_eq(c.sec, d.ts[1000]);
	/* ... and a later run takes exactly the rest. */
	c.done = 0;
	v1_run(&d, &c, 10000000LL * 1000, 300, 1, 300, &noprog);
	for (i = 0; i < d.n; i++)
		ck_assert_int_eq(d.got[i], 1);
	ck_assert_int_eq(noprog, 0);
	cursor_free(&c);
}
END_TEST

START_TEST(test_v1_ids)
{
	struct cursor c;
	struct buf out, f;
	size_t n;
	int flags;

	/* Ids are SHA-256 of the compact record, first 16 hex digits
	 * (values computed with python3 hashlib). */
	cursor_init(&c, KIND_ADMIN);
	cursor_since(&c, 100000);
	buf_init(&out);
	buf_init(&f);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":["
	    "{\"timestamp\":99,\"a\":0},"
	    "{\"timestamp\": 100, \"a\": 1},{\"timestamp\":100,\"a\":2}]}",
	    200000, 0, &out, &n, &flags), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(out.p, "{\"timestamp\":100,\"a\":1}\n"
	    "{\"timestamp\":100,\"a\":2}\n");
	cursor_format(&c, &f);
	ck_assert_str_eq(f.p, "{\"kind\":\"admin\",\"sec\":100,\"seen\":["
	    "\"f604f63e8c4e889b\",\"da9d3130fdfaba93\"]}");
	ck_assert_int_eq(c.done, 1);
	/* A record without a timestamp is an error. */
	c.done = 0;
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":[{\"a\":1}]}",
	    200000, 0, &out, &n, &flags), -1);
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{}}",
	    200000, 0, &out, &n, &flags), -1);
	buf_free(&out);
	buf_free(&f);
	cursor_free(&c);
}
END_TEST

/* ---- the byte scanner that finds records ---- */

static const struct {
	const char	*in;
	int		 ok;
} scan_cases[] = {
	{ "{}", 1 },
	{ " {\"a\" : [1, -2.5e3, true, null, {\"b\":\"x\\\"]\"}]} ", 1 },
	{ "[]", 1 },
	{ "\"s\"", 1 },
	{ "{\"a\":1", 0 },		/* cut */
	{ "{\"a\":[1,2}", 0 },
	{ "{\"a\" 1}", 0 },
	{ "{\"a\":1,}", 0 },
	{ "{a:1}", 0 },
	{ "[1 2]", 0 },
	{ "{\"a\":\"x\ny\"}", 0 },	/* raw control byte in a string */
	{ "{\"a\":\"x", 0 },
	{ "{} {}", 0 },
	{ "", 0 },
	{ "<html>", 0 },
};

START_TEST(test_scan)
{
	ck_assert_int_eq(cursor_scan(scan_cases[_i].in,
	    strlen(scan_cases[_i].in)), scan_cases[_i].ok ? 0 : -1);
}
END_TEST

START_TEST(test_member)
{
	const char *s = "{\"x\":{\"response\":1},\"stat\" : \"OK\" ,"
	    "\"response\": [1, {\"a\":2}] }";
	size_t vs, ve;

	ck_assert_int_eq(cursor_member(s, strlen(s), 0, "stat", &vs, &ve), 0);
	ck_assert_int_eq((int)(ve - vs), 4);
	ck_assert_int_eq(memcmp(s + vs, "\"OK\"", 4), 0);
	ck_assert_int_eq(cursor_member(s, strlen(s), 0, "response", &vs, &ve),
	    0);
	ck_assert_int_eq(memcmp(s + vs, "[1, {\"a\":2}]", ve - vs), 0);
	ck_assert_int_eq(cursor_member(s, strlen(s), 0, "nope", &vs, &ve), -1);
	ck_assert_int_eq(cursor_member("{}", 2, 0, "a", &vs, &ve), -1);
	ck_assert_int_eq(cursor_member("[]", 2, 0, "a", &vs, &ve), -1);
}
END_TEST

START_TEST(test_bad_page_unchanged)
{
	struct cursor c;
	struct cursor_req r;
	struct buf out, f;
	size_t n;
	int flags;

	/* A record that is not valid JSON inside a well-formed page:
	 * nothing written, the cursor as it was. */
	cursor_init(&c, KIND_TELEPHONY);
	cursor_since(&c, 10);
	ck_assert_int_eq(cursor_request(&c, 90, 0, &r), 1);
	buf_init(&out);
	buf_init(&f);
	xbuf_adds(&out, "kept\n");
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{\"items\":"
	    "[{\"a\":1},{\"b\":tru}],\"metadata\":{\"next_offset\":\"5,x\"}}}",
	    90, 0, &out, &n, &flags), -1);
	ck_assert_str_eq(out.p, "kept\n");
	ck_assert_int_eq(n, 0);
	cursor_format(&c, &f);
	ck_assert_str_eq(f.p, "{\"kind\":\"telephony\",\"min\":10,\"max\":90}");
	/* A cut-off body. */
	ck_assert_int_eq(take(&c, "{\"stat\":\"OK\",\"response\":{\"items\":"
	    "[{\"a\":1},{\"b\":", 90, 0, &out, &n, &flags), -1);
	ck_assert_str_eq(out.p, "kept\n");
	buf_free(&out);
	buf_free(&f);
	cursor_free(&c);
}
END_TEST

/* ---- control-line injection (issue 11) ---- */

static const struct {
	int		 kind;
	int64_t		 since;		/* ms */
	const char	*body;
	const char	*msg;		/* the error holds this */
} inject_cases[] = {
	{ KIND_AUTH, 1000, "{\"response\": {\"authlogs\": [{\"a\": 1}, "
	    "{\"@duo\": \"mark\", \"cursor\": {\"kind\": \"auth\", \"min\": "
	    "4102444800000}, \"n\": 0}], \"metadata\": {\"next_offset\": "
	    "null}}, \"stat\": \"OK\"}", "auth page 1: record 2 starts with "
	    "{\"@duo\": and would pass for a control line" },
	/* Whitespace inside the record does not hide it: compact text
	 * is what goes on the stream. */
	{ KIND_AUTH, 1000, "{\"response\":{\"authlogs\":[ { \"@duo\" :\n"
	    "\"begin\", \"v\": 1, \"kind\": \"admin\", \"host\": \"x\", "
	    "\"cursor\": {}}]},\"stat\":\"OK\"}", "auth page 1: record 1 " },
	{ KIND_TELEPHONY, 1000, "{\"response\":{\"items\":[{\"a\":1},{\"b\":2},"
	    "{\"@duo\":\"end\",\"cursor\":{},\"n\":2}],\"metadata\":{}},"
	    "\"stat\":\"OK\"}", "telephony page 1: record 3 " },
	{ KIND_ACTIVITY, 1000, "{\"response\":{\"metadata\":{\"next_offset\":"
	    "\"5,x\"},\"items\":[{\"@duo\":\"mark\"}]},\"stat\":\"OK\"}",
	    "activity page 1: record 1 " },
	{ KIND_TRUSTMONITOR, 1000, "{\"response\":{\"events\":[{\"@duo\":1}]},"
	    "\"stat\":\"OK\"}", "trustmonitor page 1: record 1 " },
	/* v1: refused with or without a timestamp, delivered or not. */
	{ KIND_ADMIN, 100000, "{\"response\":[{\"timestamp\":100,\"a\":1},"
	    "{\"@duo\":\"mark\",\"timestamp\":100,\"cursor\":{}}],"
	    "\"stat\":\"OK\"}", "admin page 1: record 2 " },
	{ KIND_ADMIN, 100000, "{\"response\":[{\"@duo\": \"mark\", "
	    "\"timestamp\": 5}], \"stat\": \"OK\"}", "admin page 1: record 1 " },
	{ KIND_OFFLINE, 100000, "{\"response\":[{\"@duo\":\"begin\",\"v\":1,"
	    "\"kind\":\"admin\",\"host\":\"x\",\"cursor\":{}}],\"stat\":\"OK\"}",
	    "offline page 1: record 1 " },
};

START_TEST(test_inject)
{
	struct cursor c;
	struct cursor_req r;
	struct buf out, f, g;
	char err[DUO_ERRLEN];
	size_t n = 77;
	int flags;

	cursor_init(&c, inject_cases[_i].kind);
	cursor_since(&c, inject_cases[_i].since);
	ck_assert_int_eq(cursor_request(&c, 200000, 0, &r), 1);
	buf_init(&out);
	buf_init(&f);
	buf_init(&g);
	cursor_format(&c, &f);
	xbuf_adds(&out, "kept\n");
	err[0] = '\0';
	ck_assert_int_eq(cursor_page(&c, inject_cases[_i].body,
	    strlen(inject_cases[_i].body), 200000, 0, &out, &n, &flags, err),
	    -1);
	ck_assert_msg(strstr(err, inject_cases[_i].msg) != NULL, "%s", err);
	ck_assert_msg(strstr(err, "control line") != NULL, "%s", err);
	/* Nothing of the page, and the cursor as it was. */
	ck_assert_str_eq(out.p, "kept\n");
	ck_assert_int_eq(n, 0);
	cursor_format(&c, &g);
	ck_assert_str_eq(g.p, f.p);
	ck_assert_int_eq(c.done, 0);
	buf_free(&out);
	buf_free(&f);
	buf_free(&g);
	cursor_free(&c);
}
END_TEST

/* The page number counts every page handed over, good or bad. */
START_TEST(test_inject_pageno)
{
	struct cursor c;
	struct cursor_req r;
	struct buf out;
	char err[DUO_ERRLEN];
	size_t n;
	int flags;
	const char *good = "{\"response\":{\"authlogs\":[{\"a\":1}],"
	    "\"metadata\":{\"next_offset\":[\"1500\",\"t\"]}},\"stat\":\"OK\"}";
	const char *bad = "{\"response\":{\"authlogs\":[{\"@duo\":\"x\"}],"
	    "\"metadata\":{\"next_offset\":null}},\"stat\":\"OK\"}";

	cursor_init(&c, KIND_AUTH);
	cursor_since(&c, 1000);
	buf_init(&out);
	ck_assert_int_eq(cursor_request(&c, 9000, 0, &r), 1);
	ck_assert_int_eq(cursor_page(&c, good, strlen(good), 9000, 0, &out,
	    &n, &flags, err), 0);
	ck_assert_int_eq(cursor_page(&c, good, strlen(good), 9000, 0, &out,
	    &n, &flags, err), 0);
	ck_assert_int_eq(cursor_page(&c, bad, strlen(bad), 9000, 0, &out,
	    &n, &flags, err), -1);
	ck_assert_msg(strstr(err, "auth page 3: record 1 ") != NULL, "%s",
	    err);
	ck_assert_str_eq(out.p, "{\"a\":1}\n{\"a\":1}\n");
	buf_free(&out);
	cursor_free(&c);
}
END_TEST

/* Records that only look like control lines pass unchanged. */
static const char *const noinject[] = {
	"{\"a\":1,\"@duo\":\"mark\"}",
	"{\"@duox\":\"mark\"}",
	"{\"\\u0040duo\":\"mark\"}",
	"{\"@Duo\":\"mark\"}",
	"{\"@duo\"}",		/* invalid anyway: see below */
};

START_TEST(test_noinject)
{
	struct cursor c;
	struct cursor_req r;
	struct buf body, out, want;
	char err[DUO_ERRLEN];
	size_t n;
	int flags, rc;

	cursor_init(&c, KIND_AUTH);
	cursor_since(&c, 1000);
	ck_assert_int_eq(cursor_request(&c, 9000, 0, &r), 1);
	buf_init(&body);
	buf_init(&out);
	buf_init(&want);
	xbuf_printf(&body, "{\"response\":{\"authlogs\":[%s]},\"stat\":"
	    "\"OK\"}", noinject[_i]);
	rc = cursor_page(&c, body.p, body.len, 9000, 0, &out, &n, &flags,
	    err);
	if (_i == 4) {
		ck_assert_int_eq(rc, -1);
		ck_assert_ptr_null(strstr(err, "control line"));
	} else {
		ck_assert_msg(rc == 0, "%s", err);
		xbuf_printf(&want, "%s\n", noinject[_i]);
		ck_assert_str_eq(out.p, want.p);
	}
	buf_free(&body);
	buf_free(&out);
	buf_free(&want);
	cursor_free(&c);
}
END_TEST

/* ---- one pass: the same records out as json_parse + json_compact ---- */

static const char *const onepass_recs[] = {
	"{\"a\": 1, \"b\" :\t[1 ,2, {\"c\" : null}], \"d\":\r\n\"x y\"}",
	"{\"s\": \"sp ace\\t\\\" \\\\\\\" \\u00e9 \\ud83d\\ude00 \\/ , : { [\"}",
	"{\"u\": \"caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80\"}",
	"{ }",
	"{\"e\": [ ], \"o\": { }, \"n\": -0.5e+10, \"t\": true, \"f\": false}",
	"{\"k\\\"ey\": \"v\", \"\": \"\"}",
	"{\"deep\": [[[[[[[[[[{\"x\": [1, [2, [3]]]}]]]]]]]]]]}",
	"{\"num\": 123456789012345678901234567890}",
	/* invalid: each must refuse the page */
	"{\"a\": 01}",
	"{\"a\": tru}",
	"{\"a\": [1,]}",
	"{\"a\" 1}",
	"{\"a\": 1,}",
	"{\"a\": \"x\ny\"}",
	"{\"a\": \"\\x\"}",
	"{\"a\": \"\\u12g4\"}",
	"{\"a\": \"\xc3\x28\"}",
	"{\"a\": \"\xed\xa0\x80\"}",
	"{\"a\": \"\xf4\x90\x80\x80\"}",
	"{\"a\": -}",
	"{\"a\": 1.}",
	"{\"a\": .5}",
	"{\"a\": 1e}",
	"{\"a\": nul}",
	"{\"a\": NaN}",
	"{\"a\": \"x\"",
	"{\"a\": {\"b\": 1}",
	"{a: 1}",
	"[1]",
	"\"s\"",
	"{\"a\": 1}}",
};

static void
onepass_page(int kind, const char *rec, struct buf *body)
{
	buf_reset(body);
	if (cursor_isv1(kind))
		xbuf_printf(body, "{\"stat\": \"OK\", \"response\": [%s]}", rec);
	else
		xbuf_printf(body, "{\"response\": {\"%s\": [%s], "
		    "\"metadata\": {\"next_offset\": null}}, \"stat\": \"OK\"}",
		    kind == KIND_AUTH ? "authlogs" : "items", rec);
}

START_TEST(test_onepass)
{
	static const int kk[] = { KIND_AUTH, KIND_TELEPHONY };
	struct cursor c;
	struct cursor_req r;
	struct json js;
	struct buf body, out, want;
	char err[DUO_ERRLEN], jerr[DUO_ERRLEN];
	const char *rec = onepass_recs[_i];
	size_t n, k;
	int flags, rc, ok;

	json_init(&js);
	buf_init(&body);
	buf_init(&out);
	buf_init(&want);
	ok = json_parse(&js, rec, strlen(rec), jerr) == 0 &&
	    js.tok[0].type == JSMN_OBJECT;
	if (ok) {
		json_compact(&want, rec, strlen(rec));
		xbuf_addc(&want, '\n');
	}
	for (k = 0; k < sizeof kk / sizeof kk[0]; k++) {
		cursor_init(&c, kk[k]);
		cursor_since(&c, 1000);
		ck_assert_int_eq(cursor_request(&c, 9000, 0, &r), 1);
		onepass_page(kk[k], rec, &body);
		buf_reset(&out);
		rc = cursor_page(&c, body.p, body.len, 9000, 0, &out, &n,
		    &flags, err);
		if (ok) {
			ck_assert_msg(rc == 0, "%s: %s", rec, err);
			ck_assert_str_eq(out.p, want.p);
			ck_assert_int_eq(n, 1);
		} else {
			ck_assert_msg(rc == -1, "%s accepted", rec);
			ck_assert_int_eq(out.len, 0);
		}
		cursor_free(&c);
	}
	/* The same record in a v1 page, with a timestamp first. */
	if (rec[0] == '{' && rec[1] != ' ' && rec[1] != '}') {
		cursor_init(&c, KIND_ADMIN);
		cursor_since(&c, 100000);
		buf_reset(&body);
		buf_reset(&want);
		xbuf_printf(&body, "{\"response\": [{\"timestamp\": 100, %s]}",
		    rec + 1);
		buf_reset(&out);
		rc = cursor_page(&c, body.p, body.len, 200000, 0, &out, &n,
		    &flags, err);
		if (ok) {
			xbuf_adds(&want, "{\"timestamp\":100,");
			json_compact(&want, rec + 1, strlen(rec + 1));
			xbuf_addc(&want, '\n');
			ck_assert_msg(rc == 0, "%s: %s", rec, err);
			ck_assert_str_eq(out.p, want.p);
		} else
			ck_assert_msg(rc == -1, "v1 %s accepted", rec);
		cursor_free(&c);
	}
	json_free(&js);
	buf_free(&body);
	buf_free(&out);
	buf_free(&want);
}
END_TEST

/* The envelope is checked as strictly as the records. */
static const struct {
	int		 kind;
	const char	*body;
	const char	*out;	/* NULL: refused */
} envelope_cases[] = {
	{ KIND_AUTH, "{\"stat\": tru, \"response\": {\"authlogs\": []}}", NULL },
	{ KIND_AUTH, "{\"stat\": \"\xc3\x28\", \"response\": {\"authlogs\": "
	    "[]}}", NULL },
	{ KIND_AUTH, "{\"response\": {\"authlogs\": [], \"x\": 01}}", NULL },
	{ KIND_AUTH, "{\"response\": {\"authlogs\": [{\"a\":1}]}} x", NULL },
	{ KIND_AUTH, "{\"response\": {\"authlogs\": [{\"a\":1}]}}{}", NULL },
	{ KIND_AUTH, "{\"response\": {\"authlogs\": [{\"a\":1}] ", NULL },
	{ KIND_AUTH, "{\"response\": {\"authlogs\": [{\"a\":1}, ]}}", NULL },
	{ KIND_AUTH, "{\"response\": {\"authlogs\": [{\"a\":1} {\"b\":2}]}}",
	    NULL },
	{ KIND_AUTH, "{\"response\": {\"authlogs\": [{\"a\":1}]},}", NULL },
	{ KIND_AUTH, "{\"response\" {\"authlogs\": []}}", NULL },
	{ KIND_AUTH, "[{\"response\": {\"authlogs\": []}}]", NULL },
	{ KIND_AUTH, "{\"response\": {\"items\": []}}", NULL },
	{ KIND_AUTH, "{\"response\": {\"authlogs\": {}}}", NULL },
	/* cut right after a colon (found by fuzz_page: a read past the
	 * end) */
	{ KIND_AUTH, "{\"response\":", NULL },
	{ KIND_AUTH, "{\"response\": ", NULL },
	{ KIND_AUTH, "{\"response\": {\"authlogs\":", NULL },
	{ KIND_AUTH, "{\"response\": {\"metadata\":", NULL },
	{ KIND_ADMIN, "{\"response\":", NULL },
	{ KIND_ADMIN, "{\"response\": [{\"timestamp\":", NULL },
	{ KIND_ADMIN, "{\"response\": {}}", NULL },
	{ KIND_ADMIN, "{\"response\": [1]}", NULL },
	{ KIND_ADMIN, "{\"response\": [{\"timestamp\": \"100\"}]}", NULL },
	{ KIND_ADMIN, "{\"response\": [{\"timestamp\": 100.0}]}", NULL },
	{ KIND_ADMIN, "{\"response\": [{\"timestamp\": -100}]}", NULL },
	/* accepted: any member order, whitespace, escaped names */
	{ KIND_AUTH, " \r\n{ \"stat\" : \"OK\" , \"response\" : { \"metadata\" :"
	    " { } , \"authlogs\" : [ { \"a\" : 1 } ] } } \n", "{\"a\":1}\n" },
	{ KIND_AUTH, "{\"respons\\u0065\": {\"auth\\u006cogs\": [{\"a\":1}]}}",
	    "{\"a\":1}\n" },
	/* the first "response" and the first array count */
	{ KIND_AUTH, "{\"response\": {\"authlogs\": [{\"a\":1}], \"authlogs\":"
	    " [{\"b\":2}]}, \"response\": {\"authlogs\": [{\"c\":3}]}}",
	    "{\"a\":1}\n" },
	{ KIND_AUTH, "{\"response\": {\"authlogs\": []}}", "" },
	{ KIND_ADMIN, "{\"response\": []}", "" },
	{ KIND_ADMIN, "{\"response\": [{\"a\": 1, \"timestamp\": 100}, "
	    "{\"time\\u0073tamp\": 101}]}", "{\"a\":1,\"timestamp\":100}\n"
	    "{\"time\\u0073tamp\":101}\n" },
	{ KIND_ADMIN, "{\"response\": [{\"timestamp\": -0}]}", "" },
};

START_TEST(test_envelope)
{
	struct cursor c;
	struct cursor_req r;
	struct buf out;
	char err[DUO_ERRLEN];
	size_t n;
	int flags, rc;

	cursor_init(&c, envelope_cases[_i].kind);
	cursor_since(&c, 100000);
	ck_assert_int_eq(cursor_request(&c, 200000, 0, &r), 1);
	buf_init(&out);
	rc = cursor_page(&c, envelope_cases[_i].body,
	    strlen(envelope_cases[_i].body), 200000, 0, &out, &n, &flags, err);
	if (envelope_cases[_i].out == NULL) {
		ck_assert_msg(rc == -1, "accepted: %s",
		    envelope_cases[_i].body);
		ck_assert_int_eq(out.len, 0);
	} else {
		ck_assert_msg(rc == 0, "%s: %s", envelope_cases[_i].body, err);
		/* a string even when the page holds no record */
		ck_assert_ptr_nonnull(out.p);
		ck_assert_str_eq(out.p, envelope_cases[_i].out);
	}
	buf_free(&out);
	cursor_free(&c);
}
END_TEST

/* Nesting: the whole body at most JSON_MAXDEPTH deep; no recursion. */
START_TEST(test_page_depth)
{
	struct cursor c;
	struct cursor_req r;
	struct buf body, out;
	char err[DUO_ERRLEN];
	size_t n;
	int flags, i, d = _i ? 100000 : JSON_MAXDEPTH - 3;

	cursor_init(&c, KIND_AUTH);
	cursor_since(&c, 1000);
	ck_assert_int_eq(cursor_request(&c, 9000, 0, &r), 1);
	buf_init(&body);
	buf_init(&out);
	/* envelope, response, array: 3 levels, then d in the record */
	xbuf_adds(&body, "{\"response\":{\"authlogs\":[{\"a\":");
	for (i = 1; i < d; i++)
		xbuf_addc(&body, '[');
	for (i = 1; i < d; i++)
		xbuf_addc(&body, ']');
	xbuf_adds(&body, "}]}}");
	ck_assert_int_eq(cursor_page(&c, body.p, body.len, 9000, 0, &out, &n,
	    &flags, err), _i ? -1 : 0);
	if (_i)
		ck_assert_msg(strstr(err, "nested deeper") != NULL, "%s", err);
	buf_free(&body);
	buf_free(&out);
	cursor_free(&c);
}
END_TEST

static const struct {
	const char	*in;
	int		 want;
} envscan_cases[] = {
	{ "{\"response\": [], \"stat\": \"OK\"}", 1 },
	{ " {\"stat\":\"OK\",\"response\":{\"a\":[1,{\"b\":\"]}\"}]}} ", 1 },
	{ "{\"stat\": \"OK\"}", 0 },
	{ "{\"response\": []}", 0 },
	{ "{\"response\": [], \"stat\": \"FAIL\"}", 0 },
	{ "{\"response\": [], \"stat\": \"OKAY\"}", 0 },
	{ "{\"stat\": \"FAIL\", \"response\": [], \"stat\": \"OK\"}", 0 },
	{ "{\"x\": {\"stat\": \"OK\"}, \"response\": 1}", 0 },
	{ "[1, 2]", 0 },
	{ "{}", 0 },
	{ "{\"response\": [], \"stat\": \"OK\"", -1 },
	{ "{\"response\": [}, \"stat\": \"OK\"}", -1 },
	{ "{\"response\": [], \"stat\": \"OK\"} x", -1 },
	{ "{\"response\": [], \"stat\": \"OK\",}", -1 },
	{ "{\"response\" [], \"stat\": \"OK\"}", -1 },
	{ "<html>", -1 },
	{ "", -1 },
};

START_TEST(test_envscan)
{
	ck_assert_int_eq(cursor_envelope(envscan_cases[_i].in,
	    strlen(envscan_cases[_i].in)), envscan_cases[_i].want);
}
END_TEST

/* ---- clamp ---- */

START_TEST(test_clamp)
{
	struct cursor c;
	struct buf f;
	int64_t from, to, floor = NOW - CURSOR_MAXAGE;
	char err[DUO_ERRLEN];

	buf_init(&f);
	cursor_init(&c, KIND_AUTH);
	cursor_since(&c, floor);
	ck_assert_int_eq(cursor_clamp(&c, NOW, &from, &to), 0);
	cursor_since(&c, 0);	/* no effect: not fresh */
	ck_assert_int_eq(c.min, floor);
	cursor_free(&c);
	cursor_init(&c, KIND_AUTH);
	cursor_since(&c, floor - 5);
	ck_assert_int_eq(cursor_clamp(&c, NOW, &from, &to), 1);
	ck_assert_int_eq(from, floor - 5);
	ck_assert_int_eq(to, floor - 1);
	ck_assert_int_eq(c.min, floor);
	/* A window entirely out of reach is dropped with its offset. */
	ck_assert_int_eq(cursor_parse(&c, KIND_AUTH,
	    "{\"kind\":\"auth\",\"min\":1,\"max\":9,\"next\":\"5\"}", 42,
	    err), 0);
	ck_assert_int_eq(cursor_clamp(&c, NOW, &from, &to), 1);
	cursor_format(&c, &f);
	ck_assert_int_eq(c.max, 0);
	ck_assert_ptr_null(c.next);
	cursor_free(&c);
	/* v1 in seconds, seen ids dropped. */
	cursor_init(&c, KIND_ADMIN);
	ck_assert_int_eq(cursor_parse(&c, KIND_ADMIN, "{\"kind\":\"admin\","
	    "\"sec\":7,\"seen\":[\"0123456789abcdef\"]}", 52, err), 0);
	ck_assert_int_eq(cursor_clamp(&c, NOW, &from, &to), 1);
	ck_assert_int_eq(c.sec, (floor + 999) / 1000);
	ck_assert_int_eq(c.nseen, 0);
	ck_assert_int_eq(from, 7000);
	cursor_free(&c);
	buf_free(&f);
	/* 180 days less one hour. */
	ck_assert_int_eq(CURSOR_MAXAGE, 15548400000LL);
}
END_TEST

/* ---- time arguments ---- */

static const struct {
	const char	*in;
	long long	 ms;	/* -1: refused */
} time_cases[] = {
	{ "90m", NOW - 5400000LL },
	{ "12h", NOW - 43200000LL },
	{ "7d", NOW - 604800000LL },
	{ "1d", NOW - 86400000LL },
	{ "1w", NOW - 604800000LL },
	{ "1h30m", NOW - 5400000LL },
	{ "45s", NOW - 45000LL },
	{ "1700000000", 1700000000000LL },
	{ "0", 0 },
	{ "2024-02-29T12:34:56Z", 1709210096000LL },
	{ "2024-02-29t12:34:56z", 1709210096000LL },
	{ "2024-02-29 12:34:56", 1709210096000LL },
	{ "2024-02-29T12:34:56.789Z", 1709210096789LL },
	{ "2024-02-29T12:34:56.7Z", 1709210096700LL },
	{ "2024-02-29T12:34:56.123456+00:00", 1709210096123LL },
	{ "2024-02-29T14:34:56+02:00", 1709210096000LL },
	{ "2024-02-29T07:34:56-0500", 1709210096000LL },
	{ "2024-02-29T12:34Z", 1709210040000LL },
	{ "2024-02-29", 1709164800000LL },
	{ "", -1 },
	{ "90", 90000 },	/* epoch seconds, not a duration */
	{ "m", -1 },
	{ "5x", -1 },
	{ "-5m", -1 },
	{ "2023-02-29", -1 },
	{ "2024-13-01", -1 },
	{ "2024-02-29T25:00Z", -1 },
	{ "2024-02-29T12:34:56+2", -1 },
	{ "2024-02-29T12:34:56Zjunk", -1 },
	{ "2024-02-29T12:34:56.Z", -1 },
	{ "1969-12-31", -1 },
	{ "99999999999999999999", -1 },
	{ "99999999999w", -1 },
	{ "30500568904w", -1 },
};

START_TEST(test_time)
{
	int64_t ms = 12345;
	char err[DUO_ERRLEN];
	int r;

	r = cursor_time(time_cases[_i].in, NOW, &ms, err);
	if (time_cases[_i].ms == -1) {
		ck_assert_msg(r == -1, "%s accepted", time_cases[_i].in);
		ck_assert_int_eq(ms, 12345);
	} else {
		ck_assert_msg(r == 0, "%s: %s", time_cases[_i].in, err);
		ck_assert_int_eq(ms, time_cases[_i].ms);
	}
}
END_TEST

static const struct {
	const char	*in;
	long long	 ms;
} dur_cases[] = {
	{ "120", 120000 },
	{ "0", 0 },
	{ "2m", 120000 },
	{ "1h1s", 3601000 },
	{ "", -1 },
	{ "1.5m", -1 },
	{ "m2", -1 },
	{ "2m3", -1 },
	{ "-1", -1 },
	/* Ten years at most, checked without overflow (UBSan). */
	{ "521w", 521 * 604800000LL },
	{ "3660d", 3660 * 86400000LL },
	{ "3661d", -1 },
	{ "99999999999w", -1 },
	{ "99999999999d", -1 },
	{ "30500568904w", -1 },	/* wrapped to a negative product */
	{ "3659d99999999999s", -1 },
	{ "100000000000s", -1 },
};

START_TEST(test_duration)
{
	int64_t ms = 777;
	char err[DUO_ERRLEN];
	int r;

	r = cursor_duration(dur_cases[_i].in, &ms, err);
	if (dur_cases[_i].ms == -1) {
		ck_assert_msg(r == -1, "%s accepted", dur_cases[_i].in);
		ck_assert_int_eq(ms, 777);
	} else {
		ck_assert_msg(r == 0, "%s: %s", dur_cases[_i].in, err);
		ck_assert_int_eq(ms, dur_cases[_i].ms);
	}
}
END_TEST

#define N(a)	((int)(sizeof(a) / sizeof((a)[0])))

int
main(void)
{
	Suite *s = suite_create("cursor");
	TCase *tc;
	SRunner *sr;
	int nf;

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_parse, 0, N(parse_cases));
	tcase_add_test(tc, test_kinds);
	suite_add_tcase(s, tc);
	tc = tcase_create("request");
	tcase_add_loop_test(tc, test_request, 0, N(req_cases));
	tcase_add_test(tc, test_request_bounds);
	suite_add_tcase(s, tc);
	tc = tcase_create("v2");
	tcase_add_test(tc, test_v2_window);
	tcase_add_test(tc, test_v2_shapes);
	suite_add_tcase(s, tc);
	tc = tcase_create("v1");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_v1_exactly_once, 0, N(v1_cases));
	tcase_add_test(tc, test_v1_bound);
	tcase_add_test(tc, test_v1_ids);
	suite_add_tcase(s, tc);
	tc = tcase_create("scan");
	tcase_add_loop_test(tc, test_scan, 0, N(scan_cases));
	tcase_add_test(tc, test_member);
	tcase_add_test(tc, test_bad_page_unchanged);
	tcase_add_loop_test(tc, test_inject, 0, N(inject_cases));
	tcase_add_test(tc, test_inject_pageno);
	tcase_add_loop_test(tc, test_noinject, 0, N(noinject));
	tcase_add_loop_test(tc, test_onepass, 0, N(onepass_recs));
	tcase_add_loop_test(tc, test_envelope, 0, N(envelope_cases));
	tcase_add_loop_test(tc, test_page_depth, 0, 2);
	tcase_add_loop_test(tc, test_envscan, 0, N(envscan_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("clamp");
	tcase_add_test(tc, test_clamp);
	suite_add_tcase(s, tc);
	tc = tcase_create("time");
	tcase_add_loop_test(tc, test_time, 0, N(time_cases));
	tcase_add_loop_test(tc, test_duration, 0, N(dur_cases));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
