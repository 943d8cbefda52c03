/* check_json: strict validation, walking, unescaping, compaction. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/duo.h"

static const char *valid[] = {
	"{}", "[]", " {} ", "\n[1]\r\n", "0", "-0", "1.5e-3", "-12E+2",
	"true", "false", "null", "\"\"", "\"a\\u00e9\\ud83d\\ude00\"",
	"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
	"{ \"a\" : [ 1 , 2 ] , \"b\" : { } }",
	"[[],[[]],{}]", "\"caf\xc3\xa9 \xe5\x90\x8d \xf0\x9f\x98\x80\"",
	"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "{\"\":\"\"}", "[\"\x7f\"]",
};

static const char *invalid[] = {
	"", " ", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
	"{,}", "{\"a\" 1}", "{\"a\"::1}", "[1 2]", "[1,,2]", "{1:2}",
	"{\"a\":1 \"b\":2}", "[1] [2]", "1 2", "{} x", "[tru]", "[nul]",
	"[truex]", "[01]", "[1.]", "[.5]", "[-]", "[1e]", "[+1]", "[0x1]",
	"\"a\tb\"", "\"a\nb\"", "\"\\x\"", "\"\\u12g4\"", "\"\\u12\"",
	"\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xe2\x82\"",
	"{\"a\":1", "[1,2", "\"abc", "[\"a\":1]", "{\"a\":\"b\":1}",
	"{\"a\":[1,{\"b\":2,}]}", "nan", "[Infinity]", "{'a':1}",
};

START_TEST(test_valid)
{
	struct json j;
	char err[DUO_ERRLEN] = "";
	const char *s = valid[_i];

	json_init(&j);
	ck_assert_msg(json_parse(&j, s, strlen(s), err) == 0,
	    "rejected %s: %s", s, err);
	ck_assert_int_eq(json_skip(&j, 0), j.ntok);
	json_free(&j);
}
END_TEST

START_TEST(test_invalid)
{
	struct json j;
	char err[DUO_ERRLEN] = "";
	const char *s = invalid[_i];

	json_init(&j);
	ck_assert_msg(json_parse(&j, s, strlen(s), err) == -1,
	    "accepted invalid JSON: %s", s);
	ck_assert(err[0] != '\0');
	json_free(&j);
}
END_TEST

START_TEST(test_depth)
{
	struct json j;
	char err[DUO_ERRLEN];
	char *s;
	int n;

	/* 10,000 levels: refused with a message, no crash. */
	n = 10000;
	s = xmalloc(2 * (size_t)n + 1);
	memset(s, '[', (size_t)n);
	memset(s + n, ']', (size_t)n);
	s[2 * n] = '\0';
	json_init(&j);
	ck_assert_int_eq(json_parse(&j, s, strlen(s), err), -1);
	ck_assert_ptr_nonnull(strstr(err, "nested"));
	/* JSON_MAXDEPTH levels are fine. */
	n = JSON_MAXDEPTH;
	memset(s, '[', (size_t)n);
	memset(s + n, ']', (size_t)n);
	ck_assert_int_eq(json_parse(&j, s, 2 * (size_t)n, err), 0);
	json_free(&j);
	free(s);
}
END_TEST

START_TEST(test_many_tokens)
{
	struct json j;
	struct buf b;
	char err[DUO_ERRLEN];
	int i;

	buf_init(&b);
	xbuf_addc(&b, '[');
	for (i = 0; i < 100000; i++)
		xbuf_adds(&b, i ? ",1" : "1");
	xbuf_addc(&b, ']');
	json_init(&j);
	ck_assert_int_eq(json_parse(&j, b.p, b.len, err), 0);
	ck_assert_int_eq(j.ntok, 100001);
	ck_assert_int_eq(j.tok[0].size, 100000);
	json_free(&j);
	buf_free(&b);
}
END_TEST

START_TEST(test_walk)
{
	static const char s[] = "{\"a\":{\"b\":[1,{\"x\":2}],\"c\":\"d\"},"
	    "\"k\\u0065y\":null,\"n\":-42,\"q\":\"17\",\"f\":1.5}";
	struct json j;
	struct buf b;
	char err[DUO_ERRLEN];
	long long v;
	int i;

	json_init(&j);
	buf_init(&b);
	ck_assert_int_eq(json_parse(&j, s, strlen(s), err), 0);
	i = json_path(&j, 0, "a.c");
	ck_assert_int_ge(i, 0);
	ck_assert(json_streq(&j, i, "d"));
	ck_assert_int_eq(json_path(&j, 0, "a.b.x"), -1);
	ck_assert_int_eq(json_path(&j, 0, "a.zz"), -1);
	i = json_get(&j, 0, "key");		/* escaped key */
	ck_assert_int_ge(i, 0);
	ck_assert(json_isnull(&j, i));
	ck_assert(json_isnull(&j, -1));
	ck_assert(!json_isnull(&j, json_get(&j, 0, "n")));
	ck_assert_int_eq(json_int(&j, json_get(&j, 0, "n"), &v), 0);
	ck_assert(v == -42);
	ck_assert_int_eq(json_int(&j, json_get(&j, 0, "q"), &v), 0);
	ck_assert(v == 17);
	ck_assert_int_eq(json_int(&j, json_get(&j, 0, "f"), &v), -1);
	/* skip over the whole "a" value lands on the next key */
	i = json_get(&j, 0, "a");
	ck_assert(json_streq(&j, json_skip(&j, i), "key"));
	ck_assert_int_eq(json_str(&j, json_get(&j, 0, "f"), &b), 0);
	ck_assert_str_eq(b.p, "1.5");
	json_free(&j);
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*in;	/* JSON string token, quotes included */
	const char	*out;
} unesc[] = {
	{ "\"plain\"", "plain" },
	{ "\"a\\nb\\tc\\\\d\\\"e\\/f\"", "a\nb\tc\\d\"e/f" },
	{ "\"\\u00e9\\u540d\"", "\xc3\xa9\xe5\x90\x8d" },
	{ "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80" },
	{ "\"\\ud800x\"", "\xef\xbf\xbdx" },
	{ "\"\\u0001\\b\\f\\r\"", "\x01\b\f\r" },
	{ "\"caf\xc3\xa9\"", "caf\xc3\xa9" },
};

START_TEST(test_unescape)
{
	struct json j;
	struct buf b;
	char err[DUO_ERRLEN];

	json_init(&j);
	buf_init(&b);
	ck_assert_int_eq(json_parse(&j, unesc[_i].in, strlen(unesc[_i].in),
	    err), 0);
	ck_assert_int_eq(json_str(&j, 0, &b), 0);
	ck_assert_str_eq(b.p, unesc[_i].out);
	ck_assert(json_streq(&j, 0, unesc[_i].out));
	json_free(&j);
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*in;
	const char	*out;
} compact[] = {
	{ "{ \"a\" : 1 ,\n\t\"b\" : [ 1 , 2 ] }", "{\"a\":1,\"b\":[1,2]}" },
	{ "{\"s\": \"keep  spaces\\\" , here\"}",
	    "{\"s\":\"keep  spaces\\\" , here\"}" },
	{ "[\"\\\\\", \" \"]", "[\"\\\\\",\" \"]" },
	{ "{}", "{}" },
};

START_TEST(test_compact)
{
	struct buf b;

	buf_init(&b);
	json_compact(&b, compact[_i].in, strlen(compact[_i].in));
	ck_assert_str_eq(b.p, compact[_i].out);
	buf_free(&b);
}
END_TEST

START_TEST(test_escape_roundtrip)
{
	struct json j;
	struct buf b, back;
	char err[DUO_ERRLEN];
	char raw[256];
	int c;

	/* Every byte 1..127 escaped then parsed back gives the input. */
	for (c = 1; c < 128; c++)
		raw[c - 1] = (char)c;
	raw[127] = '\0';
	buf_init(&b);
	buf_init(&back);
	xbuf_addc(&b, '"');
	json_escape(&b, raw, 127);
	xbuf_addc(&b, '"');
	json_init(&j);
	ck_assert_int_eq(json_parse(&j, b.p, b.len, err), 0);
	ck_assert_int_eq(json_str(&j, 0, &back), 0);
	ck_assert_uint_eq(back.len, 127);
	ck_assert(memcmp(back.p, raw, 127) == 0);
	json_free(&j);
	buf_free(&b);
	buf_free(&back);
}
END_TEST

/*
 * A special byte at every offset of a long string, so that both the
 * 16-byte scanning path and the byte path meet it: quote-ending,
 * escapes, control bytes, UTF-8 good and bad.
 */
static const struct {
	const char	*ins;
	int		 ok;
	const char	*val;	/* the unescaped insertion, if ok */
} inserts[] = {
	{ "\\n", 1, "\n" },
	{ "\\u00e9", 1, "\xc3\xa9" },
	{ "\xc3\xa9", 1, "\xc3\xa9" },
	{ "\xf0\x9f\x98\x80", 1, "\xf0\x9f\x98\x80" },
	{ "\x7f", 1, "\x7f" },
	{ "\x1f", 0, NULL },
	{ "\t", 0, NULL },
	{ "\xff", 0, NULL },
	{ "\xc3", 0, NULL },
	{ "\\q", 0, NULL },
	{ "\\u12x4", 0, NULL },
};

START_TEST(test_long_strings)
{
	struct json j;
	struct buf doc, want, got;
	char err[DUO_ERRLEN];
	int k, i, r;

	json_init(&j);
	buf_init(&doc);
	buf_init(&want);
	buf_init(&got);
	for (i = 0; i < (int)(sizeof inserts / sizeof inserts[0]); i++) {
		buf_reset(&doc);
		buf_reset(&want);
		xbuf_adds(&doc, "[\"");
		for (k = 0; k < 40; k++) {
			if (k == _i) {
				xbuf_adds(&doc, inserts[i].ins);
				if (inserts[i].ok)
					xbuf_adds(&want, inserts[i].val);
			}
			xbuf_addc(&doc, 'a' + k % 26);
			xbuf_addc(&want, 'a' + k % 26);
		}
		xbuf_adds(&doc, "\",1]");
		r = json_parse(&j, doc.p, doc.len, err);
		ck_assert_msg((r == 0) == inserts[i].ok, "insert %d at %d: %s",
		    i, _i, r == 0 ? "accepted" : err);
		if (r == 0) {
			ck_assert_int_eq(j.ntok, 3);
			buf_reset(&got);
			ck_assert_int_eq(json_str(&j, 1, &got), 0);
			ck_assert_str_eq(got.p, want.p);
		}
	}
	json_free(&j);
	buf_free(&doc);
	buf_free(&want);
	buf_free(&got);
}
END_TEST

/* json_value: json_parse's verdict on every valid and invalid text. */
START_TEST(test_value_valid)
{
	struct buf b, want;
	char err[DUO_ERRLEN] = "";
	const char *s = valid[_i];
	size_t end, n = strlen(s);

	buf_init(&b);
	buf_init(&want);
	xbuf_adds(&b, "x");
	end = json_value(s, n, 0, 0, &b, err);
	ck_assert_msg(end > 0, "rejected %s: %s", s, err);
	/* without out: the same verdict and end */
	ck_assert_uint_eq(json_value(s, n, 0, 0, NULL, err), end);
	while (end < n && strchr(" \t\r\n", s[end]) != NULL)
		end++;
	ck_assert_uint_eq(end, n);
	/* the text compacted, appended after what b held */
	xbuf_adds(&want, "x");
	json_compact(&want, s, n);
	ck_assert_str_eq(b.p, want.p);
	buf_free(&b);
	buf_free(&want);
}
END_TEST

START_TEST(test_value_invalid)
{
	struct buf b;
	char err[DUO_ERRLEN] = "";
	const char *s = invalid[_i];
	size_t end, n = strlen(s);

	buf_init(&b);
	xbuf_adds(&b, "kept");
	end = json_value(s, n, 0, 0, &b, err);
	/* A value followed by more text is the caller's business. */
	if (end > 0) {
		while (end < n && strchr(" \t\r\n", s[end]) != NULL)
			end++;
		ck_assert_msg(end < n, "accepted invalid JSON: %s", s);
	} else {
		ck_assert(err[0] != '\0');
		ck_assert_str_eq(b.p, "kept");
	}
	buf_free(&b);
}
END_TEST

/* Known answers for the compaction and the offset returned. */
static const struct {
	const char	*in;
	size_t		 pos;
	int		 depth;
	const char	*out;	/* NULL: refused */
	size_t		 end;
} values[] = {
	{ "[ {\"a\" : [ 1 , \"x y\" ] } , 2 ]", 2, 0,
	    "{\"a\":[1,\"x y\"]}", 24 },
	{ "  \"s \\\" t\"  ,", 0, 0, "\"s \\\" t\"", 10 },
	{ "-12.5e3]", 0, 0, "-12.5e3", 7 },
	{ "true,", 0, 0, "true", 4 },
	{ "[[1]]", 0, JSON_MAXDEPTH - 2, "[[1]]", 5 },
	{ "[[1]]", 0, JSON_MAXDEPTH - 1, NULL, 0 },
	{ "{\"a\":1", 0, 0, NULL, 0 },
	{ "   ", 0, 0, NULL, 0 },
	{ "{\"a\":1}", 7, 0, NULL, 0 },	/* a lone } */
};

START_TEST(test_value_known)
{
	struct buf b;
	char err[DUO_ERRLEN] = "";
	size_t end;

	buf_init(&b);
	end = json_value(values[_i].in, strlen(values[_i].in), values[_i].pos,
	    values[_i].depth, &b, err);
	if (values[_i].out == NULL) {
		ck_assert_uint_eq(end, 0);
		ck_assert_uint_eq(b.len, 0);
	} else {
		ck_assert_msg(end == values[_i].end, "end %zu: %s", end, err);
		ck_assert_str_eq(b.p, values[_i].out);
	}
	buf_free(&b);
}
END_TEST

/* Empty input may come with a NULL pointer: no arithmetic on it
 * (clang's UBSan: "applying zero offset to null pointer"). */
START_TEST(test_empty_null)
{
	struct buf b;

	buf_init(&b);
	json_escape(&b, NULL, 0);
	json_compact(&b, NULL, 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_nonnull(b.p);
	ck_assert_str_eq(b.p, "");
	json_escape(&b, "a\"", 2);
	ck_assert_str_eq(b.p, "a\\\"");
	buf_free(&b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");
	SRunner *sr;
	int nf;

	tcase_add_loop_test(tc, test_valid, 0,
	    (int)(sizeof valid / sizeof valid[0]));
	tcase_add_loop_test(tc, test_invalid, 0,
	    (int)(sizeof invalid / sizeof invalid[0]));
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_many_tokens);
	tcase_add_test(tc, test_walk);
	tcase_add_loop_test(tc, test_unescape, 0,
	    (int)(sizeof unesc / sizeof unesc[0]));
	tcase_add_loop_test(tc, test_compact, 0,
	    (int)(sizeof compact / sizeof compact[0]));
	tcase_add_test(tc, test_escape_roundtrip);
	tcase_add_loop_test(tc, test_value_valid, 0,
	    (int)(sizeof valid / sizeof valid[0]));
	tcase_add_loop_test(tc, test_value_invalid, 0,
	    (int)(sizeof invalid / sizeof invalid[0]));
	tcase_add_loop_test(tc, test_value_known, 0,
	    (int)(sizeof values / sizeof values[0]));
	tcase_add_test(tc, test_empty_null);
	tcase_add_loop_test(tc, test_long_strings, 0, 40);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
