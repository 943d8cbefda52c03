/*
 * fuzz_fmt: the formatter, every format and kind.  The first byte
 * picks the format, the kind (-k) and the zone; the rest is input
 * lines.  Invariants: exactly one output line per input line, no CR,
 * LF or NUL inside it, mpe lines at most FMT_OUTMAX bytes, and valid
 * UTF-8 out for valid UTF-8 in.
 */
#include <string.h>

#include "fuzz.h"

static int zoned;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fmt f;
	struct buf out;
	char err[DUO_ERRLEN];
	const char *p, *e, *nl;
	size_t n;
	unsigned long lineno = 0;
	int format, kind, utc, flags;

	if (size < 1)
		return 0;
	if (!zoned) {
		/* A zone with DST and a half-hour offset history. */
		if (fmt_zone("Australia/Lord_Howe", err) == -1)
			(void)fmt_zone("utc", err);
		zoned = 1;
	}
	format = data[0] % 5;
	kind = (data[0] / 5) % FMT_NKIND;
	utc = (data[0] / 35) % 2;
	data++;
	size--;
	fmt_init(&f, format, kind, utc);
	buf_init(&out);
	p = (const char *)data;
	e = p + size;
	while (p < e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(e - p);
		flags = nl != NULL ? 0 : LINE_NOEOL;
		if (n > FMT_LINEMAX) {
			n = FMT_LINEMAX;
			flags |= LINE_LONG;
		}
		lineno++;
		buf_reset(&out);
		(void)fmt_line(&f, p, n, flags, "fuzz", lineno,
		    1709210096000LL, &out, err);
		INVARIANT(out.len > 0 && out.p[out.len - 1] == '\n');
		INVARIANT(memchr(out.p, '\n', out.len - 1) == NULL);
		INVARIANT(memchr(out.p, '\r', out.len) == NULL);
		INVARIANT(memchr(out.p, '\0', out.len) == NULL);
		if (format == FMT_MPE && !ckpt_ctl_is(p, n))
			INVARIANT(out.len <= FMT_OUTMAX);
		if (fuzz_utf8((const unsigned char *)p, n))
			INVARIANT(fuzz_utf8((unsigned char *)out.p,
			    out.len));
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	fmt_free(&f);
	buf_free(&out);
	return 0;
}
