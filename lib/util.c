/* util: growable buffers, x-helpers, error buffers, line input. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "duo.h"

static void
oom(void)
{
	static const char msg[] = "duopipe: out of memory\n";

	fwrite(msg, 1, sizeof msg - 1, stderr);
	exit(DUO_EXIT_FAIL);
}

void *
xmalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t sz)
{
	void *p;

	if ((p = calloc(n ? n : 1, sz ? sz : 1)) == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p;

	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
buf_init(struct buf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	buf_init(b);
}

void
buf_wipe(struct buf *b)
{
	if (b->p != NULL)
		OPENSSL_cleanse(b->p, b->cap);
	buf_free(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap > 0)
		b->p[0] = '\0';
}

void
xbuf_grow(struct buf *b, size_t n)
{
	size_t cap;

	if (b->cap > b->len && n < b->cap - b->len)
		return;		/* the common case: room for n and the NUL */
	if (n >= SIZE_MAX / 2 - b->len)
		oom();
	cap = b->cap ? b->cap : 64;
	while (cap < b->len + n + 1)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void
xbuf_add(struct buf *b, const void *p, size_t n)
{
	xbuf_grow(b, n);
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
xbuf_adds(struct buf *b, const char *s)
{
	xbuf_add(b, s, strlen(s));
}

void
xbuf_addc(struct buf *b, int c)
{
	if (b->cap == 0 || b->cap - b->len < 2)
		xbuf_grow(b, 1);
	b->p[b->len++] = (char)c;
	b->p[b->len] = '\0';
}

void
xbuf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	xbuf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int
seterr(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, DUO_ERRLEN, fmt, ap);
	va_end(ap);
	return -1;
}

int
buf_getline(struct buf *b, FILE *fp, size_t max, int *flags)
{
	ssize_t n;

	/* getdelim scans stdio's buffer with memchr: far faster than getc. */
	*flags = 0;
	errno = 0;
	if ((n = getdelim(&b->p, &b->cap, '\n', fp)) == -1) {
		buf_reset(b);
		if (ferror(fp))
			return -1;
		if (errno == ENOMEM || errno == EOVERFLOW)
			return -1;
		return 0;
	}
	b->len = (size_t)n;
	if (b->len > 0 && b->p[b->len - 1] == '\n')
		b->len--;
	else
		*flags |= LINE_NOEOL;
	if (b->len > max) {
		b->len = max;
		*flags |= LINE_LONG;
		if (b->cap > 2 * max + 64) {	/* give a huge line back */
			b->p = xrealloc(b->p, max + 1);
			b->cap = max + 1;
		}
	}
	b->p[b->len] = '\0';
	return 1;
}

int
out_flush(FILE *fp, const char *name, char *err)
{
	if (fflush(fp) == EOF || ferror(fp))
		return seterr(err, "%s: write error: %s", name,
		    strerror(errno ? errno : EIO));
	return 0;
}

int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
hex_lower(char *out, const unsigned char *p, size_t n)
{
	static const char hx[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hx[p[i] >> 4];
		out[2 * i + 1] = hx[p[i] & 15];
	}
	out[2 * n] = '\0';
}

int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* n decimal digits at p[0..]; -1 if any is not a digit or past e. */
static int
digits(const char *p, const char *e, int n, int *v)
{
	int i;

	if (e - p < n)
		return -1;
	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	return 0;
}

int
iso8601_ms(const char *p, size_t n, int flags, int64_t *ms)
{
	const char *e = p + n;
	int y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0, frac = 0, fd = 0;
	int sign = 0, mdays, lenient = flags & ISO_LENIENT;

	if (digits(p, e, 4, &y) || e - p < 10 || p[4] != '-' ||
	    digits(p + 5, e, 2, &mo) || p[7] != '-' ||
	    digits(p + 8, e, 2, &d))
		return -1;
	p += 10;
	if (p == e && lenient)
		goto check;		/* a date alone: midnight UTC */
	if (p == e || (*p != 'T' && *p != 't' && *p != ' ') ||
	    digits(p + 1, e, 2, &h) || e - p < 6 || p[3] != ':' ||
	    digits(p + 4, e, 2, &mi))
		return -1;
	p += 6;
	if (p < e && *p == ':') {
		if (digits(p + 1, e, 2, &s))
			return -1;
		p += 3;
	} else if (!lenient)
		return -1;		/* seconds are required */
	if (p < e && (*p == '.' || *p == ',')) {
		p++;
		if (p == e || *p < '0' || *p > '9')
			return -1;
		for (; p < e && *p >= '0' && *p <= '9'; p++)
			if (fd < 3) {
				frac = frac * 10 + (*p - '0');
				fd++;
			}
		for (; fd < 3; fd++)
			frac *= 10;
	}
	if (p < e && (*p == 'Z' || *p == 'z'))
		p++;
	else if (p < e && (*p == '+' || *p == '-')) {
		sign = *p++ == '-' ? -1 : 1;
		if (e - p >= 5 && p[2] == ':') {
			if (digits(p, e, 2, &oh) || digits(p + 3, e, 2, &om))
				return -1;
			p += 5;
		} else if (e - p >= 4) {
			if (digits(p, e, 2, &oh) || digits(p + 2, e, 2, &om))
				return -1;
			p += 4;
		} else
			return -1;
	} else if (!lenient)
		return -1;		/* a time without a zone is ambiguous */
	if (p != e)
		return -1;
check:
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60 ||
	    oh > 23 || om > 59)
		return -1;
	mdays = mo == 2 ? ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ?
	    29 : 28) : (mo == 4 || mo == 6 || mo == 9 || mo == 11) ? 30 : 31;
	if (d > mdays)
		return -1;
	if (s == 60)
		s = 59;		/* a leap second: keep the calendar second */
	*ms = ((days_from_civil(y, mo, d) * 86400 +
	    h * 3600 + mi * 60 + s) - sign * (oh * 3600 + om * 60)) * 1000 +
	    frac;
	return 0;
}
