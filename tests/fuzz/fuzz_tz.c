/*
 * fuzz_tz: the TZif reader and POSIX TZ strings.  The first byte picks
 * TZif bytes or a TZ string.  Invariants: a zone that loads answers
 * every instant with an offset within a day of UTC, and the span it
 * reports holds the instant; every name tz_name_ok accepts is relative, with no
 * component that is empty or starts with a dot.
 */
#include <string.h>

#include "fuzz.h"

static const int64_t probe[] = {
	INT64_MIN / 2, -2208988800LL, 0, 946684800LL, 1709210096LL,
	2147483647LL, 4102444800LL, INT64_MAX / 2
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tz *z = NULL;
	struct tz_info in;
	char err[DUO_ERRLEN], *s;
	size_t i;
	int r;

	if (size < 1)
		return 0;
	if (data[0] & 1)
		r = tz_load(&z, data + 1, size - 1, err);
	else {
		s = xstrndup((const char *)data + 1, size - 1);
		r = tz_posix(&z, s, err);
		if (tz_name_ok(s))
			INVARIANT(s[0] != '/' && s[0] != '.' &&
			    strstr(s, "/.") == NULL && strstr(s, "//") == NULL);
		free(s);
	}
	if (r == 0) {
		for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
			tz_lookup(z, probe[i], &in);
			INVARIANT(in.off > -86400 * 2 && in.off < 86400 * 2);
			INVARIANT(in.lo <= probe[i] && probe[i] < in.hi);
			INVARIANT(in.abbr != NULL);
			INVARIANT(tz_utcoff(z, probe[i]) == in.off);
		}
		tz_free(z);
	}
	return 0;
}
