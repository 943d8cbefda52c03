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
