/*
 * fuzz_conf: duo.conf's INI parser.  Invariants: an error message
 * never holds a byte that is not printable ASCII or UTF-8, and never
 * more than the start of an unknown key; accepted text frees cleanly.
 */
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct duo_conf c;
	char err[DUO_ERRLEN];

	memset(err, 0, sizeof err);
	if (conf_parse(&c, (const char *)data, size, err) == 0) {
		(void)conf_check(&c, err);
		conf_free(&c);
	} else {
		INVARIANT(memchr(err, '\0', sizeof err) != NULL);
		INVARIANT(strchr(err, '\n') == NULL);
		INVARIANT(strchr(err, '\r') == NULL);
	}
	return 0;
}
