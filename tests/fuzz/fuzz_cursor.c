/*
 * fuzz_cursor: cursors and time arguments.  The first byte picks the
 * kind and what to fuzz.  Invariants: a cursor that parses formats to
 * text that parses again to the same text; time arguments never
 * overflow (UBSan) and stay in range.
 */
#include <string.h>

#include "fuzz.h"

#define NOW	1709210096000LL

static const char empty[] =
    "{\"stat\":\"OK\",\"response\":{\"authlogs\":[],\"metadata\":{}}}";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c, d;
	struct buf a, b, out;
	struct cursor_req req;
	char err[DUO_ERRLEN], *s;
	int64_t ms, from, to;
	size_t n;
	int kind, flags;

	if (size < 1)
		return 0;
	kind = data[0] % KIND_COUNT;
	data++;
	size--;
	buf_init(&a);
	buf_init(&b);
	buf_init(&out);
	s = xstrndup((const char *)data, size);
	(void)cursor_time(s, NOW, &ms, err);
	(void)cursor_duration(s, &ms, err);
	free(s);
	cursor_init(&c, kind);
	cursor_init(&d, kind);
	if (cursor_parse(&c, kind, (const char *)data, size, err) == 0) {
		cursor_format(&c, &a);
		INVARIANT(cursor_parse(&d, kind, a.p, a.len, err) == 0);
		cursor_format(&d, &b);
		INVARIANT(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
		if (c.fresh)
			cursor_since(&c, NOW - 86400000);
		(void)cursor_clamp(&c, NOW, &from, &to);
		if (cursor_request(&c, NOW - 120000, 0, &req) == 1) {
			/* An empty page of the right shape must be taken. */
			n = 0;
			(void)cursor_page(&c, empty, strlen(empty), NOW,
			    0, &out, &n, &flags, err);
		}
	}
	cursor_free(&c);
	cursor_free(&d);
	buf_free(&a);
	buf_free(&b);
	buf_free(&out);
	return 0;
}
