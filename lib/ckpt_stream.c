/*
 * ckpt_stream: what duo-ckpt reads from a stream and checks in it:
 * control lines and their cursors, event times, published file names,
 * a line reader with bounded memory, and the -H health line.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_int.h"

const char *const ckpt_kinds[] = {
	"auth", "admin", "telephony", "activity", "offline", "trustmonitor",
	NULL
};

const char *const ckpt_modenames[] = { "none", "file", "append" };

void
ck_step(struct ckpt *ck, int n)
{
	if (ck->hook != NULL)
		ck->hook(n, ck->hookarg);
}

int64_t
ck_now_ms(struct ckpt *ck)
{
	return ck->clock != NULL ? ck->clock() : compat_now_ms();
}

void
ck_iso(char *s, size_t sz, int64_t t)
{
	struct tm tm;

	if (compat_gmtime((time_t)t, &tm) == -1) {
		snprintf(s, sz, "-");
		return;
	}
	snprintf(s, sz, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
ck_path(struct buf *b, const char *dir, const char *kind, const char *suffix)
{
	buf_reset(b);
	xbuf_printf(b, "%s/%s%s", dir, kind != NULL ? kind : "", suffix);
}

/* Make b a valid (possibly empty) C string. */
void
ck_bstr(struct buf *b)
{
	xbuf_add(b, "", 0);
}

/* ---- pure helpers ---- */

int
ckpt_kind_ok(const char *s)
{
	int i;

	if (s == NULL)
		return 0;
	for (i = 0; ckpt_kinds[i] != NULL; i++)
		if (strcmp(s, ckpt_kinds[i]) == 0)
			return 1;
	return 0;
}

int
ckpt_worse(int a, int b)
{
	static const int rank[] = { 0, 2, 3, 1 };	/* by status 0..3 */

	if (a < 0 || a > 3)
		a = DUO_EXIT_FAIL;
	if (b < 0 || b > 3)
		b = DUO_EXIT_FAIL;
	return rank[a] >= rank[b] ? a : b;
}

int
ckpt_ctl_is(const char *s, size_t n)
{
	return n >= sizeof CKPT_CTL - 1 &&
	    memcmp(s, CKPT_CTL, sizeof CKPT_CTL - 1) == 0;
}

void
ckpt_ctl_init(struct ckpt_ctl *c)
{
	memset(c, 0, sizeof *c);
	buf_init(&c->kind);
	buf_init(&c->host);
	buf_init(&c->cursor);
	ck_bstr(&c->kind);
	ck_bstr(&c->host);
	ck_bstr(&c->cursor);
}

void
ckpt_ctl_free(struct ckpt_ctl *c)
{
	buf_free(&c->kind);
	buf_free(&c->host);
	buf_free(&c->cursor);
}

static void
raw(const struct json *j, int i, const char **p, size_t *n)
{
	*p = j->s + j->tok[i].start;
	*n = (size_t)(j->tok[i].end - j->tok[i].start);
}

/* The compact text of token i (replaces b). */
void
ck_compact_tok(struct buf *b, const struct json *j, int i)
{
	const char *p;
	size_t n;

	raw(j, i, &p, &n);
	buf_reset(b);
	ck_bstr(b);
	json_compact(b, p, n);
}

int
ck_isobj(const struct json *j, int i)
{
	return i >= 0 && j->tok[i].type == JSMN_OBJECT;
}

int
ck_getint(const struct json *j, int obj, const char *key, long long *v)
{
	int i;

	if ((i = json_get(j, obj, key)) < 0 ||
	    j->tok[i].type != JSMN_PRIMITIVE || json_int(j, i, v) == -1)
		return -1;
	return 0;
}

/* A string member, unescaped into b; b is a C string even on failure. */
int
ck_getstr(const struct json *j, int obj, const char *key, struct buf *b)
{
	int i;

	buf_reset(b);
	ck_bstr(b);
	if ((i = json_get(j, obj, key)) < 0 || j->tok[i].type != JSMN_STRING)
		return -1;
	if (json_str(j, i, b) == -1)
		return -1;
	ck_bstr(b);
	return memchr(b->p, '\0', b->len) != NULL ? -1 : 0;
}

/* A string or null member of the root (null: empty b). */
int
ck_optstr(const struct json *j, const char *key, struct buf *b)
{
	int i;

	buf_reset(b);
	ck_bstr(b);
	if ((i = json_get(j, 0, key)) < 0)
		return -1;
	if (json_isnull(j, i))
		return 0;
	return ck_getstr(j, 0, key, b);
}

int
ckpt_ctl_parse(struct ckpt_ctl *c, struct json *j, const char *s, size_t n,
    char *err)
{
	struct buf t;
	long long v;
	size_t k;
	int i, r = -1;

	buf_init(&t);
	buf_reset(&c->kind);
	buf_reset(&c->host);
	buf_reset(&c->cursor);
	ck_bstr(&c->kind);
	ck_bstr(&c->host);
	ck_bstr(&c->cursor);
	c->type = 0;
	c->v = c->n = 0;
	c->status = c->more = 0;
	if (json_parse(j, s, n, err) == -1)
		goto out;
	if (!ck_isobj(j, 0)) {
		seterr(err, "control line is not an object");
		goto out;
	}
	if (ck_getstr(j, 0, "@duo", &t) == -1) {
		seterr(err, "control line without a string @duo");
		goto out;
	}
	if (strcmp(t.p, "begin") == 0)
		c->type = CKPT_BEGIN;
	else if (strcmp(t.p, "mark") == 0)
		c->type = CKPT_MARK;
	else if (strcmp(t.p, "end") == 0)
		c->type = CKPT_END;
	else if (strcmp(t.p, "exit") == 0)
		c->type = CKPT_EXIT;
	else {
		seterr(err, "unknown control line \"%.40s\"", t.p);
		goto out;
	}
	if (c->type == CKPT_EXIT) {
		if (ck_getint(j, 0, "status", &v) == -1 || v < 0 || v > 3) {
			seterr(err, "exit line without a status 0 to 3");
			goto out;
		}
		c->status = (int)v;
		if ((i = json_get(j, 0, "more")) >= 0) {
			if (json_streq(j, i, "true") ||
			    (j->tok[i].type == JSMN_PRIMITIVE &&
			    j->s[j->tok[i].start] == 't'))
				c->more = 1;
			else if (j->tok[i].type != JSMN_PRIMITIVE ||
			    j->s[j->tok[i].start] != 'f') {
				seterr(err, "exit line with a bad \"more\"");
				goto out;
			}
		}
		r = 0;
		goto out;
	}
	if (!ck_isobj(j, i = json_get(j, 0, "cursor"))) {
		seterr(err, "%s line without a cursor object", t.p);
		goto out;
	}
	ck_compact_tok(&c->cursor, j, i);
	if (c->type == CKPT_BEGIN) {
		if (ck_getint(j, 0, "v", &c->v) == -1) {
			seterr(err, "begin line without a version v");
			goto out;
		}
		if (ck_getstr(j, 0, "kind", &c->kind) == -1 ||
		    ck_getstr(j, 0, "host", &c->host) == -1) {
			seterr(err, "begin line without kind or host");
			goto out;
		}
		if (c->kind.len == 0 || c->host.len == 0) {
			seterr(err, "begin line with an empty kind or host");
			goto out;
		}
		for (k = 0; k < c->host.len; k++)
			if (c->host.p[k] >= 'A' && c->host.p[k] <= 'Z')
				c->host.p[k] += 'a' - 'A';
	} else if (ck_getint(j, 0, "n", &c->n) == -1 || c->n < 0) {
		seterr(err, "%s line without a count n", t.p);
		goto out;
	}
	r = 0;
out:
	buf_free(&t);
	return r;
}

int
ckpt_cursor_check(const char *kind, const char *s, size_t n, int fresh_ok,
    int64_t now_ms, char *err)
{
	struct cursor c;
	char e2[DUO_ERRLEN], ts[40];
	int64_t t;
	int k, r = -1;

	if ((k = cursor_kind(kind)) < 0)
		return seterr(err, "%s: unknown kind", kind);
	cursor_init(&c, k);
	if (cursor_parse(&c, k, s, n, e2) == -1) {
		seterr(err, "bad cursor: %s", e2);
		goto out;
	}
	if (c.fresh) {
		if (!fresh_ok) {
			seterr(err, "bad cursor: an empty cursor");
			goto out;
		}
		r = 0;
		goto out;
	}
	t = cursor_isv1(k) ? c.sec * 1000 : c.max > 0 ? c.max : c.min;
	if (t > now_ms + CKPT_SKEW_MS) {
		ck_iso(ts, sizeof ts, t / 1000);
		seterr(err, "bad cursor: it lies in the future (%s)", ts);
		goto out;
	}
	r = 0;
out:
	cursor_free(&c);
	return r;
}

/* Append s with %, | and bytes outside printable ASCII as %XX. */
static void
mpe_esc(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '%' || *s == '|' || (unsigned char)*s <= ' ' ||
		    (unsigned char)*s > '~')
			xbuf_printf(b, "%%%02X", (unsigned char)*s);
		else
			xbuf_addc(b, *s);
	}
}

void
ckpt_health(struct buf *b, const char *kind, int64_t now, long utcoff,
    int status, int more, unsigned long long records, int64_t newest,
    const char *host)
{
	static const char *const results[] = { "ok", "fail", "usage", "temp" };
	struct tm tm;
	char ts[40];

	if (compat_gmtime((time_t)(now + utcoff), &tm) == -1)
		memset(&tm, 0, sizeof tm);
	xbuf_printf(b, "%04d-%02d-%02d %02d:%02d:%02d DUO STATUS |",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	ck_iso(ts, sizeof ts, now);
	if (status < 0 || status > 3)
		status = DUO_EXIT_FAIL;
	xbuf_printf(b, "utc=%s|kind=%s|result=%s|status=%d|records=%llu|lag=",
	    ts, kind, status == 0 && more ? "more" : results[status], status,
	    records);
	if (newest >= 0)
		xbuf_printf(b, "%lld", (long long)(now - newest));
	xbuf_adds(b, "|newest=");
	if (newest >= 0) {
		ck_iso(ts, sizeof ts, newest);
		xbuf_adds(b, ts);
	}
	xbuf_printf(b, "|more=%d|host=", more ? 1 : 0);
	mpe_esc(b, host != NULL ? host : "");
	xbuf_adds(b, "|\n");
}

/* ---- the line reader ---- */

void
ckpt_in_init(struct ckpt_in *in, int fd, volatile int *sig, long grace_ms)
{
	memset(in, 0, sizeof *in);
	in->fd = fd;
	in->sig = sig;
	in->grace_ms = grace_ms > 0 ? grace_ms : CKPT_GRACE_MS;
	in->cap = CKPT_MAXLINE + 65536;
	in->p = xmalloc(in->cap);
}

void
ckpt_in_free(struct ckpt_in *in)
{
	free(in->p);
	in->p = NULL;
}

/* Read more at in->len: 1 got some, 0 end of input, -1 error, -2 grace
 * ran out. */
static int
fill(struct ckpt_in *in)
{
	ssize_t r;
	int64_t now;
	int w;

	for (;;) {
		if (in->sig != NULL && *in->sig != 0) {
			now = compat_now_ms();
			if (in->deadline == 0)
				in->deadline = now + in->grace_ms;
			if (now >= in->deadline)
				return -2;
			if ((w = compat_wait_readable(in->fd,
			    (long)(in->deadline - now))) == -1)
				return -1;
			if (w == 0)
				continue;
		}
		r = compat_read(in->fd, in->p + in->len, in->cap - in->len);
		if (r == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		if (r == 0) {
			in->eof = 1;
			return 0;
		}
		in->len += (size_t)r;
		return 1;
	}
}

int
ckpt_in_line(struct ckpt_in *in, const char **line, size_t *n, int *flags)
{
	char *nl;
	size_t keep;
	int r;

	*flags = 0;
	for (;;) {
		nl = memchr(in->p + in->scan, '\n', in->len - in->scan);
		if (nl != NULL) {
			*line = in->p + in->off;
			*n = (size_t)(nl - *line);
			if (in->drop) {
				*flags |= LINE_LONG;
				*n = CKPT_MAXLINE;
			}
			in->drop = 0;
			in->off = in->scan = (size_t)(nl - in->p) + 1;
			return 1;
		}
		/* Over the limit: keep the first CKPT_MAXLINE bytes only. */
		keep = in->len - in->off;
		if (keep > CKPT_MAXLINE) {
			in->drop = 1;
			in->len = in->off + CKPT_MAXLINE;
		}
		in->scan = in->len;
		if (in->eof) {
			if (in->len == in->off)
				return 0;
			*line = in->p + in->off;
			*n = in->len - in->off;
			*flags |= LINE_NOEOL | (in->drop ? LINE_LONG : 0);
			in->off = in->scan = in->len;
			in->drop = 0;
			return 1;
		}
		if (in->off > 0) {
			memmove(in->p, in->p + in->off, in->len - in->off);
			in->len -= in->off;
			in->scan -= in->off;
			in->off = 0;
		}
		if ((r = fill(in)) < 0)
			return r;
	}
}

static int
digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
ckpt_parse_iso(const char *s, size_t n, int64_t *t)
{
	int64_t ms;

	if (iso8601_ms(s, n, 0, &ms) == -1)
		return -1;
	*t = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	return 0;
}

static int
epoch(const char *s, size_t n, int64_t *t)
{
	int64_t v = 0;
	size_t i;

	if (n < 9 || n > 16)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*t = n >= 13 ? v / 1000 : v;
	return 0;
}

static int
json_time(struct json *j, const char *s, size_t n, int64_t *t)
{
	static const char *const keys[] = {
		"duo_time", "isotimestamp", "ts", "timestamp",
		"surfaced_timestamp", NULL
	};
	char err[DUO_ERRLEN];
	const char *p;
	size_t len;
	int i, k;

	if (json_parse(j, s, n, err) == -1 || !ck_isobj(j, 0))
		return 0;
	for (k = 0; keys[k] != NULL; k++) {
		if ((i = json_get(j, 0, keys[k])) < 0)
			continue;
		raw(j, i, &p, &len);
		if (j->tok[i].type == JSMN_STRING) {
			if (ckpt_parse_iso(p, len, t) == 0 ||
			    epoch(p, len, t) == 0)
				return 1;
		} else if (j->tok[i].type == JSMN_PRIMITIVE) {
			if (memchr(p, '.', len) != NULL)
				len = (size_t)((const char *)memchr(p, '.',
				    len) - p);
			if (epoch(p, len, t) == 0)
				return 1;
		}
	}
	return 0;
}

int
ckpt_event_time(struct json *j, const char *s, size_t n, int64_t *t)
{
	const char *p, *e;
	size_t i;

	if (n > 0 && s[0] == '{')
		return json_time(j, s, n, t);
	/* utc=... (mpe), utc="..." (kv). */
	for (p = s; (e = memchr(p, 'u', (size_t)(s + n - p))) != NULL;
	    p = e + 1) {
		if ((size_t)(s + n - e) < 4 + 20 || memcmp(e, "utc=", 4) != 0 ||
		    (e > s && e[-1] != '|' && e[-1] != ' '))
			continue;
		e += 4;
		if (*e == '"')
			e++;
		for (i = 0; e + i < s + n && e[i] != '|' && e[i] != '"' &&
		    e[i] != ' '; i++)
			;
		if (ckpt_parse_iso(e, i, t) == 0)
			return 1;
		break;
	}
	/* A leading epoch (legacy). */
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i > 0 && (i == n || s[i] == ' ' || s[i] == ',') &&
	    epoch(s, i, t) == 0)
		return 1;
	/* CEF rt=<ms>. */
	for (p = s; (e = memchr(p, 'r', (size_t)(s + n - p))) != NULL;
	    p = e + 1) {
		if (e == s || (e[-1] != ' ' && e[-1] != '|') ||
		    (size_t)(s + n - e) < 4 ||
		    memcmp(e, "rt=", 3) != 0)
			continue;
		e += 3;
		for (i = 0; e + i < s + n && e[i] >= '0' && e[i] <= '9'; i++)
			;
		if (epoch(e, i, t) == 0)
			return 1;
	}
	return 0;
}

void
ckpt_filename(struct buf *b, const char *kind, int64_t t,
    unsigned long long seq)
{
	struct tm tm;

	if (compat_gmtime((time_t)t, &tm) == -1)
		memset(&tm, 0, sizeof tm);
	xbuf_printf(b, "duo-%s-%04d%02d%02dT%02d%02d%02dZ-%06llu.log", kind,
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, seq);
}

int
ckpt_filename_time(const char *name, const char *kind, int64_t *t)
{
	struct tm tm;
	size_t kl = strlen(kind), n = strlen(name), i;
	const char *s;
	int y, mo, d, h, mi, se;

	/* duo- KIND - 16 - digits .log */
	if (n < 4 + kl + 1 + 16 + 2 + 4 || memcmp(name, "duo-", 4) != 0 ||
	    memcmp(name + 4, kind, kl) != 0 || name[4 + kl] != '-' ||
	    strcmp(name + n - 4, ".log") != 0)
		return -1;
	s = name + 4 + kl + 1;
	if (s[8] != 'T' || s[15] != 'Z' || s[16] != '-' ||
	    digits(s, 4, &y) || digits(s + 4, 2, &mo) || digits(s + 6, 2, &d) ||
	    digits(s + 9, 2, &h) || digits(s + 11, 2, &mi) ||
	    digits(s + 13, 2, &se))
		return -1;
	for (i = 17; s + i < name + n - 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (int64_t)compat_timegm(&tm);
	return 0;
}
