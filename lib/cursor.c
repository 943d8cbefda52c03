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

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define CURSOR_SSE2
#endif

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
 * A byte scanner for lib/http.c, which asks whether a 200 body is
 * whole (cursor_scan) and finds its "stat" (cursor_member) before the
 * page is taken; it checks structure only (brackets, strings, the bytes
 * a literal or number may hold).  Pages themselves are validated fully
 * in one pass by cursor_page (below).
 */
#define SCAN_BAD	((size_t)-1)
#define SCAN_DEPTH	JSON_MAXDEPTH

static size_t
scan_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (unsigned char)s[i] <= ' ' && (s[i] == ' ' ||
	    s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* Bytes that end the fast part of a string: quote, backslash, control. */
static const unsigned char strstop[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
};

/* Bytes of a literal or number, structurally: -+.0-9 eE and "truefalsn". */
static const unsigned char primbyte[256] = {
	['-'] = 1, ['+'] = 1, ['.'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
	['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
	['9'] = 1, ['e'] = 1, ['E'] = 1, ['t'] = 1, ['r'] = 1, ['u'] = 1,
	['f'] = 1, ['a'] = 1, ['l'] = 1, ['s'] = 1, ['n'] = 1,
};

static size_t
scan_string(const char *str, size_t n, size_t i)
{
	const unsigned char *s = (const unsigned char *)str;

	for (i++;;) {
#ifdef CURSOR_SSE2
		while (n - i >= 16) {
			__m128i v, m;
			int bits;

			v = _mm_loadu_si128((const __m128i *)(const void *)
			    (s + i));
			m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
			    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
			m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v,
			    _mm_set1_epi8(0x1f)), v));
			if ((bits = _mm_movemask_epi8(m)) != 0) {
				i += (size_t)__builtin_ctz((unsigned)bits);
				break;
			}
			i += 16;
		}
#endif
		while (i < n && !strstop[s[i]])
			i++;
		if (i >= n)
			return SCAN_BAD;
		if (s[i] == '"')
			return i + 1;
		if (s[i] < 0x20 || (i += 2) > n)
			return SCAN_BAD;
	}
}

/*
 * The end of the value at s[i] (nested depth deep), or SCAN_BAD.  No
 * recursion: the closing bytes of the open containers are kept in a
 * small stack.
 */
static size_t
scan_value(const char *str, size_t n, size_t i, int depth)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char open[SCAN_DEPTH + 1];
	int sp = 0;
	size_t j;

	for (;;) {
		/* A value. */
		if (depth + sp > SCAN_DEPTH || (i = scan_ws(str, n, i)) >= n)
			return SCAN_BAD;
		if (s[i] == '"') {
			if ((i = scan_string(str, n, i)) == SCAN_BAD)
				return SCAN_BAD;
		} else if (s[i] == '{' || s[i] == '[') {
			open[sp++] = s[i] == '{' ? '}' : ']';
			if ((i = scan_ws(str, n, i + 1)) < n &&
			    s[i] == open[sp - 1]) {
				sp--;
				i++;
			} else if (open[sp - 1] == '}')
				goto key;
			else
				continue;
		} else {
			for (j = i; j < n && primbyte[s[j]]; j++)
				;
			if (j == i)
				return SCAN_BAD;
			i = j;
		}
		/* After a value: the end, a comma or a closing byte. */
		for (;;) {
			if (sp == 0)
				return i;
			if ((i = scan_ws(str, n, i)) >= n)
				return SCAN_BAD;
			if (s[i] == open[sp - 1]) {
				sp--;
				i++;
				continue;
			}
			if (s[i] != ',')
				return SCAN_BAD;
			i++;
			break;
		}
		if (open[sp - 1] == ']')
			continue;
key:
		if ((i = scan_ws(str, n, i)) >= n || s[i] != '"' ||
		    (i = scan_string(str, n, i)) == SCAN_BAD ||
		    (i = scan_ws(str, n, i)) >= n || s[i] != ':')
			return SCAN_BAD;
		i++;
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
cursor_envelope(const char *s, size_t n)
{
	size_t i, k, v;
	int stat = 0, resp = 0, first = 1;

	if ((i = scan_ws(s, n, 0)) >= n || s[i] != '{')
		return cursor_scan(s, n) == -1 ? -1 : 0;
	for (i++;; first = 0) {
		if ((i = scan_ws(s, n, i)) >= n)
			return -1;
		if (s[i] == '}')
			break;
		if (!first) {
			if (s[i] != ',' || (i = scan_ws(s, n, i + 1)) >= n)
				return -1;
		}
		if (s[i] != '"' || (k = scan_string(s, n, i)) == SCAN_BAD ||
		    (v = scan_ws(s, n, k)) >= n || s[v] != ':')
			return -1;
		v = scan_ws(s, n, v + 1);
		if (k - i == 6 && memcmp(s + i, "\"stat\"", 6) == 0 &&
		    stat == 0)
			stat = n - v >= 4 && memcmp(s + v, "\"OK\"", 4) == 0 ?
			    1 : -1;
		if (k - i == 10 && memcmp(s + i, "\"response\"", 10) == 0)
			resp = 1;
		if ((i = scan_value(s, n, v, 1)) == SCAN_BAD)
			return -1;
	}
	if (scan_ws(s, n, i + 1) != n)
		return -1;
	return stat == 1 && resp;
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
			if ((i = scan_ws(s, n, k)) >= n || s[i] != ':')
				return -1;
			*vs = scan_ws(s, n, i + 1);
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

/* The last instant a cursor may name: 9999-12-31T23:59:59.999Z, in ms;
 * far enough that no arithmetic on it (x 1000, + a window) overflows. */
#define CURSOR_MAXMS	253402300799999LL

/* A time member: ms (min, max), or with sec s seconds, in range. */
static int
tok_time(const struct json *js, int i, int sec, int64_t *v)
{
	long long x;

	if (i < 0 || js->tok[i].type != JSMN_PRIMITIVE ||
	    json_int(js, i, &x) == -1 || x < 0 ||
	    x > (sec ? CURSOR_MAXMS / 1000 : CURSOR_MAXMS))
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
		if (tok_time(&js, json_get(&js, 0, "sec"), 1, &c->sec) == -1) {
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
		if (tok_time(&js, json_get(&js, 0, "min"), 0, &c->min) == -1) {
			seterr(err, "bad or missing min");
			goto out;
		}
		nkeys++;
		if ((i = json_get(&js, 0, "max")) >= 0) {
			nkeys++;
			if (tok_time(&js, i, 0, &c->max) == -1 || c->max <= c->min) {
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

/*
 * ---- pages ----
 *
 * A page is taken in one pass over the body: the walk checks the
 * envelope, finds "response", and inside it the record array (and
 * "metadata"), while json_value validates each record and appends it,
 * compacted, to the output as it goes.  No tokens are kept; memory
 * stays at the body and the output.  Nothing of the cursor changes
 * before the whole body has passed.
 */

#define PAGE_CTL	"{\"@duo\":"	/* the stream's control prefix */
#define PAGE_CTLLEN	(sizeof PAGE_CTL - 1)

struct page {
	struct cursor	*c;
	const char	*s;
	size_t		 len;
	struct buf	*out;
	size_t		 nout;
	int		 total;	/* records in the page */
	int		 list;	/* the record array was seen */
	size_t		 ms, me; /* v2: span of metadata; me 0: none */
	/* v1 */
	int64_t		 bsec;
	int		 past;	/* a record after the bound */
	char		(*old)[CURSOR_HASHLEN + 1]; /* c->seen sorted */
	unsigned char	*used;	/* old[i] met */
	struct cursor	 nc;	/* the cursor after the page */
	size_t		*pend;	/* nc.sec's records to hash: */
	size_t		 npend;	/* offset, length in out */
	size_t		 cappend;
	EVP_MD		*md;
	EVP_MD_CTX	*mdctx;
};

static int
synerr(char *err, size_t pos, size_t len)
{
	if (pos >= len)
		return seterr(err, "truncated JSON");
	return seterr(err, "invalid JSON at byte %zu: syntax error", pos);
}

/* Does the key s[ks..ke) (between its quotes) say key? */
static int
keyis(const char *s, size_t ks, size_t ke, const char *key)
{
	struct json js;
	jsmntok_t t;
	size_t n = strlen(key);

	if (ke - ks == n && memcmp(s + ks, key, n) == 0)
		return 1;
	if (memchr(s + ks, '\\', ke - ks) == NULL)
		return 0;
	/* An escaped key: compare it unescaped, as json_get does. */
	memset(&t, 0, sizeof t);
	t.type = JSMN_STRING;
	t.start = (int)ks;
	t.end = (int)ke;
	memset(&js, 0, sizeof js);
	js.s = s;
	js.len = ke;
	js.tok = &t;
	js.ntok = 1;
	return json_streq(&js, 0, key);
}

/*
 * The next member of the object being walked (its brace passed): 1 with
 * the key's span and *i at the value, 0 with *i past the closing brace,
 * -1 on a syntax error.
 */
static int
next_member(const char *s, size_t n, size_t *i, int *first, size_t *ks,
    size_t *ke, char *err)
{
	size_t j = scan_ws(s, n, *i), e;

	if (j < n && s[j] == '}') {
		*i = j + 1;
		return 0;
	}
	if (!*first) {
		if (j >= n || s[j] != ',')
			return synerr(err, j, n);
		j = scan_ws(s, n, j + 1);
	}
	*first = 0;
	if (j >= n || s[j] != '"')
		return synerr(err, j, n);
	if ((e = json_value(s, n, j, 0, NULL, err)) == 0)
		return -1;
	*ks = j + 1;
	*ke = e - 1;
	if ((j = scan_ws(s, n, e)) >= n || s[j] != ':')
		return synerr(err, j, n);
	if ((*i = scan_ws(s, n, j + 1)) >= n)
		return synerr(err, *i, n);	/* a value follows */
	return 1;
}

/* The next element of the array being walked, like next_member. */
static int
next_elem(const char *s, size_t n, size_t *i, int *first, char *err)
{
	size_t j = scan_ws(s, n, *i);

	if (j < n && s[j] == ']' && *first) {
		*i = j + 1;
		return 0;
	}
	if (!*first) {
		if (j < n && s[j] == ']') {
			*i = j + 1;
			return 0;
		}
		if (j >= n || s[j] != ',')
			return synerr(err, j, n);
		j = scan_ws(s, n, j + 1);
	}
	*first = 0;
	if (j >= n)
		return synerr(err, j, n);
	*i = j;
	return 1;
}

/* A value the walk does not look into: validated and passed. */
static int
pass_value(struct page *p, size_t *i, int depth, char *err)
{
	if ((*i = json_value(p->s, p->len, *i, depth, NULL, err)) == 0)
		return -1;
	return 0;
}

static int
ctl_check(const struct page *p, size_t rs, char *err)
{
	if (p->out->len - rs >= PAGE_CTLLEN &&
	    memcmp(p->out->p + rs, PAGE_CTL, PAGE_CTLLEN) == 0)
		return seterr(err, "%s page %ld: record %d starts with "
		    "%s and would pass for a control line; page refused",
		    kinds[p->c->kind].name, p->c->page, p->total, PAGE_CTL);
	return 0;
}

/* Drop what out holds from rs on. */
static void
out_cut(struct buf *out, size_t rs)
{
	out->len = rs;
	if (out->cap > 0)
		out->p[rs] = '\0';
}

/* The v2 response object: the record array and metadata. */
static int
walk_v2(struct page *p, size_t *ip, char *err)
{
	const struct kindinfo *k = &kinds[p->c->kind];
	const char *s = p->s;
	char jerr[DUO_ERRLEN];
	size_t i = *ip, ks, ke, rs;
	int r, first = 1, efirst;

	if (s[i] != '{') {
		if (pass_value(p, &i, 1, jerr) == -1)
			return seterr(err, "invalid JSON: %s", jerr);
		return seterr(err, "response has no %s array", k->list);
	}
	i++;
	while ((r = next_member(s, p->len, &i, &first, &ks, &ke, jerr)) ==
	    1) {
		if (!p->list && keyis(s, ks, ke, k->list)) {
			p->list = 1;
			if (s[i] != '[') {
				if (pass_value(p, &i, 2, jerr) == -1)
					return seterr(err, "invalid JSON: %s",
					    jerr);
				return seterr(err, "response has no %s array",
				    k->list);
			}
			i++;
			efirst = 1;
			while ((r = next_elem(s, p->len, &i, &efirst,
			    jerr)) == 1) {
				p->total++;
				if (s[i] != '{') {
					if (pass_value(p, &i, 3, jerr) == -1)
						return seterr(err, "record %d: "
						    "%s", p->total, jerr);
					return seterr(err, "a record is not "
					    "an object");
				}
				rs = p->out->len;
				if ((i = json_value(s, p->len, i, 3, p->out,
				    jerr)) == 0)
					return seterr(err, "record %d: %s",
					    p->total, jerr);
				if (ctl_check(p, rs, err) == -1)
					return -1;
				xbuf_addc(p->out, '\n');
				p->nout++;
			}
			if (r == -1)
				return seterr(err, "malformed %s array: %s",
				    k->list, jerr);
		} else if (p->me == 0 && keyis(s, ks, ke, "metadata")) {
			p->ms = i;
			if (pass_value(p, &i, 2, jerr) == -1)
				return seterr(err, "metadata: %s", jerr);
			p->me = i;
		} else if (pass_value(p, &i, 2, jerr) == -1)
			return seterr(err, "invalid JSON: %s", jerr);
	}
	if (r == -1)
		return seterr(err, "invalid JSON: %s", jerr);
	if (!p->list)
		return seterr(err, "response has no %s array", k->list);
	*ip = i;
	return 0;
}

/* SHA-256 id of a compact record (see the top of this file). */
static void
record_id(struct page *p, const char *s, size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (p->mdctx == NULL) {
		/* Fetched once a page, not once a record. */
		p->md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
		p->mdctx = EVP_MD_CTX_new();
	}
	if (p->md == NULL || p->mdctx == NULL ||
	    EVP_DigestInit_ex2(p->mdctx, p->md, NULL) != 1 ||
	    EVP_DigestUpdate(p->mdctx, s, n) != 1 ||
	    EVP_DigestFinal_ex(p->mdctx, md, &mdlen) != 1) {
		if (EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL) != 1)
			memset(md, 0, sizeof md);
	}
	hex_lower(out, md, CURSOR_HASHLEN / 2);
}

static int
idcmp(const void *a, const void *b)
{
	return memcmp(a, b, CURSOR_HASHLEN);
}

/*
 * Was this copy of a record of second sec delivered before?  The k-th
 * copy in the page was when the cursor lists the id at least k times:
 * each listed copy matches one copy in the page, in page order.  The
 * ids are sorted once a page, so a second of n records costs n log n.
 */
static int
seen_before(struct page *p, const char *h)
{
	const struct cursor *c = p->c;
	size_t lo = 0, hi = c->nseen, mid;

	if (c->nseen == 0)
		return 0;
	if (p->old == NULL) {
		p->old = xcalloc(c->nseen, sizeof *p->old);
		p->used = xcalloc(c->nseen, 1);
		memcpy(p->old, c->seen, c->nseen * sizeof *p->old);
		qsort(p->old, c->nseen, sizeof *p->old, idcmp);
	}
	while (lo < hi) {	/* the first id not below h */
		mid = lo + (hi - lo) / 2;
		if (memcmp(p->old[mid], h, CURSOR_HASHLEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->nseen && memcmp(p->old[lo], h, CURSOR_HASHLEN) == 0;
	    lo++)
		if (!p->used[lo]) {
			p->used[lo] = 1;
			return 1;
		}
	return 0;
}

/*
 * A v1 timestamp as cursor_parse's tok_time reads one: a number of digits
 * (an optional minus), 0 to INT64_MAX / 4.
 */
static int
span_ms(const char *p, size_t n, int64_t *v)
{
	const char *e = p + n;
	long long x = 0;
	int neg = 0;

	if (p < e && *p == '-') {
		neg = 1;
		p++;
	}
	if (p == e)
		return -1;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9' ||
		    x > (LLONG_MAX - (*p - '0')) / 10)
			return -1;
		x = x * 10 + (*p - '0');
	}
	if (neg)
		x = -x;
	if (x < 0 || x > INT64_MAX / 4)
		return -1;
	*v = x;
	return 0;
}

/*
 * One v1 record at s[i], an object: appended compacted to out, its
 * top-level members walked on the way to find "timestamp" (span in out,
 * *te 0 when there is none).  Returns the offset past it, or 0.
 */
static size_t
v1_record(struct page *p, size_t i, size_t *ts, size_t *te, char *err)
{
	const char *s = p->s;
	struct buf *out = p->out;
	size_t n = p->len, ks, ke, vs;
	int first;

	*te = 0;
	xbuf_addc(out, '{');
	for (i++, first = 1;; first = 0) {
		i = scan_ws(s, n, i);
		if (i < n && s[i] == '}') {
			xbuf_addc(out, '}');
			return i + 1;
		}
		if (!first) {
			if (i >= n || s[i] != ',') {
				synerr(err, i, n);
				return 0;
			}
			xbuf_addc(out, ',');
			i = scan_ws(s, n, i + 1);
		}
		if (i >= n || s[i] != '"') {
			synerr(err, i, n);
			return 0;
		}
		ks = out->len + 1;
		if ((i = json_value(s, n, i, 3, out, err)) == 0)
			return 0;
		ke = out->len - 1;
		if ((i = scan_ws(s, n, i)) >= n || s[i] != ':') {
			synerr(err, i, n);
			return 0;
		}
		xbuf_addc(out, ':');
		vs = out->len;
		if ((i = json_value(s, n, i + 1, 3, out, err)) == 0)
			return 0;
		if (*te == 0 && keyis(out->p, ks, ke, "timestamp")) {
			*ts = vs;
			*te = out->len;
		}
	}
}

static void
pend_add(struct page *p, size_t off, size_t n)
{
	if (p->npend + 2 > p->cappend) {
		p->cappend = p->cappend ? p->cappend * 2 : 32;
		p->pend = xrealloc(p->pend, p->cappend * sizeof *p->pend);
	}
	p->pend[p->npend++] = off;
	p->pend[p->npend++] = n;
}

/*
 * The v1 response array: the earliest records with timestamp >= sec.
 * Deliver those after the cursor and not after bound, skip the ones of
 * second sec already delivered (counting identical records), and note
 * the newest second delivered and its records.  Ids are computed only
 * where needed: for records of second sec, and at the end for those of
 * the newest second.
 */
static int
walk_v1(struct page *p, size_t *ip, char *err)
{
	struct cursor *c = p->c;
	struct buf *out = p->out;
	const char *s = p->s;
	char h[CURSOR_HASHLEN + 1], jerr[DUO_ERRLEN];
	int64_t ts;
	size_t i = *ip, rs, tvs, tve, j;
	int r, first = 1, hashed;

	if (s[i] != '[') {
		if (pass_value(p, &i, 1, jerr) == -1)
			return seterr(err, "invalid JSON: %s", jerr);
		return seterr(err, "response is not an array");
	}
	p->list = 1;
	p->nc.fresh = 0;
	p->nc.sec = c->sec;
	for (j = 0; j < c->nseen; j++)
		add_seen(&p->nc, c->seen[j]);
	i++;
	while ((r = next_elem(s, p->len, &i, &first, jerr)) == 1) {
		p->total++;
		rs = out->len;
		if (s[i] != '{') {
			if ((i = json_value(s, p->len, i, 2, NULL, jerr)) == 0)
				return seterr(err, "record %d: %s", p->total,
				    jerr);
			return seterr(err, "record %d has no timestamp",
			    p->total);
		}
		if ((i = v1_record(p, i, &tvs, &tve, jerr)) == 0)
			return seterr(err, "record %d: %s", p->total, jerr);
		if (ctl_check(p, rs, err) == -1)
			return -1;
		if (tve == 0 || span_ms(out->p + tvs, tve - tvs, &ts) == -1)
			return seterr(err, "record %d has no timestamp",
			    p->total);
		if (ts < c->sec) {
			out_cut(out, rs);
			continue;
		}
		if (ts > p->bsec) {
			p->past = 1;
			out_cut(out, rs);
			continue;
		}
		hashed = 0;
		if (ts == c->sec) {
			/* The k-th copy of this record in the page is new
			 * when fewer than k copies were delivered. */
			record_id(p, out->p + rs, out->len - rs, h);
			hashed = 1;
			if (seen_before(p, h)) {
				out_cut(out, rs);
				continue;
			}
		}
		/* Records come in time order; one that does not is
		 * delivered all the same, the cursor keeps the newest. */
		if (ts > p->nc.sec) {
			p->nc.sec = ts;
			clear_seen(&p->nc);
			p->npend = 0;
		}
		if (ts == p->nc.sec) {
			if (hashed)
				add_seen(&p->nc, h);
			else
				pend_add(p, rs, out->len - rs);
		}
		if (p->nc.nseen + p->npend / 2 > CURSOR_MAXSEEN)
			return seterr(err, "more than %d records in second "
			    "%lld", CURSOR_MAXSEEN, (long long)p->nc.sec);
		xbuf_addc(out, '\n');
		p->nout++;
	}
	if (r == -1)
		return seterr(err, "malformed array: %s", jerr);
	*ip = i;
	return 0;
}

/* The page has passed: take the v1 position. */
static void
take_v1(struct page *p, long limit, int *flags)
{
	struct cursor *c = p->c;
	char h[CURSOR_HASHLEN + 1];
	size_t j;

	for (j = 0; j < p->npend; j += 2) {
		record_id(p, p->out->p + p->pend[j], p->pend[j + 1], h);
		add_seen(&p->nc, h);
	}
	if (limit <= 0)
		limit = CURSOR_V1PAGE;
	if (p->nc.sec != c->sec)
		c->hop = 0;
	c->sec = p->nc.sec;
	clear_seen(c);
	for (j = 0; j < p->nc.nseen; j++)
		add_seen(c, p->nc.seen[j]);
	if (p->past || p->total < limit) {
		c->done = 1;
		c->hop = 0;
	} else if (p->nout == 0) {
		/*
		 * A full page of second sec alone, all delivered before:
		 * ask from the next second, but keep the cursor at sec so
		 * that records of sec that Duo shows later are still
		 * taken.  More than a page means Duo sent the whole
		 * second; exactly a page means it may have cut it, and
		 * what it cut cannot be fetched.
		 */
		if (p->total == limit)
			*flags |= CURSOR_NOPROGRESS;
		c->hop = c->sec + 1;
	}
}

/* The page has passed: take the v2 position from metadata. */
static int
take_v2(struct page *p, int *flags, char *err)
{
	struct cursor *c = p->c;
	struct cursor nc;
	struct json js;
	char jerr[DUO_ERRLEN];
	int nx = -1, ret = -1;

	json_init(&js);
	cursor_init(&nc, c->kind);
	if (p->me != 0) {
		if (json_parse(&js, p->s + p->ms, p->me - p->ms, jerr) == -1) {
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
	if (p->nout == 0 && c->next != NULL && strcmp(c->next, nc.next) == 0) {
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
	struct page p;
	char jerr[DUO_ERRLEN];
	size_t i, ks, ke, start = out->len;
	int r, first = 1, found = 0, ret = -1;

	*nout = 0;
	*flags = 0;
	c->page++;
	xbuf_add(out, "", 0);	/* out->p is a string even for no records */
	memset(&p, 0, sizeof p);
	p.c = c;
	p.s = s;
	p.len = len;
	p.out = out;
	p.bsec = bound / 1000;
	cursor_init(&p.nc, c->kind);
	/* The envelope: {"response": ..., "stat": "OK", ...}. */
	i = scan_ws(s, len, 0);
	if (i >= len || s[i] != '{') {
		if (json_value(s, len, i, 0, NULL, jerr) == 0)
			seterr(err, "invalid JSON");
		else
			seterr(err, "response without \"response\"");
		goto out;
	}
	i++;
	while ((r = next_member(s, len, &i, &first, &ks, &ke, jerr)) == 1) {
		if (!found && keyis(s, ks, ke, "response")) {
			found = 1;
			if ((kinds[c->kind].v1 ? walk_v1(&p, &i, err) :
			    walk_v2(&p, &i, err)) == -1)
				goto out;
		} else if (pass_value(&p, &i, 1, jerr) == -1) {
			seterr(err, "invalid JSON");
			goto out;
		}
	}
	if (r == -1 || scan_ws(s, len, i) != len) {
		seterr(err, "invalid JSON");
		goto out;
	}
	if (!found) {
		seterr(err, "response without \"response\"");
		goto out;
	}
	if (kinds[c->kind].v1)
		take_v1(&p, limit, flags);
	else if (take_v2(&p, flags, err) == -1)
		goto out;
	*nout = p.nout;
	ret = 0;
out:
	if (ret == -1) {
		/* Nothing of a bad page is kept. */
		out_cut(out, start);
		*nout = 0;
	}
	free(p.pend);
	EVP_MD_CTX_free(p.mdctx);
	EVP_MD_free(p.md);
	free(p.old);
	free(p.used);
	cursor_free(&p.nc);
	return ret;
}

/* ---- time arguments ---- */

#define CURSOR_MAXDUR	(10LL * 366 * 86400000)	/* ms: ten years */

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
		/* At most ten years, checked before multiplying: v * mult
		 * could overflow (99999999999w). */
		if (v > (CURSOR_MAXDUR - total) / mult)
			return seterr(err, "duration too long: %s", s);
		total += v * mult;
	}
	*ms = total;
	return 0;
}

int
cursor_time(const char *s, int64_t now, int64_t *ms, char *err)
{
	int64_t d;
	size_t n = strlen(s);
	char *end, derr[DUO_ERRLEN];
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
	if (cursor_duration(s, &d, derr) == -1 &&
	    strncmp(derr, "duration too long", 17) == 0)
		return seterr(err, "%s", derr);
	if (cursor_duration(s, &d, NULL) == -1 || strspn(s,
	    "0123456789") == n)
		return seterr(err, "bad time: %s (want 90m, 12h, 7d, "
		    "ISO 8601 or epoch seconds)", s);
	*ms = now - d;
	return 0;
}
