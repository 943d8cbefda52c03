/*
 * cursor: duo-get's paging state.  The cursor is one line of compact
 * JSON, opaque to the other tools:
 *
 *   {}                                         fresh: start at -S since
 *   {"kind":"auth","min":M}                    v2-style, between windows
 *   {"kind":"auth","min":M,"max":X,"next":N}   v2-style, inside [M, X]
 *   {"kind":"admin","sec":S,"seen":["h",...]}  v1-style
 *
 * v2-style kinds (auth, telephony, activity, trustmonitor) page a closed
 * window [min, max] (ms) that stays fixed while next_offset (N, kept as
 * the compact JSON Duo sent) walks it; once drained the next window
 * starts at max + 1.  v1-style kinds (admin, offline) have second
 * granularity: every record before second S is delivered, and of second
 * S exactly the records whose ids (the first CURSOR_HASHLEN hex digits of
 * the SHA-256 of the compact record, repeated as often as identical
 * records were delivered) are listed in seen.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "duo.h"

static const struct kindinfo {
	const char	*name;
	const char	*path;
	const char	*list;		/* array member of response, or NULL */
	const char	*offname;	/* parameter carrying next_offset */
	int		 v1;
	long		 maxlimit;
	int		 sort;		/* send sort=ts:asc */
} kinds[KIND_COUNT] = {
	{ "auth", "/admin/v2/logs/authentication", "authlogs",
	    "next_offset", 0, 1000, 1 },
	{ "admin", "/admin/v1/logs/administrator", NULL, NULL, 1,
	    CURSOR_V1PAGE, 0 },
	{ "telephony", "/admin/v2/logs/telephony", "items", "next_offset",
	    0, 1000, 1 },
	{ "activity", "/admin/v2/logs/activity", "items", "next_offset",
	    0, 1000, 1 },
	{ "offline", "/admin/v1/logs/offline_enrollment", NULL, NULL, 1,
	    CURSOR_V1PAGE, 0 },
	{ "trustmonitor", "/admin/v1/trust_monitor/events", "events",
	    "offset", 0, 500, 0 },
};

/*
 * A page is handled record by record so that only one record's tokens
 * are in memory: a byte scanner checks the structure of the whole body
 * and finds the envelope's members and the array elements; each record
 * is then parsed (and strictly validated) by json_parse on its own.
 */
#define SCAN_BAD	((size_t)-1)
#define SCAN_DEPTH	JSON_MAXDEPTH

static size_t
scan_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
	    s[i] == '\r'))
		i++;
	return i;
}

static size_t
scan_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '"')
			return i + 1;
		if ((unsigned char)s[i] < 0x20)
			return SCAN_BAD;
		if (s[i] == '\\' && ++i >= n)
			return SCAN_BAD;
	}
	return SCAN_BAD;
}

static size_t
scan_value(const char *s, size_t n, size_t i, int depth)
{
	char close;
	size_t j;

	if (depth > SCAN_DEPTH || (i = scan_ws(s, n, i)) >= n)
		return SCAN_BAD;
	switch (s[i]) {
	case '"':
		return scan_string(s, n, i);
	case '{':
	case '[':
		close = s[i] == '{' ? '}' : ']';
		if ((i = scan_ws(s, n, i + 1)) < n && s[i] == close)
			return i + 1;
		for (;;) {
			if (close == '}') {
				if ((i = scan_ws(s, n, i)) >= n ||
				    s[i] != '"' ||
				    (i = scan_string(s, n, i)) == SCAN_BAD ||
				    (i = scan_ws(s, n, i)) >= n || s[i] != ':')
					return SCAN_BAD;
				i++;
			}
			if ((i = scan_value(s, n, i, depth + 1)) == SCAN_BAD ||
			    (i = scan_ws(s, n, i)) >= n)
				return SCAN_BAD;
			if (s[i] == close)
				return i + 1;
			if (s[i] != ',')
				return SCAN_BAD;
			i++;
		}
	default:
		for (j = i; j < n && strchr("-+.0123456789eEtrufalsn", s[j]) &&
		    s[j] != '\0'; j++)
			;
		return j > i ? j : SCAN_BAD;
	}
}

int
cursor_scan(const char *s, size_t n)
{
	size_t i;

	if ((i = scan_value(s, n, 0, 0)) == SCAN_BAD)
		return -1;
	return scan_ws(s, n, i) == n ? 0 : -1;
}

int
cursor_member(const char *s, size_t n, size_t obj, const char *key,
    size_t *vs, size_t *ve)
{
	size_t i, k, klen = strlen(key);

	if ((i = scan_ws(s, n, obj)) >= n || s[i] != '{')
		return -1;
	if ((i = scan_ws(s, n, i + 1)) < n && s[i] == '}')
		return -1;
	for (;;) {
		if ((i = scan_ws(s, n, i)) >= n || s[i] != '"' ||
		    (k = scan_string(s, n, i)) == SCAN_BAD)
			return -1;
		if (k - i - 2 == klen && memcmp(s + i + 1, key, klen) == 0) {
			i = scan_ws(s, n, k) + 1;
			*vs = scan_ws(s, n, i);
			if ((*ve = scan_value(s, n, *vs, 1)) == SCAN_BAD)
				return -1;
			return 0;
		}
		if ((i = scan_ws(s, n, k)) >= n || s[i] != ':' ||
		    (i = scan_value(s, n, i + 1, 1)) == SCAN_BAD ||
		    (i = scan_ws(s, n, i)) >= n || s[i] != ',')
			return -1;
		i++;
	}
}

/* Next element of the array opened at *i: its span, or 0 at the end. */
static int
scan_elem(const char *s, size_t n, size_t *i, int first, size_t *es,
    size_t *ee)
{
	size_t j = scan_ws(s, n, *i);

	if (j >= n)
		return -1;
	if (s[j] == ']')
		return 0;
	if (!first) {
		if (s[j] != ',')
			return -1;
		j++;
	}
	*es = scan_ws(s, n, j);
	if ((*ee = scan_value(s, n, *es, 1)) == SCAN_BAD)
		return -1;
	*i = *ee;
	return 1;
}

int
cursor_kind(const char *name)
{
	int i;

	for (i = 0; i < KIND_COUNT; i++)
		if (strcmp(name, kinds[i].name) == 0)
			return i;
	return -1;
}

const char *
cursor_kindname(int kind)
{
	return kind >= 0 && kind < KIND_COUNT ? kinds[kind].name : "?";
}

int
cursor_isv1(int kind)
{
	return kinds[kind].v1;
}

void
cursor_init(struct cursor *c, int kind)
{
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->fresh = 1;
	buf_init(&c->nextval);
}

static void
clear_next(struct cursor *c)
{
	free(c->next);
	c->next = NULL;
	buf_reset(&c->nextval);
}

static void
clear_seen(struct cursor *c)
{
	c->nseen = 0;
}

void
cursor_free(struct cursor *c)
{
	clear_next(c);
	buf_free(&c->nextval);
	free(c->seen);
	c->seen = NULL;
	c->nseen = c->capseen = 0;
}

static void
add_seen(struct cursor *c, const char *h)
{
	if (c->nseen == c->capseen) {
		c->capseen = c->capseen ? c->capseen * 2 : 16;
		c->seen = xrealloc(c->seen, c->capseen * sizeof *c->seen);
	}
	memcpy(c->seen[c->nseen++], h, CURSOR_HASHLEN + 1);
}

/*
 * next_offset as it goes on the wire: a string as is, a number as its
 * text, an array of strings or numbers joined by commas (auth's
 * ["ts","txid"] becomes "ts,txid", a form Duo documents).
 */
static int
set_next(struct cursor *c, const struct json *js, int i, char *err)
{
	int j, k, end;

	buf_reset(&c->nextval);
	switch (js->tok[i].type) {
	case JSMN_STRING:
		if (json_str(js, i, &c->nextval) == -1)
			return seterr(err, "bad next_offset string");
		break;
	case JSMN_PRIMITIVE:
		if (js->s[js->tok[i].start] != '-' &&
		    !isdigit((unsigned char)js->s[js->tok[i].start]))
			return seterr(err, "bad next_offset");
		(void)json_str(js, i, &c->nextval);
		break;
	case JSMN_ARRAY:
		if (js->tok[i].size == 0)
			return seterr(err, "empty next_offset");
		end = json_skip(js, i);
		for (j = i + 1, k = 0; j < end; j = json_skip(js, j), k++) {
			if (js->tok[j].type != JSMN_STRING &&
			    js->tok[j].type != JSMN_PRIMITIVE)
				return seterr(err, "bad next_offset element");
			if (k > 0)
				xbuf_addc(&c->nextval, ',');
			if (json_str(js, j, &c->nextval) == -1)
				return seterr(err, "bad next_offset element");
		}
		break;
	default:
		return seterr(err, "bad next_offset");
	}
	if (c->nextval.len == 0 || c->nextval.len > 1024 ||
	    memchr(c->nextval.p, '\0', c->nextval.len) != NULL)
		return seterr(err, "bad next_offset");
	{
		struct buf b;

		buf_init(&b);
		if (js->tok[i].type == JSMN_STRING)
			json_compact(&b, js->s + js->tok[i].start - 1,
			    (size_t)(js->tok[i].end - js->tok[i].start) + 2);
		else
			json_compact(&b, js->s + js->tok[i].start,
			    (size_t)(js->tok[i].end - js->tok[i].start));
		free(c->next);
		c->next = xstrdup(b.p);
		buf_free(&b);
	}
	return 0;
}

static int
tok_ms(const struct json *js, int i, int64_t *v)
{
	long long x;

	if (i < 0 || js->tok[i].type != JSMN_PRIMITIVE ||
	    json_int(js, i, &x) == -1 || x < 0 || x > INT64_MAX / 4)
		return -1;
	*v = x;
	return 0;
}

static int
is_hash(const struct json *js, int i)
{
	int k;

	if (js->tok[i].type != JSMN_STRING ||
	    js->tok[i].end - js->tok[i].start != CURSOR_HASHLEN)
		return 0;
	for (k = js->tok[i].start; k < js->tok[i].end; k++)
		if (!isdigit((unsigned char)js->s[k]) &&
		    (js->s[k] < 'a' || js->s[k] > 'f'))
			return 0;
	return 1;
}

int
cursor_parse(struct cursor *c, int kind, const char *s, size_t len,
    char *err)
{
	struct json js;
	char jerr[DUO_ERRLEN];
	int i, j, end, nkeys = 0, ret = -1;

	cursor_free(c);
	cursor_init(c, kind);
	json_init(&js);
	if (json_parse(&js, s, len, jerr) == -1) {
		seterr(err, "not JSON: %s", jerr);
		goto out;
	}
	if (js.tok[0].type != JSMN_OBJECT) {
		seterr(err, "not a JSON object");
		goto out;
	}
	if (js.tok[0].size == 0) {
		ret = 0;
		goto out;
	}
	if ((i = json_get(&js, 0, "kind")) < 0 ||
	    js.tok[i].type != JSMN_STRING) {
		seterr(err, "no kind");
		goto out;
	}
	if (!json_streq(&js, i, kinds[kind].name)) {
		struct buf b;

		buf_init(&b);
		(void)json_str(&js, i, &b);
		seterr(err, "a cursor of kind %.40s, not %s",
		    b.p ? b.p : "", kinds[kind].name);
		buf_free(&b);
		goto out;
	}
	nkeys = 1;
	c->fresh = 0;
	if (kinds[kind].v1) {
		if (tok_ms(&js, json_get(&js, 0, "sec"), &c->sec) == -1) {
			seterr(err, "bad or missing sec");
			goto out;
		}
		nkeys++;
		if ((i = json_get(&js, 0, "seen")) >= 0) {
			nkeys++;
			if (js.tok[i].type != JSMN_ARRAY ||
			    js.tok[i].size > CURSOR_MAXSEEN) {
				seterr(err, "bad seen");
				goto out;
			}
			end = json_skip(&js, i);
			for (j = i + 1; j < end; j = json_skip(&js, j)) {
				char h[CURSOR_HASHLEN + 1];

				if (!is_hash(&js, j)) {
					seterr(err, "bad id in seen");
					goto out;
				}
				memcpy(h, js.s + js.tok[j].start,
				    CURSOR_HASHLEN);
				h[CURSOR_HASHLEN] = '\0';
				add_seen(c, h);
			}
		}
	} else {
		if (tok_ms(&js, json_get(&js, 0, "min"), &c->min) == -1) {
			seterr(err, "bad or missing min");
			goto out;
		}
		nkeys++;
		if ((i = json_get(&js, 0, "max")) >= 0) {
			nkeys++;
			if (tok_ms(&js, i, &c->max) == -1 || c->max <= c->min) {
				seterr(err, "bad max");
				goto out;
			}
		}
		if ((i = json_get(&js, 0, "next")) >= 0) {
			nkeys++;
			if (c->max == 0) {
				seterr(err, "next without max");
				goto out;
			}
			if (set_next(c, &js, i, jerr) == -1) {
				seterr(err, "%s", jerr);
				goto out;
			}
		}
	}
	if (nkeys != js.tok[0].size) {
		seterr(err, "unknown members");
		goto out;
	}
	ret = 0;
out:
	json_free(&js);
	if (ret == -1) {
		cursor_free(c);
		cursor_init(c, kind);
	}
	return ret;
}

void
cursor_format(const struct cursor *c, struct buf *b)
{
	size_t i;

	if (c->fresh) {
		xbuf_adds(b, "{}");
		return;
	}
	xbuf_printf(b, "{\"kind\":\"%s\"", kinds[c->kind].name);
	if (kinds[c->kind].v1) {
		xbuf_printf(b, ",\"sec\":%lld,\"seen\":[", (long long)c->sec);
		for (i = 0; i < c->nseen; i++)
			xbuf_printf(b, "%s\"%s\"", i ? "," : "", c->seen[i]);
		xbuf_adds(b, "]}");
		return;
	}
	xbuf_printf(b, ",\"min\":%lld", (long long)c->min);
	if (c->max > 0)
		xbuf_printf(b, ",\"max\":%lld", (long long)c->max);
	if (c->next != NULL)
		xbuf_printf(b, ",\"next\":%s", c->next);
	xbuf_addc(b, '}');
}

void
cursor_since(struct cursor *c, int64_t since)
{
	if (!c->fresh)
		return;
	c->fresh = 0;
	if (since < 0)
		since = 0;
	if (kinds[c->kind].v1) {
		c->sec = since / 1000;
		clear_seen(c);
	} else {
		c->min = since;
		c->max = 0;
		clear_next(c);
	}
}

int
cursor_clamp(struct cursor *c, int64_t now, int64_t *from, int64_t *to)
{
	int64_t floor = now - CURSOR_MAXAGE;

	if (c->fresh)
		return 0;
	if (kinds[c->kind].v1) {
		if (c->sec * 1000 >= floor)
			return 0;
		*from = c->sec * 1000;
		c->sec = (floor + 999) / 1000;
		*to = c->sec * 1000 - 1;
		clear_seen(c);
		return 1;
	}
	if (c->min >= floor)
		return 0;
	*from = c->min;
	*to = floor - 1;
	if (c->max != 0 && c->max < floor) {
		/* The whole open window is out of reach. */
		c->max = 0;
		clear_next(c);
	}
	c->min = floor;
	return 1;
}

int
cursor_request(struct cursor *c, int64_t bound, long limit,
    struct cursor_req *r)
{
	const struct kindinfo *k = &kinds[c->kind];
	size_t n = 0;

	memset(r, 0, sizeof *r);
	r->path = k->path;
	if (c->done || c->fresh)
		return 0;
	if (k->v1) {
		if (c->sec > bound / 1000)
			return 0;
		snprintf(r->val[0], sizeof r->val[0], "%lld",
		    (long long)(c->hop > c->sec ? c->hop : c->sec));
		r->params[n].name = "mintime";
		r->params[n++].value = r->val[0];
		r->nparams = n;
		return 1;
	}
	if (c->max == 0) {
		/* Open the next window; Duo wants mintime < maxtime. */
		if (c->min >= bound)
			return 0;
		c->max = bound;
		clear_next(c);
	}
	if (limit <= 0 || limit > k->maxlimit)
		limit = k->maxlimit;
	snprintf(r->val[0], sizeof r->val[0], "%lld", (long long)c->min);
	snprintf(r->val[1], sizeof r->val[1], "%lld", (long long)c->max);
	snprintf(r->val[2], sizeof r->val[2], "%ld", limit);
	r->params[n].name = "mintime";
	r->params[n++].value = r->val[0];
	r->params[n].name = "maxtime";
	r->params[n++].value = r->val[1];
	r->params[n].name = "limit";
	r->params[n++].value = r->val[2];
	if (k->sort) {
		r->params[n].name = "sort";
		r->params[n++].value = "ts:asc";
	}
	if (c->next != NULL) {
		r->params[n].name = k->offname;
		r->params[n++].value = c->nextval.p;
	}
	r->nparams = n;
	return 1;
}

static void
record_id(const char *p, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1)
		memset(md, 0, sizeof md);
	hex_lower(out, md, CURSOR_HASHLEN / 2);
}

static size_t
seen_count(const struct cursor *c, const char *h)
{
	size_t i, n = 0;

	for (i = 0; i < c->nseen; i++)
		if (memcmp(c->seen[i], h, CURSOR_HASHLEN) == 0)
			n++;
	return n;
}

/*
 * v1 page: the earliest records with timestamp >= sec.  Deliver those
 * after the cursor and not after bound, skip the ones of second sec
 * already delivered (counting identical records), and move the cursor
 * to the newest second delivered.
 */
static int
page_v1(struct cursor *c, const char *s, size_t len, size_t resp,
    int64_t bound, long limit, struct buf *out, size_t *nout, int *flags,
    char *err)
{
	struct cursor pg, nc;
	struct json js;
	struct buf rec;
	char h[CURSOR_HASHLEN + 1], jerr[DUO_ERRLEN];
	int64_t ts, bsec = bound / 1000;
	size_t i, es, ee, j, k;
	int t, r, total = 0, past = 0, ret = -1;

	if (s[resp] != '[')
		return seterr(err, "response is not an array");
	if (limit <= 0)
		limit = CURSOR_V1PAGE;
	cursor_init(&pg, c->kind);	/* ids of this page's second sec */
	cursor_init(&nc, c->kind);	/* the cursor after this page */
	nc.fresh = 0;
	nc.sec = c->sec;
	for (j = 0; j < c->nseen; j++)
		add_seen(&nc, c->seen[j]);
	buf_init(&rec);
	json_init(&js);
	i = resp + 1;
	while ((r = scan_elem(s, len, &i, total == 0, &es, &ee)) == 1) {
		total++;
		if (json_parse(&js, s + es, ee - es, jerr) == -1) {
			seterr(err, "record %d: %s", total, jerr);
			goto out;
		}
		if (js.tok[0].type != JSMN_OBJECT ||
		    (t = json_get(&js, 0, "timestamp")) < 0 ||
		    tok_ms(&js, t, &ts) == -1) {
			seterr(err, "record %d has no timestamp", total);
			goto out;
		}
		if (ts < c->sec)
			continue;
		if (ts > bsec) {
			past = 1;
			continue;
		}
		buf_reset(&rec);
		json_compact(&rec, s + es, ee - es);
		record_id(rec.p, rec.len, h);
		if (ts == c->sec) {
			/* The k-th copy of this record in the page is new
			 * when fewer than k copies were delivered. */
			add_seen(&pg, h);
			k = seen_count(&pg, h);
			if (k <= seen_count(c, h))
				continue;
		}
		/* Records come in time order; one that does not is
		 * delivered all the same, the cursor keeps the newest. */
		if (ts > nc.sec) {
			nc.sec = ts;
			clear_seen(&nc);
		}
		if (ts == nc.sec)
			add_seen(&nc, h);
		if (nc.nseen > CURSOR_MAXSEEN) {
			seterr(err, "more than %d records in second %lld",
			    CURSOR_MAXSEEN, (long long)nc.sec);
			goto out;
		}
		xbuf_add(out, rec.p, rec.len);
		xbuf_addc(out, '\n');
		(*nout)++;
	}
	if (r == -1) {
		seterr(err, "malformed array");
		goto out;
	}
	/* Take the new position. */
	if (nc.sec != c->sec)
		c->hop = 0;
	c->sec = nc.sec;
	clear_seen(c);
	for (j = 0; j < nc.nseen; j++)
		add_seen(c, nc.seen[j]);
	if (past || total < limit) {
		c->done = 1;
		c->hop = 0;
	} else if (*nout == 0) {
		/*
		 * A full page of second sec alone, all delivered before:
		 * ask from the next second, but keep the cursor at sec so
		 * that records of sec that Duo shows later are still
		 * taken.  More than a page means Duo sent the whole
		 * second; exactly a page means it may have cut it, and
		 * what it cut cannot be fetched.
		 */
		if (total == limit)
			*flags |= CURSOR_NOPROGRESS;
		c->hop = c->sec + 1;
	}
	ret = 0;
out:
	json_free(&js);
	buf_free(&rec);
	cursor_free(&pg);
	cursor_free(&nc);
	return ret;
}

static int
page_v2(struct cursor *c, const char *s, size_t len, size_t resp,
    struct buf *out, size_t *nout, int *flags, char *err)
{
	const struct kindinfo *k = &kinds[c->kind];
	struct cursor nc;
	struct json js;
	char jerr[DUO_ERRLEN];
	size_t ls, le, ms, me, i, es, ee;
	int r, nx, total = 0, ret = -1;

	if (s[resp] != '{' ||
	    cursor_member(s, len, resp, k->list, &ls, &le) == -1 ||
	    s[ls] != '[')
		return seterr(err, "response has no %s array", k->list);
	json_init(&js);
	cursor_init(&nc, c->kind);
	i = ls + 1;
	while ((r = scan_elem(s, len, &i, total == 0, &es, &ee)) == 1) {
		total++;
		if (json_parse(&js, s + es, ee - es, jerr) == -1) {
			seterr(err, "record %d: %s", total, jerr);
			goto out;
		}
		if (js.tok[0].type != JSMN_OBJECT) {
			seterr(err, "a record is not an object");
			goto out;
		}
		json_compact(out, s + es, ee - es);
		xbuf_addc(out, '\n');
		(*nout)++;
	}
	if (r == -1) {
		seterr(err, "malformed %s array", k->list);
		goto out;
	}
	nx = -1;
	if (cursor_member(s, len, resp, "metadata", &ms, &me) == 0) {
		if (json_parse(&js, s + ms, me - ms, jerr) == -1) {
			seterr(err, "metadata: %s", jerr);
			goto out;
		}
		nx = json_get(&js, 0, "next_offset");
	}
	if (nx < 0 || json_isnull(&js, nx)) {
		/* Window drained; the next one starts right after it. */
		c->min = c->max + 1;
		c->max = 0;
		clear_next(c);
		ret = 0;
		goto out;
	}
	if (set_next(&nc, &js, nx, err) == -1)
		goto out;
	if (*nout == 0 && c->next != NULL && strcmp(c->next, nc.next) == 0) {
		/* Same offset again and nothing new: close the window
		 * rather than loop forever. */
		*flags |= CURSOR_NOPROGRESS;
		c->min = c->max + 1;
		c->max = 0;
		clear_next(c);
	} else {
		free(c->next);
		c->next = nc.next;
		nc.next = NULL;
		buf_reset(&c->nextval);
		xbuf_add(&c->nextval, nc.nextval.p, nc.nextval.len);
	}
	ret = 0;
out:
	cursor_free(&nc);
	json_free(&js);
	return ret;
}

int
cursor_page(struct cursor *c, const char *s, size_t len, int64_t bound,
    long limit, struct buf *out, size_t *nout, int *flags, char *err)
{
	size_t rs, re, start = out->len;
	int ret;

	*nout = 0;
	*flags = 0;
	if (cursor_scan(s, len) == -1)
		return seterr(err, "invalid JSON");
	if (cursor_member(s, len, 0, "response", &rs, &re) == -1)
		return seterr(err, "response without \"response\"");
	if (kinds[c->kind].v1)
		ret = page_v1(c, s, len, rs, bound, limit, out, nout, flags,
		    err);
	else
		ret = page_v2(c, s, len, rs, out, nout, flags, err);
	if (ret == -1) {
		/* Nothing of a bad page is kept. */
		out->len = start;
		if (out->cap > 0)
			out->p[start] = '\0';
		*nout = 0;
	}
	return ret;
}

/* ---- time arguments ---- */

int
cursor_duration(const char *s, int64_t *ms, char *err)
{
	const char *p = s;
	int64_t total = 0, v, mult;

	if (*p == '\0')
		return seterr(err, "empty duration");
	while (*p != '\0') {
		if (!isdigit((unsigned char)*p))
			return seterr(err, "bad duration: %s", s);
		v = 0;
		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p++ - '0');
			if (v > 100000000000LL)
				return seterr(err, "duration too long: %s", s);
		}
		switch (*p) {
		case '\0':
			if (p == s + strlen(s) && total == 0 && p != s &&
			    strspn(s, "0123456789") == strlen(s)) {
				mult = 1000;
				break;
			}
			return seterr(err, "bad duration: %s", s);
		case 's': mult = 1000; p++; break;
		case 'm': mult = 60000; p++; break;
		case 'h': mult = 3600000; p++; break;
		case 'd': mult = 86400000; p++; break;
		case 'w': mult = 7 * 86400000LL; p++; break;
		default:
			return seterr(err, "bad duration: %s", s);
		}
		total += v * mult;
		if (total > 10LL * 366 * 86400000)
			return seterr(err, "duration too long: %s", s);
	}
	*ms = total;
	return 0;
}

int
cursor_time(const char *s, int64_t now, int64_t *ms, char *err)
{
	int64_t d;
	size_t n = strlen(s);
	char *end;
	long long v;

	if (n == 0)
		return seterr(err, "empty time");
	if (strspn(s, "0123456789") == n) {
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno != 0 || v > 100000000000LL)
			return seterr(err, "bad time: %s", s);
		*ms = (int64_t)v * 1000;
		return 0;
	}
	if (n >= 10 && s[4] == '-') {
		if (iso8601_ms(s, n, ISO_LENIENT, &d) == -1 || d < 0)
			return seterr(err, "bad ISO 8601 time: %s", s);
		*ms = d;
		return 0;
	}
	if (cursor_duration(s, &d, NULL) == -1 || strspn(s,
	    "0123456789") == n)
		return seterr(err, "bad time: %s (want 90m, 12h, 7d, "
		    "ISO 8601 or epoch seconds)", s);
	*ms = now - d;
	return 0;
}
