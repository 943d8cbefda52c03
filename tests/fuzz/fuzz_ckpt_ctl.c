/*
 * fuzz_ckpt_ctl: duo-ckpt's reading of stream lines: control lines
 * and the event time of data lines.  Invariants: a control line that
 * parses has a known type and a cursor that is a JSON object.
 */
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ckpt_ctl c;
	struct json j, k;
	char err[DUO_ERRLEN];
	int64_t t;

	json_init(&j);
	json_init(&k);
	ckpt_ctl_init(&c);
	if (ckpt_ctl_is((const char *)data, size)) {
		if (ckpt_ctl_parse(&c, &j, (const char *)data, size,
		    err) == 0) {
			INVARIANT(c.type >= CKPT_BEGIN);
			if (c.cursor.len > 0) {
				INVARIANT(json_parse(&k, c.cursor.p,
				    c.cursor.len, err) == 0);
				INVARIANT(k.tok[0].type == JSMN_OBJECT);
			}
		}
	} else
		(void)ckpt_event_time(&j, (const char *)data, size, &t);
	ckpt_ctl_free(&c);
	json_free(&j);
	json_free(&k);
	return 0;
}
