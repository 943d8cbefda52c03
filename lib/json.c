/*
 * json: strict JSON validation and walking on top of jsmn.
 *
 * jsmn is a tokenizer, not a validator: it accepts "[1,]", "{"a"}" and
 * raw control bytes in strings.  json_parse therefore checks, after
 * tokenizing, the text between tokens (exactly one ',' between siblings,
 * one ':' between a key and its value, only whitespace elsewhere), every
 * literal and number against the JSON grammar, every string for valid
 * escapes and UTF-8, and the nesting depth.  It also records for each
 * token the index just past its subtree, so json_skip is O(1).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define JSON_IMPL
#include "duo.h"

#define JSON_MINTOK	64

void
json_init(struct json *j)
{
	memset(j, 0, sizeof *j);
}

void
json_free(struct json *j)
{
	free(j->tok);
	free(j->next);
	free(j->work);
	json_init(j);
}

static int
isws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Text span of token i, quotes included for strings. */
static int
tstart(const struct json *j, int i)
{
	return j->tok[i].type == JSMN_STRING ? j->tok[i].start - 1 :
	    j->tok[i].start;
}

static int
tend(const struct json *j, int i)
{
	return j->tok[i].type == JSMN_STRING ? j->tok[i].end + 1 :
	    j->tok[i].end;
}

/* Is s[from..to) whitespace around exactly one sep (or none if sep 0)? */
static int
gap_ok(const char *s, int from, int to, int sep)
{
	int seen = 0;

	if (from > to)
		return 0;
	for (; from < to; from++) {
		if (isws((unsigned char)s[from]))
			continue;
		if (sep != 0 && s[from] == sep && !seen) {
			seen = 1;
			continue;
		}
		return 0;
	}
	return sep == 0 || seen;
}

static int
check_number(const char *p, const char *e)
{
	if (p < e && *p == '-')
		p++;
	if (p == e)
		return -1;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	else
		return -1;
	if (p < e && *p == '.') {
		if (++p == e || *p < '0' || *p > '9')
			return -1;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p == e || *p < '0' || *p > '9')
			return -1;
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	return p == e ? 0 : -1;
}

static int
check_primitive(const char *p, const char *e)
{
	size_t n = (size_t)(e - p);

	if ((n == 4 && memcmp(p, "true", 4) == 0) ||
	    (n == 5 && memcmp(p, "false", 5) == 0) ||
	    (n == 4 && memcmp(p, "null", 4) == 0))
		return 0;
	return check_number(p, e);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the valid UTF-8 sequence at p, or 0. */
static int
utf8_len(const unsigned char *p, const unsigned char *e)
{
	unsigned c = p[0];
	int n, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (e - p < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
check_string(const char *s, int a, int b)
{
	const unsigned char *p = (const unsigned char *)s + a;
	const unsigned char *e = (const unsigned char *)s + b;
	int n, i;

	while (p < e) {
		if (*p < 0x20)
			return -1;
		if (*p == '\\') {
			if (++p == e)
				return -1;
			switch (*p) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				p++;
				break;
			case 'u':
				if (e - p < 5)
					return -1;
				for (i = 1; i <= 4; i++)
					if (hexval(p[i]) < 0)
						return -1;
				p += 5;
				break;
			default:
				return -1;
			}
			continue;
		}
		if ((n = utf8_len(p, e)) == 0)
			return -1;
		p += n;
	}
	return 0;
}

static int
grow(struct json *j, int cap)
{
	if (cap > JSON_MAXTOK)
		return -1;
	j->tok = xrealloc(j->tok, (size_t)cap * sizeof *j->tok);
	j->next = xrealloc(j->next, (size_t)cap * sizeof *j->next);
	j->work = xrealloc(j->work, (size_t)cap * sizeof *j->work);
	j->cap = cap;
	return 0;
}

static int
iscontainer(const jsmntok_t *t)
{
	return t->type == JSMN_OBJECT || t->type == JSMN_ARRAY;
}

/* The grammar checks described at the top of this file. */
static int
validate(struct json *j, char *err)
{
	const char *s = j->s;
	jsmntok_t *t = j->tok;
	int *lastend = j->next;		/* reused below for next[] */
	int *depth = j->work;
	int i, p, c, k, from;

	if (!gap_ok(s, 0, tstart(j, 0), 0) ||
	    !gap_ok(s, tend(j, 0), (int)j->len, 0))
		return seterr(err, "text outside the JSON value");
	for (i = 0; i < j->ntok; i++) {
		lastend[i] = -1;
		p = t[i].parent;
		if (i > 0 && p < 0)
			return seterr(err, "more than one JSON value");
		if (t[i].type == JSMN_PRIMITIVE) {
			if (check_primitive(s + t[i].start, s + t[i].end) == -1)
				return seterr(err, "invalid literal at byte %d",
				    t[i].start);
		} else if (t[i].type == JSMN_STRING) {
			if (check_string(s, t[i].start, t[i].end) == -1)
				return seterr(err, "invalid string at byte %d",
				    t[i].start);
		} else if (!iscontainer(&t[i]))
			return seterr(err, "invalid token at byte %d",
			    t[i].start);
		if (p < 0) {
			depth[i] = iscontainer(&t[i]);
			continue;
		}
		depth[i] = depth[p] + iscontainer(&t[i]);
		if (depth[i] > JSON_MAXDEPTH)
			return seterr(err, "nested deeper than %d",
			    JSON_MAXDEPTH);
		if (t[p].type == JSMN_OBJECT) {
			/* i is a key */
			if (t[i].type != JSMN_STRING || t[i].size != 1)
				return seterr(err, "object key without one "
				    "value at byte %d", t[i].start);
			from = lastend[p] < 0 ? t[p].start + 1 : lastend[p];
			if (!gap_ok(s, from, tstart(j, i),
			    lastend[p] < 0 ? 0 : ','))
				return seterr(err, "syntax error at byte %d",
				    from);
		} else if (t[p].type == JSMN_ARRAY) {
			if (t[i].type == JSMN_STRING && t[i].size != 0)
				return seterr(err, "key in array at byte %d",
				    t[i].start);
			from = lastend[p] < 0 ? t[p].start + 1 : lastend[p];
			if (!gap_ok(s, from, tstart(j, i),
			    lastend[p] < 0 ? 0 : ','))
				return seterr(err, "syntax error at byte %d",
				    from);
			lastend[p] = tend(j, i);
		} else if (t[p].type == JSMN_STRING) {
			/* i is the value of key p */
			if (t[i].type == JSMN_STRING && t[i].size != 0)
				return seterr(err, "key as value at byte %d",
				    t[i].start);
			if (!gap_ok(s, tend(j, p), tstart(j, i), ':'))
				return seterr(err, "syntax error at byte %d",
				    tend(j, p));
			lastend[t[p].parent] = tend(j, i);
		} else
			return seterr(err, "invalid nesting at byte %d",
			    t[i].start);
		if (t[i].type != JSMN_STRING && !iscontainer(&t[i]) &&
		    t[i].size != 0)
			return seterr(err, "invalid token at byte %d",
			    t[i].start);
	}
	/* Closing brackets: only whitespace after the last child. */
	for (i = 0; i < j->ntok; i++) {
		if (!iscontainer(&t[i]))
			continue;
		if (t[i].end <= t[i].start)
			return seterr(err, "unterminated value at byte %d",
			    t[i].start);
		from = lastend[i] < 0 ? t[i].start + 1 : lastend[i];
		if (!gap_ok(s, from, t[i].end - 1, 0))
			return seterr(err, "syntax error at byte %d", from);
	}
	/* next[i]: the index just past the subtree of token i. */
	for (i = j->ntok - 1; i >= 0; i--) {
		if (iscontainer(&t[i])) {
			c = i + 1;
			for (k = 0; k < t[i].size; k++)
				c = j->next[c];
			j->next[i] = c;
		} else if (t[i].size == 1)
			j->next[i] = j->next[i + 1];
		else
			j->next[i] = i + 1;
	}
	if (j->next[0] != j->ntok)
		return seterr(err, "more than one JSON value");
	return 0;
}

/*
 * jsmn's strict mode wants a delimiter after a primitive, so a document
 * that is one bare literal or number is checked here: 0 if it was one
 * (valid), 1 if the document is something else.
 */
static int
bare_primitive(struct json *j)
{
	int a = 0, b = (int)j->len;

	while (a < b && isws((unsigned char)j->s[a]))
		a++;
	while (b > a && isws((unsigned char)j->s[b - 1]))
		b--;
	if (a == b || j->s[a] == '{' || j->s[a] == '[' || j->s[a] == '"' ||
	    check_primitive(j->s + a, j->s + b) == -1)
		return 1;
	j->tok[0].type = JSMN_PRIMITIVE;
	j->tok[0].start = a;
	j->tok[0].end = b;
	j->tok[0].size = 0;
	j->tok[0].parent = -1;
	j->next[0] = 1;
	j->ntok = 1;
	return 0;
}

int
json_parse(struct json *j, const char *s, size_t len, char *err)
{
	jsmn_parser p;
	int r;

	j->s = s;
	j->len = len;
	j->ntok = 0;
	if (len > JSON_MAXLEN)
		return seterr(err, "JSON text longer than %u bytes",
		    JSON_MAXLEN);
	if (j->cap == 0)
		grow(j, JSON_MINTOK);
	if (bare_primitive(j) == 0)
		return 0;
	jsmn_init(&p);
	for (;;) {
		r = jsmn_parse(&p, s, len, j->tok, (unsigned)j->cap);
		if (r != JSMN_ERROR_NOMEM)
			break;
		if (j->cap >= JSON_MAXTOK || grow(j, j->cap * 2 >
		    JSON_MAXTOK ? JSON_MAXTOK : j->cap * 2) == -1)
			return seterr(err, "more than %d JSON tokens",
			    JSON_MAXTOK);
	}
	if (r == JSMN_ERROR_INVAL)
		return seterr(err, "invalid JSON at byte %u", p.pos);
	if (r == JSMN_ERROR_PART)
		return seterr(err, "truncated JSON");
	if (r <= 0)
		return seterr(err, "no JSON value");
	j->ntok = r;
	if (validate(j, err) == -1) {
		j->ntok = 0;
		return -1;
	}
	return 0;
}

int
json_skip(const struct json *j, int i)
{
	return j->next[i];
}

static int
keyeq(const struct json *j, int i, const char *key, size_t n)
{
	const jsmntok_t *t = &j->tok[i];

	if ((size_t)(t->end - t->start) == n &&
	    memcmp(j->s + t->start, key, n) == 0)
		return 1;
	if (memchr(j->s + t->start, '\\', (size_t)(t->end - t->start)))
		return json_streq(j, i, key);
	return 0;
}

static int
getn(const struct json *j, int obj, const char *key, size_t n)
{
	int i, k;

	if (obj < 0 || obj >= j->ntok || j->tok[obj].type != JSMN_OBJECT)
		return -1;
	for (i = obj + 1, k = 0; k < j->tok[obj].size; k++) {
		if (keyeq(j, i, key, n))
			return i + 1;
		i = j->next[i];
	}
	return -1;
}

int
json_get(const struct json *j, int obj, const char *key)
{
	return getn(j, obj, key, strlen(key));
}

int
json_path(const struct json *j, int obj, const char *path)
{
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		if ((obj = getn(j, obj, path, (size_t)(dot - path))) < 0)
			return -1;
		path = dot + 1;
	}
	return getn(j, obj, path, strlen(path));
}

int
json_isnull(const struct json *j, int i)
{
	return i < 0 || (j->tok[i].type == JSMN_PRIMITIVE &&
	    j->s[j->tok[i].start] == 'n');
}

/* Append the UTF-8 form of code point cp. */
static void
put_utf8(struct buf *b, unsigned long cp)
{
	char u[4];

	if (cp < 0x80) {
		xbuf_addc(b, (int)cp);
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		xbuf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		xbuf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		xbuf_add(b, u, 4);
	}
}

static unsigned long
hex4(const char *p)
{
	return (unsigned long)(hexval(p[0]) << 12 | hexval(p[1]) << 8 |
	    hexval(p[2]) << 4 | hexval(p[3]));
}

int
json_str(const struct json *j, int i, struct buf *b)
{
	const char *p, *e, *q;
	unsigned long cp, lo;

	if (i < 0 || i >= j->ntok)
		return -1;
	p = j->s + j->tok[i].start;
	e = j->s + j->tok[i].end;
	if (j->tok[i].type != JSMN_STRING) {
		xbuf_add(b, p, (size_t)(e - p));
		return 0;
	}
	while (p < e) {
		if ((q = memchr(p, '\\', (size_t)(e - p))) == NULL)
			q = e;
		xbuf_add(b, p, (size_t)(q - p));
		if ((p = q) == e)
			break;
		if (e - p < 2)
			return -1;
		switch (p[1]) {
		case 'b': xbuf_addc(b, '\b'); p += 2; continue;
		case 'f': xbuf_addc(b, '\f'); p += 2; continue;
		case 'n': xbuf_addc(b, '\n'); p += 2; continue;
		case 'r': xbuf_addc(b, '\r'); p += 2; continue;
		case 't': xbuf_addc(b, '\t'); p += 2; continue;
		case '"': case '\\': case '/':
			xbuf_addc(b, p[1]);
			p += 2;
			continue;
		case 'u':
			break;
		default:
			return -1;
		}
		if (e - p < 6)
			return -1;
		cp = hex4(p + 2);
		p += 6;
		if (cp >= 0xd800 && cp <= 0xdbff && e - p >= 6 &&
		    p[0] == '\\' && p[1] == 'u' &&
		    (lo = hex4(p + 2)) >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		} else if (cp >= 0xd800 && cp <= 0xdfff)
			cp = 0xfffd;	/* lone surrogate */
		put_utf8(b, cp);
	}
	return 0;
}

int
json_streq(const struct json *j, int i, const char *s)
{
	struct buf b;
	int eq;

	if (i < 0 || i >= j->ntok || j->tok[i].type != JSMN_STRING)
		return 0;
	if (!memchr(j->s + j->tok[i].start, '\\',
	    (size_t)(j->tok[i].end - j->tok[i].start)))
		return (size_t)(j->tok[i].end - j->tok[i].start) ==
		    strlen(s) && memcmp(j->s + j->tok[i].start, s,
		    strlen(s)) == 0;
	buf_init(&b);
	eq = json_str(j, i, &b) == 0 && b.len == strlen(s) &&
	    memcmp(b.p, s, b.len) == 0;
	buf_free(&b);
	return eq;
}

int
json_int(const struct json *j, int i, long long *v)
{
	const char *p, *e;
	long long n = 0;
	int neg = 0;

	if (i < 0 || i >= j->ntok || (j->tok[i].type != JSMN_PRIMITIVE &&
	    j->tok[i].type != JSMN_STRING))
		return -1;
	p = j->s + j->tok[i].start;
	e = j->s + j->tok[i].end;
	if (p < e && *p == '-') {
		neg = 1;
		p++;
	}
	if (p == e)
		return -1;
	for (; p < e; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (n > (LLONG_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	*v = neg ? -n : n;
	return 0;
}

void
json_compact(struct buf *b, const char *s, size_t n)
{
	const char *e = s + n, *run;
	int instr = 0;

	xbuf_grow(b, n);
	run = s;
	for (; s < e; s++) {
		if (instr) {
			if (*s == '\\' && s + 1 < e)
				s++;
			else if (*s == '"')
				instr = 0;
		} else if (*s == '"') {
			instr = 1;
		} else if (isws((unsigned char)*s)) {
			xbuf_add(b, run, (size_t)(s - run));
			run = s + 1;
		}
	}
	xbuf_add(b, run, (size_t)(e - run));
}

void
json_escape(struct buf *b, const char *s, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	const char *e = s + n, *run = s;
	unsigned char c;

	for (; s < e; s++) {
		c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		xbuf_add(b, run, (size_t)(s - run));
		run = s + 1;
		xbuf_addc(b, '\\');
		switch (c) {
		case '"': xbuf_addc(b, '"'); break;
		case '\\': xbuf_addc(b, '\\'); break;
		case '\n': xbuf_addc(b, 'n'); break;
		case '\r': xbuf_addc(b, 'r'); break;
		case '\t': xbuf_addc(b, 't'); break;
		case '\b': xbuf_addc(b, 'b'); break;
		case '\f': xbuf_addc(b, 'f'); break;
		default:
			xbuf_adds(b, "u00");
			xbuf_addc(b, hx[c >> 4]);
			xbuf_addc(b, hx[c & 15]);
		}
	}
	xbuf_add(b, run, (size_t)(e - run));
}
