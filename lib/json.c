/*
 * json: a strict, single-pass JSON tokenizer and the helpers that walk
 * its tokens.
 *
 * The tokens are jsmn's (jsmntok_t from jsmn.h, with parent links), so
 * code reads them as it would read jsmn's.  The tokenizing is done here
 * rather than by jsmn_parse: jsmn does not validate ("[1,]", "{"a"}",
 * raw control bytes and bad UTF-8 in strings all pass), and jsmn plus a
 * validation pass over its tokens cost twice what duo-fmt's speed target
 * allows (see bench/fmt).  This scanner checks the full JSON grammar
 * (RFC 8259) as it goes: structure, literals, numbers, escapes, UTF-8 in
 * strings, and the nesting depth.  It also records for each token the
 * index just past its subtree, so json_skip is O(1).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

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

/* Bytes that stand for themselves inside a string: printable ASCII
 * other than the quote and the backslash. */
static const unsigned char strplain[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

struct scan {
	struct json	*j;
	const unsigned char *s;
	size_t		 pos;
	size_t		 len;
	char		*err;
};

static int
scan_err(struct scan *sc, const char *what)
{
	if (sc->pos >= sc->len)
		return seterr(sc->err, "truncated JSON");
	return seterr(sc->err, "invalid JSON at byte %zu: %s", sc->pos, what);
}

/* Scan the string whose opening quote is at pos; pos ends past it. */
static int
scan_string(struct scan *sc)
{
	const unsigned char *s = sc->s, *p, *e;
	int i, n;

	p = s + sc->pos + 1;
	e = s + sc->len;
	for (;;) {
		while (e - p >= 4 && strplain[p[0]] && strplain[p[1]] &&
		    strplain[p[2]] && strplain[p[3]])
			p += 4;
		while (p < e && strplain[*p])
			p++;
		if (p >= e)
			break;
		if (*p == '"') {
			sc->pos = (size_t)(p - s) + 1;
			return 0;
		}
		if (*p < 0x20) {
			sc->pos = (size_t)(p - s);
			return scan_err(sc, "control byte in string");
		}
		if (*p == '\\') {
			if (e - p < 2)
				break;
			switch (p[1]) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				p += 2;
				continue;
			case 'u':
				if (e - p < 6)
					break;
				for (i = 2; i < 6; i++)
					if (hex_val(p[i]) < 0) {
						sc->pos = (size_t)(p - s);
						return scan_err(sc, "bad \\u escape");
					}
				p += 6;
				continue;
			default:
				sc->pos = (size_t)(p - s);
				return scan_err(sc, "bad escape");
			}
			break;
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((n = utf8_len(p, e)) == 0) {
			sc->pos = (size_t)(p - s);
			return scan_err(sc, "invalid UTF-8 in string");
		}
		p += n;
	}
	sc->pos = sc->len;
	return scan_err(sc, "unterminated string");
}

static int
isdigit_(int c)
{
	return c >= '0' && c <= '9';
}

/* Scan a number, true, false or null at pos. */
static int
scan_primitive(struct scan *sc)
{
	const unsigned char *s = sc->s;
	size_t p = sc->pos, n = sc->len;

	switch (s[p]) {
	case 't':
		if (n - p >= 4 && memcmp(s + p, "true", 4) == 0) {
			sc->pos = p + 4;
			goto end;
		}
		return scan_err(sc, "bad literal");
	case 'f':
		if (n - p >= 5 && memcmp(s + p, "false", 5) == 0) {
			sc->pos = p + 5;
			goto end;
		}
		return scan_err(sc, "bad literal");
	case 'n':
		if (n - p >= 4 && memcmp(s + p, "null", 4) == 0) {
			sc->pos = p + 4;
			goto end;
		}
		return scan_err(sc, "bad literal");
	}
	if (s[p] == '-')
		p++;
	if (p < n && s[p] == '0')
		p++;
	else if (p < n && s[p] >= '1' && s[p] <= '9')
		while (p < n && isdigit_(s[p]))
			p++;
	else
		goto bad;
	if (p < n && s[p] == '.') {
		if (++p >= n || !isdigit_(s[p]))
			goto bad;
		while (p < n && isdigit_(s[p]))
			p++;
	}
	if (p < n && (s[p] == 'e' || s[p] == 'E')) {
		p++;
		if (p < n && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= n || !isdigit_(s[p]))
			goto bad;
		while (p < n && isdigit_(s[p]))
			p++;
	}
	sc->pos = p;
end:
	/* A literal or number ends at a delimiter, not "truex" or "01". */
	if (sc->pos < n && !isws(s[sc->pos]) && s[sc->pos] != ',' &&
	    s[sc->pos] != ']' && s[sc->pos] != '}')
		return scan_err(sc, "bad literal or number");
	return 0;
bad:
	sc->pos = p;
	return scan_err(sc, "bad number");
}

static int
grow(struct json *j)
{
	int cap;

	if (j->cap >= JSON_MAXTOK)
		return -1;
	cap = j->cap ? j->cap * 2 : JSON_MINTOK;
	if (cap > JSON_MAXTOK)
		cap = JSON_MAXTOK;
	j->tok = xrealloc(j->tok, (size_t)cap * sizeof *j->tok);
	j->next = xrealloc(j->next, (size_t)cap * sizeof *j->next);
	j->work = xrealloc(j->work, (size_t)cap * sizeof *j->work);
	j->cap = cap;
	return 0;
}

/* A new token at the current position; -1 past JSON_MAXTOK tokens. */
static inline int
newtok(struct scan *sc, jsmntype_t type, int start, int parent)
{
	struct json *j = sc->j;
	jsmntok_t *t;

	if (j->ntok == j->cap && grow(j) == -1)
		return seterr(sc->err, "more than %d JSON tokens",
		    JSON_MAXTOK);
	t = &j->tok[j->ntok];
	t->type = type;
	t->start = start;
	t->end = -1;
	t->size = 0;
	t->parent = parent;
	return j->ntok++;
}

static inline void
skipws(struct scan *sc)
{
	if (sc->pos < sc->len && sc->s[sc->pos] > ' ')
		return;		/* compact JSON: nothing to skip */
	while (sc->pos < sc->len && isws(sc->s[sc->pos]))
		sc->pos++;
}

enum { VALUE, VALUE_OR_CLOSE, KEY, KEY_OR_CLOSE, AFTER, DONE };

int
json_parse(struct json *j, const char *s, size_t len, char *err)
{
	struct scan sc;
	int cur = -1, state = VALUE, depth = 0, t, c;

	j->s = s;
	j->len = len;
	j->ntok = 0;
	if (len > JSON_MAXLEN)
		return seterr(err, "JSON text longer than %u bytes",
		    JSON_MAXLEN);
	sc.j = j;
	sc.s = (const unsigned char *)s;
	sc.pos = 0;
	sc.len = len;
	sc.err = err;
	for (;;) {
		skipws(&sc);
		if (state == DONE) {
			if (sc.pos != len)
				goto bad;
			return 0;
		}
		if (sc.pos >= len) {
			if (j->ntok == 0)
				return seterr(err, "no JSON value");
			return seterr(err, "truncated JSON");
		}
		c = s[sc.pos];
		switch (state) {
		case VALUE_OR_CLOSE:
			if (c == ']')
				goto close;
			/* FALLTHROUGH */
		case VALUE:
			if ((t = newtok(&sc, JSMN_PRIMITIVE, (int)sc.pos,
			    cur)) == -1)
				goto fail;
			if (cur >= 0)
				j->tok[cur].size++;
			if (c == '{' || c == '[') {
				j->tok[t].type = c == '{' ? JSMN_OBJECT :
				    JSMN_ARRAY;
				if (++depth > JSON_MAXDEPTH) {
					seterr(err, "nested deeper than %d",
					    JSON_MAXDEPTH);
					goto fail;
				}
				sc.pos++;
				cur = t;
				state = c == '{' ? KEY_OR_CLOSE :
				    VALUE_OR_CLOSE;
				continue;
			}
			if (c == '"') {
				j->tok[t].type = JSMN_STRING;
				j->tok[t].start++;
				if (scan_string(&sc) == -1)
					goto fail;
				j->tok[t].end = (int)sc.pos - 1;
			} else if (c == '-' || isdigit_(c) || c == 't' ||
			    c == 'f' || c == 'n') {
				if (scan_primitive(&sc) == -1)
					goto fail;
				j->tok[t].end = (int)sc.pos;
			} else
				goto bad;
			j->next[t] = t + 1;
			goto value_done;
		case KEY_OR_CLOSE:
			if (c == '}')
				goto close;
			/* FALLTHROUGH */
		case KEY:
			if (c != '"')
				goto bad;
			if ((t = newtok(&sc, JSMN_STRING, (int)sc.pos + 1,
			    cur)) == -1)
				goto fail;
			j->tok[cur].size++;
			if (scan_string(&sc) == -1)
				goto fail;
			j->tok[t].end = (int)sc.pos - 1;
			skipws(&sc);
			if (sc.pos >= len || s[sc.pos] != ':')
				goto bad;
			sc.pos++;
			cur = t;
			state = VALUE;
			continue;
		case AFTER:
			if (c == ',') {
				sc.pos++;
				state = j->tok[cur].type == JSMN_OBJECT ?
				    KEY : VALUE;
				continue;
			}
			if ((c == '}' && j->tok[cur].type == JSMN_OBJECT) ||
			    (c == ']' && j->tok[cur].type == JSMN_ARRAY))
				goto close;
			goto bad;
		}
		goto bad;
close:
		/* c closes container cur */
		sc.pos++;
		depth--;
		j->tok[cur].end = (int)sc.pos;
		j->next[cur] = j->ntok;
		t = cur;
		cur = j->tok[t].parent;
value_done:
		/* token t, a complete value, ends; its parent is cur */
		if (cur >= 0 && j->tok[cur].type == JSMN_STRING) {
			j->tok[cur].size = 1;
			j->next[cur] = j->ntok;
			cur = j->tok[cur].parent;
		}
		state = cur < 0 ? DONE : AFTER;
	}
bad:
	scan_err(&sc, "syntax error");
fail:
	j->ntok = 0;
	return -1;
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
	return (unsigned long)(hex_val(p[0]) << 12 | hex_val(p[1]) << 8 |
	    hex_val(p[2]) << 4 | hex_val(p[3]));
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
