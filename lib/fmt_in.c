/*
 * fmt_in: a line reader on a file descriptor with constant memory.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duo.h"

/* ---- input ---- */

#define IN_CHUNK	(256u * 1024)

void
fmt_in_init(struct fmt_in *in, int fd)
{
	in->fd = fd;
	in->cap = FMT_LINEMAX + IN_CHUNK;
	in->p = xmalloc(in->cap);
	in->off = in->len = 0;
	in->eof = 0;
	in->intr = NULL;
}

void
fmt_in_free(struct fmt_in *in)
{
	free(in->p);
	in->p = NULL;
}

static int
fill(struct fmt_in *in, char *err)
{
	ssize_t r;

	if (in->off > 0) {
		memmove(in->p, in->p + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	for (;;) {
		r = read(in->fd, in->p + in->len, in->cap - in->len);
		if (r > 0) {
			in->len += (size_t)r;
			return 0;
		}
		if (r == 0) {
			in->eof = 1;
			return 0;
		}
		if (errno != EINTR)
			return seterr(err, "read: %s", strerror(errno));
		if (in->intr != NULL && *in->intr)
			return 1;
	}
}

int
fmt_in_line(struct fmt_in *in, const char **line, size_t *n, int *flags,
    char *err)
{
	char *q;
	size_t scan = in->off;
	int r;

	*flags = 0;
	for (;;) {
		q = memchr(in->p + scan, '\n', in->len - scan);
		if (q != NULL) {
			*line = in->p + in->off;
			*n = (size_t)(q - *line);
			in->off = (size_t)(q - in->p) + 1;
			if (*n > FMT_LINEMAX) {
				*n = FMT_LINEMAX;
				*flags |= LINE_LONG;
			}
			return 1;
		}
		if (in->eof) {
			if (in->len == in->off)
				return 0;
			*line = in->p + in->off;
			*n = in->len - in->off;
			in->off = in->len;
			*flags |= LINE_NOEOL;
			if (*n > FMT_LINEMAX) {
				*n = FMT_LINEMAX;
				*flags |= LINE_LONG;
			}
			return 1;
		}
		/* Past FMT_LINEMAX bytes without LF: the line is too long,
		 * however the reads fell. */
		if (in->len - in->off > FMT_LINEMAX)
			break;
		scan = in->len - in->off;
		if ((r = fill(in, err)) == -1)
			return -1;
		if (r == 1)
			return 2;
	}
	/* Over-long line: keep FMT_LINEMAX bytes, drop the rest. */
	*flags |= LINE_LONG;
	if (in->off > 0) {
		memmove(in->p, in->p + in->off, FMT_LINEMAX);
		in->off = 0;
	}
	in->len = FMT_LINEMAX;
	for (;;) {
		if (fill(in, err) == -1)
			return -1;
		q = memchr(in->p + FMT_LINEMAX, '\n', in->len - FMT_LINEMAX);
		if (q != NULL) {
			in->off = (size_t)(q - in->p) + 1;
			break;
		}
		if (in->eof) {
			in->off = in->len;
			*flags |= LINE_NOEOL;
			break;
		}
		in->len = FMT_LINEMAX;
	}
	*line = in->p;
	*n = FMT_LINEMAX;
	return 1;
}
