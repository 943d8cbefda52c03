/*
 * fuzz_page: one response body through cursor_page, for each kind.
 * Invariants: a refused page writes nothing; an accepted page writes
 * n LF-terminated lines, none of them a control line, each valid JSON.
 */
#include <string.h>

#include "fuzz.h"

#define NOW	1709210096000LL

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c;
	struct cursor_req req;
	struct json j;
	struct buf out;
	char err[DUO_ERRLEN];
	const char *p, *e, *nl;
	size_t n = 0, lines = 0;
	int kind, flags = 0;

	if (size < 1)
		return 0;
	kind = data[0] % KIND_COUNT;
	data++;
	size--;
	cursor_init(&c, kind);
	json_init(&j);
	buf_init(&out);
	cursor_since(&c, NOW - 86400000);
	if (cursor_request(&c, NOW - 120000, 0, &req) == 1) {
		if (cursor_page(&c, (const char *)data, size, NOW - 120000,
		    0, &out, &n, &flags, err) == 0) {
			p = out.p;
			e = out.p + out.len;
			while (p < e) {
				nl = memchr(p, '\n', (size_t)(e - p));
				INVARIANT(nl != NULL);
				INVARIANT(!ckpt_ctl_is(p, (size_t)(nl - p)));
				INVARIANT(json_parse(&j, p, (size_t)(nl - p),
				    err) == 0);
				lines++;
				p = nl + 1;
			}
			INVARIANT(lines == n);
		} else
			INVARIANT(out.len == 0);
	}
	cursor_free(&c);
	json_free(&j);
	buf_free(&out);
	return 0;
}
