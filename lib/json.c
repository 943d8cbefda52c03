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

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define JSON_SSE2
#endif

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

/* Set err for a problem at byte pos (or for truncation at the end). */
static int
scan_err(char *err, size_t pos, size_t len, const char *what)
{
	if (pos >= len)
		return seterr(err, "truncated JSON");
	return seterr(err, "invalid JSON at byte %zu: %s", pos, what);
}

/*
 * Scan the string whose opening quote is at s[pos]; return the position
 * just past its closing quote, or 0 (never a valid end) with err set.
 */
static size_t
scan_string(const unsigned char *s, size_t pos, size_t len, char *err)
{
	const unsigned char *p = s + pos + 1, *e = s + len;
	const char *what = "unterminated string";
	int n;

	for (;;) {
#ifdef JSON_SSE2
		/* Sixteen bytes at a time: stop at the first quote,
		 * backslash, control byte or byte with the high bit. */
		while (e - p >= 16) {
			__m128i v, m;
			int bits;

			v = _mm_loadu_si128((const __m128i *)(const void *)p);
			m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
			    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
			m = _mm_or_si128(m, _mm_cmpeq_epi8(_mm_min_epu8(v,
			    _mm_set1_epi8(0x1f)), v));
			bits = _mm_movemask_epi8(m) | _mm_movemask_epi8(v);
			if (bits != 0) {
				p += __builtin_ctz((unsigned)bits);
				break;
			}
			p += 16;
		}
#endif
		while (e - p >= 4 && strplain[p[0]] && strplain[p[1]] &&
		    strplain[p[2]] && strplain[p[3]])
			p += 4;
		while (p < e && strplain[*p])
			p++;
		if (p >= e)
			break;
		if (*p == '"')
			return (size_t)(p - s) + 1;
		if (*p < 0x20) {
			what = "control byte in string";
			break;
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
				if (e - p < 6) {
					p = e;
					break;
				}
				if (hex_val(p[2]) < 0 || hex_val(p[3]) < 0 ||
				    hex_val(p[4]) < 0 || hex_val(p[5]) < 0) {
					what = "bad \\u escape";
					break;
				}
				p += 6;
				continue;
			default:
				what = "bad escape";
				break;
			}
			break;
		}
		if ((n = utf8_len(p, e)) == 0) {
			what = "invalid UTF-8 in string";
			break;
		}
		p += n;
	}
	scan_err(err, (size_t)(p - s), len, what);
	return 0;
}

static int
isdigit_(int c)
{
	return c >= '0' && c <= '9';
}

/*
 * Scan a number, true, false or null at s[pos]; return the position past
 * it, or 0 with err set.
 */
static size_t
scan_primitive(const unsigned char *s, size_t pos, size_t n, char *err)
{
	size_t p = pos;

	switch (s[p]) {
	case 't':
		if (n - p >= 4 && memcmp(s + p, "true", 4) == 0) {
			p += 4;
			goto end;
		}
		goto lit;
	case 'f':
		if (n - p >= 5 && memcmp(s + p, "false", 5) == 0) {
			p += 5;
			goto end;
		}
		goto lit;
	case 'n':
		if (n - p >= 4 && memcmp(s + p, "null", 4) == 0) {
			p += 4;
			goto end;
		}
		goto lit;
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
end:
	/* A literal or number ends at a delimiter, not "truex" or "01". */
	if (p < n && !isws(s[p]) && s[p] != ',' && s[p] != ']' &&
	    s[p] != '}') {
		scan_err(err, p, n, "bad literal or number");
		return 0;
	}
	return p;
lit:
	scan_err(err, p, n, "bad literal");
	return 0;
bad:
	scan_err(err, p, n, "bad number");
	return 0;
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
	j->cap = cap;
	return 0;
}

enum { VALUE, VALUE_OR_CLOSE, KEY, KEY_OR_CLOSE, AFTER, DONE };

/*
 * The scanner keeps its position, token count and token array in locals
 * (the hot loop of duo-fmt and duo-get); j->ntok is set at the end.
 */
int
json_parse(struct json *j, const char *str, size_t len, char *err)
{
	const unsigned char *s = (const unsigned char *)str;
	jsmntok_t *tk = j->tok, *t;
	int *next = j->next;
	size_t pos = 0, end;
	int cur = -1, state = VALUE, depth = 0, n = 0, i, c;

	j->s = str;
	j->len = len;
	j->ntok = 0;
	if (len > JSON_MAXLEN)
		return seterr(err, "JSON text longer than %u bytes",
		    JSON_MAXLEN);
	for (;;) {
		while (pos < len && s[pos] <= ' ' && isws(s[pos]))
			pos++;
		if (state == DONE) {
			if (pos != len)
				goto bad;
			j->ntok = n;
			return 0;
		}
		if (pos >= len) {
			if (n == 0)
				return seterr(err, "no JSON value");
			return seterr(err, "truncated JSON");
		}
		c = s[pos];
		if (state == AFTER) {
			if (c == ',') {
				pos++;
				state = tk[cur].type == JSMN_OBJECT ? KEY :
				    VALUE;
				continue;
			}
			if ((c == '}' && tk[cur].type == JSMN_OBJECT) ||
			    (c == ']' && tk[cur].type == JSMN_ARRAY))
				goto close;
			goto bad;
		}
		if ((c == ']' && state == VALUE_OR_CLOSE) ||
		    (c == '}' && state == KEY_OR_CLOSE))
			goto close;
		/* A new token: a value, or a key in an object. */
		if (n == j->cap) {
			if (grow(j) == -1)
				return seterr(err, "more than %d JSON tokens",
				    JSON_MAXTOK);
			tk = j->tok;
			next = j->next;
		}
		i = n++;
		t = &tk[i];
		t->start = (int)pos;
		t->size = 0;
		t->parent = cur;
		if (cur >= 0)
			tk[cur].size++;
		if (state == KEY || state == KEY_OR_CLOSE) {
			if (c != '"')
				goto bad;
			if ((end = scan_string(s, pos, len, err)) == 0)
				goto fail;
			t->type = JSMN_STRING;
			t->start++;
			t->end = (int)end - 1;
			pos = end;
			while (pos < len && s[pos] <= ' ' && isws(s[pos]))
				pos++;
			if (pos >= len || s[pos] != ':')
				goto bad;
			pos++;
			cur = i;
			state = VALUE;
			continue;
		}
		if (c == '{' || c == '[') {
			t->type = c == '{' ? JSMN_OBJECT : JSMN_ARRAY;
			t->end = -1;
			if (++depth > JSON_MAXDEPTH) {
				seterr(err, "nested deeper than %d",
				    JSON_MAXDEPTH);
				goto fail;
			}
			pos++;
			cur = i;
			state = c == '{' ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
			continue;
		}
		if (c == '"') {
			if ((end = scan_string(s, pos, len, err)) == 0)
				goto fail;
			t->type = JSMN_STRING;
			t->start++;
			t->end = (int)end - 1;
		} else if (c == '-' || isdigit_(c) || c == 't' || c == 'f' ||
		    c == 'n') {
			if ((end = scan_primitive(s, pos, len, err)) == 0)
				goto fail;
			t->type = JSMN_PRIMITIVE;
			t->end = (int)end;
		} else
			goto bad;
		pos = end;
		next[i] = i + 1;
		goto value_done;
close:
		/* c closes container cur */
		pos++;
		depth--;
		tk[cur].end = (int)pos;
		next[cur] = n;
		i = cur;
		cur = tk[i].parent;
value_done:
		/* token i, a complete value, ends; its parent is cur */
		if (cur >= 0 && tk[cur].type == JSMN_STRING) {
			next[cur] = n;
			cur = tk[cur].parent;
		}
		state = cur < 0 ? DONE : AFTER;
	}
bad:
	scan_err(err, pos, len, "syntax error");
fail:
	j->ntok = 0;
	return -1;
}

/*
 * The same grammar as json_parse without tokens, for duo-get's pages:
 * one pass that validates a value and, when out is given, copies it
 * with the whitespace between tokens left out.  Containers still open
 * are kept as their closing bytes in a small stack.
 */
size_t
json_value(const char *str, size_t len, size_t pos, int depth,
    struct buf *out, char *err)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char open[JSON_MAXDEPTH];
	char *o = NULL;
	size_t run, end;
	int sp = 0, state = VALUE, c;

	while (pos < len && isws(s[pos]))
		pos++;
	if (out != NULL) {
		/* The compact text is never longer than what is left. */
		xbuf_grow(out, len - pos);
		o = out->p + out->len;
	}
	run = pos;
	for (;;) {
		if (pos < len && isws(s[pos])) {
			if (o != NULL) {
				memcpy(o, s + run, pos - run);
				o += pos - run;
			}
			while (++pos < len && isws(s[pos]))
				;
			run = pos;
		}
		if (pos >= len) {
			seterr(err, "truncated JSON");
			goto fail;
		}
		c = s[pos];
		switch (state) {
		case AFTER:
			if (c == ',') {
				pos++;
				state = open[sp - 1] == '}' ? KEY : VALUE;
				continue;
			}
			if (c == open[sp - 1])
				goto close;
			goto bad;
		case KEY_OR_CLOSE:
			if (c == '}')
				goto close;
			/* FALLTHROUGH */
		case KEY:
			if (c != '"')
				goto bad;
			if ((end = scan_string(s, pos, len, err)) == 0)
				goto fail;
			pos = end;
			state = DONE;	/* here: a colon comes next */
			continue;
		case DONE:
			if (c != ':')
				goto bad;
			pos++;
			state = VALUE;
			continue;
		case VALUE_OR_CLOSE:
			if (c == ']')
				goto close;
			/* FALLTHROUGH */
		default:
			break;
		}
		if (c == '{' || c == '[') {
			if (depth + sp >= JSON_MAXDEPTH) {
				seterr(err, "nested deeper than %d",
				    JSON_MAXDEPTH);
				goto fail;
			}
			open[sp++] = c == '{' ? '}' : ']';
			state = c == '{' ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
			pos++;
			continue;
		}
		if (c == '"') {
			if ((end = scan_string(s, pos, len, err)) == 0)
				goto fail;
		} else if (c == '-' || isdigit_(c) || c == 't' || c == 'f' ||
		    c == 'n') {
			if ((end = scan_primitive(s, pos, len, err)) == 0)
				goto fail;
		} else
			goto bad;
		pos = end;
		goto value_done;
close:
		pos++;
		sp--;
value_done:
		if (sp == 0)
			break;
		state = AFTER;
	}
	if (o != NULL) {
		memcpy(o, s + run, pos - run);
		o += pos - run;
		out->len = (size_t)(o - out->p);
		out->p[out->len] = '\0';
	}
	return pos;
bad:
	scan_err(err, pos, len, "syntax error");
fail:
	if (out != NULL && out->cap > 0)
		out->p[out->len] = '\0';
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
	const char *e, *run;
	int instr = 0;

	if (n == 0) {
		xbuf_add(b, "", 0);	/* s may be NULL: no arithmetic */
		return;
	}
	e = s + n;
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
	const char *e, *run = s;
	unsigned char c;

	if (n == 0) {
		xbuf_add(b, "", 0);	/* s may be NULL: no arithmetic */
		return;
	}
	e = s + n;
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
