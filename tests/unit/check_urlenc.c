/*
 * check_urlenc: Duo's percent-encoding against a table Python's
 * urllib.parse.quote(safe='~') computed (tests/fixtures/sign/edge.h),
 * and the quoting of curl config strings against curl's documented
 * syntax (written out by hand below).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/duo.h"

#include "../fixtures/sign/edge.h"

START_TEST(test_byte)
{
	struct buf b;
	char c = (char)_i;

	buf_init(&b);
	urlenc_add(&b, &c, 1);
	ck_assert_msg(strcmp(b.p, byte_enc[_i]) == 0, "byte %d: %s want %s",
	    _i, b.p, byte_enc[_i]);
	ck_assert_int_eq(urlenc_unreserved(_i), strlen(byte_enc[_i]) == 1);
	buf_free(&b);
}
END_TEST

START_TEST(test_string)
{
	struct buf b;

	buf_init(&b);
	xbuf_adds(&b, "");
	urlenc_add(&b, str_enc[_i].in, str_enc[_i].len);
	ck_assert_str_eq(b.p, str_enc[_i].out);
	ck_assert_uint_eq(b.len, strlen(str_enc[_i].out));
	buf_free(&b);
}
END_TEST

/* All 256 bytes in one string: the concatenation of the table. */
START_TEST(test_all_bytes)
{
	struct buf b, want;
	char s[256];
	int i;

	buf_init(&b);
	buf_init(&want);
	for (i = 0; i < 256; i++) {
		s[i] = (char)i;
		xbuf_adds(&want, byte_enc[i]);
	}
	xbuf_adds(&b, "prefix=");
	urlenc_add(&b, s, sizeof s);
	ck_assert_str_eq(b.p + 7, want.p);
	ck_assert_int_eq(strncmp(b.p, "prefix=", 7), 0);
	ck_assert_uint_eq(b.len, 7 + want.len);
	buf_free(&b);
	buf_free(&want);
}
END_TEST

/*
 * curl's config syntax (curl(1), -K): a value in double quotes may use
 * \\ \" \t \n \r \v escapes; anything else is literal.
 */
START_TEST(test_curlq)
{
	static const struct {
		const char	*in;
		const char	*out;
	} t[] = {
		{ "", "\"\"" },
		{ "plain", "\"plain\"" },
		{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
		{ "back\\slash", "\"back\\\\slash\"" },
		{ "\\\"", "\"\\\\\\\"\"" },
		{ "t\tn\nr\rv\v", "\"t\\tn\\nr\\rv\\v\"" },
		{ "{\"a\":\"\\u00f6\"}", "\"{\\\"a\\\":\\\"\\\\u00f6\\\"}\"" },
		{ "j\xc3\xb6hn # ; =", "\"j\xc3\xb6hn # ; =\"" },
	};
	struct buf b;

	buf_init(&b);
	urlenc_curlq(&b, t[_i].in, strlen(t[_i].in));
	ck_assert_str_eq(b.p, t[_i].out);
	buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("urlenc");
	TCase *tc = tcase_create("urlenc");
	SRunner *sr;
	int nf;

	tcase_add_loop_test(tc, test_byte, 0, 256);
	tcase_add_loop_test(tc, test_string, 0,
	    (int)(sizeof str_enc / sizeof str_enc[0]));
	tcase_add_test(tc, test_all_bytes);
	tcase_add_loop_test(tc, test_curlq, 0, 8);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
