/* check_util: buffers, line input, error buffers, hex. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/duo.h"

START_TEST(test_buf)
{
	struct buf b;
	int i;

	buf_init(&b);
	for (i = 0; i < 1000; i++)
		xbuf_addc(&b, 'a' + i % 26);
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_int_eq(b.p[1000], '\0');
	ck_assert_int_eq(b.p[27], 'b');
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.p, "");
	xbuf_printf(&b, "%s=%d|", "n", 42);
	xbuf_adds(&b, "x");
	xbuf_add(&b, "\0y", 2);
	ck_assert_uint_eq(b.len, 8);
	ck_assert(memcmp(b.p, "n=42|x\0y", 8) == 0);
	buf_wipe(&b);
	ck_assert_ptr_null(b.p);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

static const struct {
	const char	*in;
	size_t		 inlen;
	size_t		 max;
	int		 nlines;
	const char	*lines[4];
	int		 flags[4];
} lines[] = {
	{ "a\nbc\n", 5, 100, 2, { "a", "bc" }, { 0, 0 } },
	{ "a\nbc", 4, 100, 2, { "a", "bc" }, { 0, LINE_NOEOL } },
	{ "\n\n", 2, 100, 2, { "", "" }, { 0, 0 } },
	{ "abcdef\ngh\n", 10, 3, 2, { "abc", "gh" }, { LINE_LONG, 0 } },
	{ "abcdef", 6, 3, 1, { "abc" }, { LINE_LONG | LINE_NOEOL } },
	{ "a\0b\n", 4, 100, 1, { "a" }, { 0 } },
	{ "", 0, 100, 0, { NULL }, { 0 } },
};

START_TEST(test_getline)
{
	FILE *fp;
	struct buf b;
	int n, fl, r;

	fp = fmemopen((void *)lines[_i].in, lines[_i].inlen ?
	    lines[_i].inlen : 1, "r");
	ck_assert_ptr_nonnull(fp);
	if (lines[_i].inlen == 0)
		(void)getc(fp);		/* fmemopen needs size > 0 */
	buf_init(&b);
	for (n = 0; (r = buf_getline(&b, fp, lines[_i].max, &fl)) == 1; n++) {
		ck_assert_int_lt(n, lines[_i].nlines);
		ck_assert_str_eq(b.p, lines[_i].lines[n]);
		ck_assert_int_eq(fl, lines[_i].flags[n]);
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(n, lines[_i].nlines);
	buf_free(&b);
	fclose(fp);
}
END_TEST

START_TEST(test_getline_nul)
{
	static const char in[] = "a\0b\nz\n";
	FILE *fp;
	struct buf b;
	int fl;

	/* NUL bytes are kept: the length says where the line ends. */
	fp = fmemopen((void *)in, sizeof in - 1, "r");
	buf_init(&b);
	ck_assert_int_eq(buf_getline(&b, fp, 100, &fl), 1);
	ck_assert_uint_eq(b.len, 3);
	ck_assert(memcmp(b.p, "a\0b", 3) == 0);
	ck_assert_int_eq(buf_getline(&b, fp, 100, &fl), 1);
	ck_assert_str_eq(b.p, "z");
	buf_free(&b);
	fclose(fp);
}
END_TEST

START_TEST(test_seterr)
{
	char err[DUO_ERRLEN];
	char big[2 * DUO_ERRLEN];

	ck_assert_int_eq(seterr(err, "%s: %d", "x", 7), -1);
	ck_assert_str_eq(err, "x: 7");
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	seterr(err, "%s", big);
	ck_assert_uint_eq(strlen(err), DUO_ERRLEN - 1);
	ck_assert_int_eq(seterr(NULL, "ignored"), -1);
}
END_TEST

START_TEST(test_hex)
{
	static const unsigned char in[] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[9];

	hex_lower(out, in, sizeof in);
	ck_assert_str_eq(out, "000fa5ff");
	ck_assert_int_eq(hex_val('0'), 0);
	ck_assert_int_eq(hex_val('9'), 9);
	ck_assert_int_eq(hex_val('a'), 10);
	ck_assert_int_eq(hex_val('F'), 15);
	ck_assert_int_eq(hex_val('g'), -1);
	ck_assert_int_eq(hex_val('/'), -1);
	ck_assert_int_eq(hex_val(':'), -1);
}
END_TEST

START_TEST(test_out_flush)
{
	FILE *fp;
	char err[DUO_ERRLEN];

	/* /dev/full fails every write: the error must be reported. */
	fp = fopen("/dev/full", "w");
	if (fp == NULL)
		return;
	fputs("data\n", fp);
	ck_assert_int_eq(out_flush(fp, "stdout", err), -1);
	ck_assert_ptr_nonnull(strstr(err, "stdout: write error"));
	fclose(fp);
}
END_TEST

static const struct {
	const char	*in;
	int		 ok;
	long long	 ms;
} isos[] = {
	{ "2020-02-13T18:56:20.351346+00:00", 1, 1581620180351LL },
	{ "2020-02-13T18:56:20+00:00", 1, 1581620180000LL },
	{ "2020-02-13T18:56:20Z", 1, 1581620180000LL },
	{ "2020-02-13 18:56:20Z", 1, 1581620180000LL },
	{ "2020-02-13T13:56:20-05:00", 1, 1581620180000LL },
	{ "2020-02-14T00:26:20.5+05:30", 1, 1581620180500LL },
	{ "2020-02-14T00:41:20+0545", 1, 1581620180000LL },
	{ "1970-01-01T00:00:00Z", 1, 0 },
	{ "2024-02-29T12:00:00Z", 1, 1709208000000LL },
	{ "2023-02-29T12:00:00Z", 0, 0 },
	{ "2020-02-13T18:56:20", 0, 0 },	/* no zone */
	{ "2020-02-13T18:56:20+00", 0, 0 },
	{ "2020-13-13T18:56:20Z", 0, 0 },
	{ "2020-02-13T24:00:00Z", 0, 0 },
	{ "2020-02-13T18:56:20.Z", 0, 0 },
	{ "2020-02-13T18:56:20Zjunk", 0, 0 },
	{ "yesterday", 0, 0 },
	{ "", 0, 0 },
};

START_TEST(test_iso)
{
	int64_t ms = -1;
	int r;

	r = iso8601_ms(isos[_i].in, strlen(isos[_i].in), 0, &ms);
	ck_assert_msg((r == 0) == isos[_i].ok, "%s: %d", isos[_i].in, r);
	if (isos[_i].ok)
		ck_assert_msg(ms == isos[_i].ms, "%s: %lld", isos[_i].in,
		    (long long)ms);
}
END_TEST

static const struct {
	const char	*in;
	int		 ok;
	int64_t		 ms;
} lenient[] = {
	{ "2024-05-01", 1, 1714521600000LL },
	{ "2024-05-01T10:30", 1, 1714559400000LL },
	{ "2024-05-01 10:30:15", 1, 1714559415000LL },
	{ "2024-05-01T10:30:15.5", 1, 1714559415500LL },
	{ "2024-05-01T12:30+02:00", 1, 1714559400000LL },
	{ "2024-05-01T10", 0, 0 },
	{ "2024-05", 0, 0 },
	{ "2024-02-30", 0, 0 },
	{ "2024-05-01T10:30:15Zx", 0, 0 },
};

START_TEST(test_iso_lenient)
{
	int64_t ms = -1;
	int r;

	r = iso8601_ms(lenient[_i].in, strlen(lenient[_i].in), ISO_LENIENT,
	    &ms);
	ck_assert_msg((r == 0) == lenient[_i].ok, "%s: %d", lenient[_i].in, r);
	if (lenient[_i].ok)
		ck_assert_msg(ms == lenient[_i].ms, "%s: %lld", lenient[_i].in,
		    (long long)ms);
	/* Strict mode takes none of the lenient forms. */
	if (lenient[_i].ok)
		ck_assert_int_eq(iso8601_ms(lenient[_i].in,
		    strlen(lenient[_i].in), 0, &ms), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("util");
	SRunner *sr;
	int nf;

	tcase_add_test(tc, test_buf);
	tcase_add_loop_test(tc, test_getline, 0,
	    (int)(sizeof lines / sizeof lines[0]));
	tcase_add_test(tc, test_getline_nul);
	tcase_add_test(tc, test_seterr);
	tcase_add_test(tc, test_hex);
	tcase_add_test(tc, test_out_flush);
	tcase_add_loop_test(tc, test_iso, 0,
	    (int)(sizeof isos / sizeof isos[0]));
	tcase_add_loop_test(tc, test_iso_lenient, 0,
	    (int)(sizeof lenient / sizeof lenient[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
