/*
 * urlenc: the percent-encoding Duo's canonical strings use, and the
 * quoting of strings in a curl config file.
 */
#include <string.h>

#include "duo.h"

static const char hexup[] = "0123456789ABCDEF";

/* Is c one of the bytes that stay literal: A-Z a-z 0-9 - . _ ~ ? */
int
urlenc_unreserved(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

void
urlenc_add(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	xbuf_grow(b, n * 3);
	for (i = 0; i < n; i++) {
		if (urlenc_unreserved(p[i]))
			b->p[b->len++] = (char)p[i];
		else {
			b->p[b->len++] = '%';
			b->p[b->len++] = hexup[p[i] >> 4];
			b->p[b->len++] = hexup[p[i] & 15];
		}
	}
	b->p[b->len] = '\0';
}

void
urlenc_curlq(struct buf *b, const char *s, size_t n)
{
	size_t i;

	xbuf_addc(b, '"');
	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '"':
			xbuf_adds(b, "\\\"");
			break;
		case '\\':
			xbuf_adds(b, "\\\\");
			break;
		case '\t':
			xbuf_adds(b, "\\t");
			break;
		case '\n':
			xbuf_adds(b, "\\n");
			break;
		case '\r':
			xbuf_adds(b, "\\r");
			break;
		case '\v':
			xbuf_adds(b, "\\v");
			break;
		default:
			xbuf_addc(b, s[i]);
		}
	}
	xbuf_addc(b, '"');
}
