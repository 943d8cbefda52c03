/*
 * fuzz_json: the validating tokenizer.  Invariants: a document it
 * accepts spans its tokens, every subtree skip moves forward, strings
 * unescape to valid UTF-8, and compaction of an accepted document is
 * accepted again.
 */
#include <string.h>

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json j, k;
	struct buf b, c;
	char err[DUO_ERRLEN];
	int i;

	json_init(&j);
	json_init(&k);
	buf_init(&b);
	buf_init(&c);
	if (json_parse(&j, (const char *)data, size, err) == 0) {
		INVARIANT(j.ntok > 0);
		INVARIANT(json_skip(&j, 0) == j.ntok);
		for (i = 0; i < j.ntok; i++) {
			INVARIANT(json_skip(&j, i) > i);
			if (j.tok[i].type == JSMN_STRING) {
				buf_reset(&b);
				INVARIANT(json_str(&j, i, &b) == 0);
				INVARIANT(fuzz_utf8((unsigned char *)b.p,
				    b.len));
				buf_reset(&c);
				json_escape(&c, b.p, b.len);
			}
		}
		buf_reset(&b);
		json_compact(&b, (const char *)data, size);
		INVARIANT(json_parse(&k, b.p, b.len, err) == 0);
		INVARIANT(k.ntok == j.ntok);
	}
	json_free(&j);
	json_free(&k);
	buf_free(&b);
	buf_free(&c);
	return 0;
}
