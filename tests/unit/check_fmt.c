/*
 * check_fmt: ISO 8601 parsing, kind inference, escaping and caps, line
 * layouts, UNPARSED lines, and the line reader.  Expected values were
 * worked out by hand (epoch values with Python's datetime).
 */
#include <sys/wait.h>

#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/duo.h"

static const struct {
	const char	*rec;
	int		 kind;
} kinds[] = {
	{ "{\"txid\":\"t\",\"factor\":\"duo_push\",\"timestamp\":1}",
	    FMT_AUTH },
	{ "{\"txid\":\"t\",\"access_device\":{}}", FMT_AUTH },
	{ "{\"action\":\"user_update\",\"description\":\"\",\"timestamp\":1}",
	    FMT_ADMIN },
	{ "{\"action\":\"user_update\",\"ts\":\"x\",\"timestamp\":1}", 0 },
	{ "{\"action\":\"o2fa_user_provisioned\",\"timestamp\":1}",
	    FMT_OFFLINE },
	{ "{\"telephony_id\":\"x\",\"txid\":\"t\",\"ts\":\"x\"}",
	    FMT_TELEPHONY },
	{ "{\"context\":\"a\",\"credits\":1,\"timestamp\":1}", FMT_TELEPHONY },
	{ "{\"activity_id\":\"a\",\"action\":{\"name\":\"x\"}}", FMT_ACTIVITY },
	{ "{\"sekey\":\"s\"}", FMT_TRUSTMONITOR },
	{ "{\"surfaced_timestamp\":1}", FMT_TRUSTMONITOR },
	{ "{\"txid\":\"t\"}", 0 },
	{ "{}", 0 },
	{ "[1]", 0 },
};

START_TEST(test_infer)
{
	struct json js;
	char err[DUO_ERRLEN];

	json_init(&js);
	ck_assert_int_eq(json_parse(&js, kinds[_i].rec, strlen(kinds[_i].rec),
	    err), 0);
	ck_assert_msg(fmt_kind_infer(&js) == kinds[_i].kind, "%s",
	    kinds[_i].rec);
	json_free(&js);
}
END_TEST

/* format, kind, input, expected output line */
static const struct {
	int		 format;
	int		 kind;
	const char	*in;
	const char	*want;
} lines[] = {
	{ FMT_MPE, 0, "{\"context\":\"a|b%\",\"credits\":3,\"phone\":\"+1\\n2\\t\\u0001\\u007f\","
	    "\"type\":\"sms\",\"timestamp\":1700000000}",
	    "2023-11-14 22:13:20 DUO TELEPHONY |utc=2023-11-14T22:13:20Z|txid=|"
	    "type=sms|context=a%7Cb%25|phone=+1%0A2%09%01%7F|credits=3|"
	    "telephony_id=|\n" },
	{ FMT_KV, FMT_TELEPHONY, "{\"phone\":\"q\\\"b\\\\s\\r\\u0002\",\"ts\":"
	    "\"2023-11-14T22:13:20.9Z\"}",
	    "duo_time=\"2023-11-14T22:13:20+00:00\" kind=\"telephony\" "
	    "utc=\"2023-11-14T22:13:20Z\" txid=\"\" type=\"\" context=\"\" "
	    "phone=\"q\\\"b\\\\s\\r\x02\" credits=\"\" telephony_id=\"\"\n" },
	{ FMT_JSON, 0, "  {\"sekey\":\"s\",\"surfaced_timestamp\":1700000000999}",
	    "  {\"duo_time\":\"2023-11-14T22:13:20+00:00\",\"sekey\":\"s\","
	    "\"surfaced_timestamp\":1700000000999}\n" },
	{ FMT_LEGACY, 0, "{\"context\":\"c\",\"credits\":1,\"phone\":\"p\\\"\","
	    "\"type\":\"sms\",\"timestamp\":1700000000}",
	    "1700000000,host=\"\",eventtype=\"telephony\",context=\"c\","
	    "type=\"sms\",phone=\"p%22\",credits=\"1\"\n" },
	{ FMT_CEF, 0, "{\"context\":\"c=d\",\"credits\":1,\"phone\":\"a\\\\b\\n\","
	    "\"type\":\"sms|x\",\"timestamp\":1700000000}",
	    "CEF:0|Duo Security|Duo|1|telephony:sms\\|x|telephony|1|"
	    "rt=1700000000000 end=1700000000000 act=sms|x cat=c\\=d "
	    "duoPhone=a\\\\b\\n cnt=1\n" },
	{ FMT_MPE, FMT_ADMIN, "{\"action\":\"admin_login\",\"username\":\"é\","
	    "\"description\":\"{\\\"ip_address\\\":\\\"1.2.3.4\\\","
	    "\\\"factor\\\":\\\"sms\\\",\\\"error\\\":null}\",\"timestamp\":0}",
	    "1970-01-01 00:00:00 DUO ADMIN |utc=1970-01-01T00:00:00Z|"
	    "action=admin_login|label=Admin Login|admin=é|object=|"
	    "ip=1.2.3.4|port=|ip_text=|factor=sms|error=|device=|"
	    "description={\"ip_address\":"
	    "\"1.2.3.4\",\"factor\":\"sms\",\"error\":null}|\n" },
	{ FMT_MPE, 0, "{\"@duo\":\"mark\",\"n\":1}",
	    "{\"@duo\":\"mark\",\"n\":1}\n" },
	/* keys match unescaped; of two members of one name the first wins */
	{ FMT_MPE, FMT_TELEPHONY, "{\"\\u0074ype\":\"sms\",\"type\":\"x\","
	    "\"phone\":1,\"phone\":2,\"timestamp\":0}",
	    "1970-01-01 00:00:00 DUO TELEPHONY |utc=1970-01-01T00:00:00Z|txid=|"
	    "type=sms|context=|phone=1|credits=|telephony_id=|\n" },
	/* a path through a first member that is no object finds nothing */
	{ FMT_MPE, 0, "{\"txid\":\"t\",\"access_device\":\"flat\","
	    "\"access_device\":{\"os\":\"X\"},\"auth_device\":{\"name\":"
	    "\"a\\u00e9\",\"n\\u0061me\":\"b\",\"location\":{\"city\":\"C\","
	    "\"city\":\"D\",\"country\":\"E\"}},\"timestamp\":0}",
	    "1970-01-01 00:00:00 DUO AUTH |utc=1970-01-01T00:00:00Z|txid=t|"
	    "event_type=|result=|reason=|factor=|user=|email=|groups=|app=|"
	    "app_key=|ip=|port=|ip_text=|host=|loc=|os=|browser=|"
	    "auth_dev=a\xc3\xa9|auth_ip=|auth_port=|auth_ip_text=|"
	    "auth_loc=C, E|user_key=|alias=|endpoint=|encrypted=|firewall=|"
	    "password_set=|app_dest=|auth_dev_key=|epkey=|agents=|trust=|"
	    "trust_reason=|detectors=|remember=|remember_reason=|"
	    "rbfs_detectors=|rbfs_cc_access=|rbfs_cc_auth=|rbfs_velocity=|"
	    "rbfs_suppressed=|passport=|passport_reason=|trusted_session=|\n" },
	/* kv: what syslog-ng's kv-parser decodes; NUL as \x00 */
	{ FMT_KV, FMT_TELEPHONY, "{\"phone\":\"\\b\\f\\u0000\\u001b\\u007f'=\","
	    "\"timestamp\":0}",
	    "duo_time=\"1970-01-01T00:00:00+00:00\" kind=\"telephony\" "
	    "utc=\"1970-01-01T00:00:00Z\" txid=\"\" type=\"\" context=\"\" "
	    "phone=\"\\b\\f\\x00\x1b\x7f'=\" credits=\"\" telephony_id=\"\"\n" },
	/* legacy: the fork's layout, v1 spellings, port at the end */
	{ FMT_LEGACY, 0, "{\"txid\":\"t\",\"factor\":\"sms_passcode\","
	    "\"result\":\"denied\",\"reason\":\"no_response\",\"user\":{\"name\":"
	    "\"a\\\"b\"},\"access_device\":{\"ip\":\"1.2.3.4:80\"},"
	    "\"event_type\":\"enrollment\",\"timestamp\":5}",
	    "5,host=\"\",eventtype=\"authentication\",username=\"a%22b\","
	    "factor=\"SMS Passcode\",result=\"FAILURE\",reason=\"No response\","
	    "ip=\"1.2.3.4\",integration=\"\",newenrollment=\"True\",port=\"80\","
	    "ip_text=\"1.2.3.4:80\"\n" },
	/* legacy admin: description keys sorted, object after a login's */
	{ FMT_LEGACY, FMT_ADMIN, "{\"action\":\"admin_login_error\","
	    "\"username\":\"u\",\"object\":\"o\",\"description\":\"{\\\"z\\\":1,"
	    "\\\"ip_address\\\":\\\"1.2.3.4\\\",\\\"error\\\":\\\"bad \\\\\\\"x\\\\\\\"\\\","
	    "\\\"a\\\":{\\\"y\\\":[1,{\\\"c\\\":2,\\\"b\\\":null}],\\\"x\\\":true}}\","
	    "\"timestamp\":7}",
	    "7,host=\"\",eventtype=\"administrator\",username=\"u\","
	    "action=\"Admin Login Error\",description=\"{\"a\": {\"x\": true, "
	    "\"y\": [1, {\"b\": null, \"c\": 2}]}, \"error\": \"bad \\\"x\\\"\", "
	    "\"ip_address\": \"1.2.3.4\", \"z\": 1}\",object=\"o\"\n" },
	/* legacy admin without object or description: description="" */
	{ FMT_LEGACY, FMT_ADMIN, "{\"action\":\"x\",\"username\":\"u\","
	    "\"timestamp\":7}",
	    "7,host=\"\",eventtype=\"administrator\",username=\"u\","
	    "action=\"x\",description=\"\"\n" },
	/* a NUL is no end of a value: no label for "user_update\0x" */
	{ FMT_MPE, FMT_ADMIN, "{\"action\":\"user_update\\u0000x\","
	    "\"timestamp\":0}",
	    "1970-01-01 00:00:00 DUO ADMIN |utc=1970-01-01T00:00:00Z|"
	    "action=user_update%00x|label=user_update%00x|admin=|object=|ip=|"
	    "port=|ip_text=|factor=|error=|device=|description=|\n" },
	/* the exit line: status raised to f->status (1 here), rest kept */
	{ FMT_MPE, 0, "{\"@duo\":\"exit\",\"status\":3,\"more\":true}",
	    "{\"@duo\":\"exit\",\"status\":1,\"more\":true}\n" },
	{ FMT_MPE, 0, "{\"@duo\":\"exit\",\"status\":2}",
	    "{\"@duo\":\"exit\",\"status\":2}\n" },
};

START_TEST(test_line)
{
	struct fmt f;
	struct buf out;
	char err[DUO_ERRLEN];

	fmt_init(&f, lines[_i].format, lines[_i].kind, 1);
	f.status = 1;
	buf_init(&out);
	ck_assert_int_eq(fmt_line(&f, lines[_i].in, strlen(lines[_i].in), 0,
	    "t", 1, 0, &out, err), 0);
	ck_assert_str_eq(out.p, lines[_i].want);
	buf_free(&out);
	fmt_free(&f);
}
END_TEST

/* UNPARSED lines: exactly one, escaped, reason given */
START_TEST(test_unparsed)
{
	static const char in[] = "a|b\n\001\377";
	struct fmt f;
	struct buf out;
	char err[DUO_ERRLEN];

	fmt_init(&f, FMT_MPE, 0, 1);
	buf_init(&out);
	ck_assert_int_eq(fmt_line(&f, in, sizeof in - 1, 0, "x|y", 7,
	    1700000000000LL, &out, err), 1);
	ck_assert_str_eq(out.p, "2023-11-14 22:13:20 DUO UNPARSED "
	    "|utc=2023-11-14T22:13:20Z|kind=|file=x%7Cy|line=7|reason="
	    "invalid JSON: invalid JSON at byte 0: syntax error|raw=a%7Cb%0A%01%FF|\n");
	ck_assert_ptr_nonnull(strstr(err, "invalid JSON"));
	buf_free(&out);
	fmt_free(&f);
}
END_TEST

/* Cut values: marker, UTF-8 intact, line below FMT_OUTMAX */
START_TEST(test_cut)
{
	struct fmt f;
	struct buf in, out;
	char err[DUO_ERRLEN];
	size_t i;
	const char *p;

	buf_init(&in);
	buf_init(&out);
	xbuf_adds(&in, "{\"action\":\"user_update\",\"timestamp\":1,"
	    "\"username\":\"");
	for (i = 0; i < 3000; i++)
		xbuf_adds(&in, "\xc3\xa9");	/* é: 6000 bytes */
	xbuf_adds(&in, "\",\"description\":\"");
	for (i = 0; i < 100000; i++)
		xbuf_addc(&in, '|');
	xbuf_adds(&in, "\"}");
	fmt_init(&f, FMT_MPE, 0, 1);
	ck_assert_int_eq(fmt_line(&f, in.p, in.len, 0, "t", 1, 0, &out, err),
	    0);
	ck_assert_uint_le(out.len, FMT_OUTMAX);
	/* 1024 - 32 bytes of é = 496 characters, 5008 bytes cut */
	p = strstr(out.p, "|admin=");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(strstr(p, "\xc3\xa9...[cut 5008 bytes]|"));
	ck_assert_int_eq(memcmp(p + 7 + 992, "...[cut", 7), 0);
	/* 8192 - 32 bytes of %7C = 2720 escapes, 97280 bytes cut */
	ck_assert_ptr_nonnull(strstr(out.p, "%7C...[cut 97280 bytes]|\n"));
	buf_free(&in);
	buf_free(&out);
	fmt_free(&f);
}
END_TEST

/* The line reader: LF, cap, NOEOL, over-long lines. */
START_TEST(test_reader)
{
	char path[] = "/tmp/check_fmt.XXXXXX";
	struct fmt_in in;
	const char *l;
	char err[DUO_ERRLEN], *big;
	size_t n, bigsz = FMT_LINEMAX + 100;
	int fd, flags;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	unlink(path);
	big = malloc(bigsz);
	memset(big, 'x', bigsz);
	ck_assert_int_eq(write(fd, "a\n\nbc\n", 6), 6);
	ck_assert_int_eq(write(fd, big, bigsz), (ssize_t)bigsz);
	ck_assert_int_eq(write(fd, "\nlast", 5), 5);
	lseek(fd, 0, SEEK_SET);
	fmt_in_init(&in, fd);
	ck_assert_int_eq(fmt_in_line(&in, &l, &n, &flags, err), 1);
	ck_assert(n == 1 && l[0] == 'a' && flags == 0);
	ck_assert_int_eq(fmt_in_line(&in, &l, &n, &flags, err), 1);
	ck_assert(n == 0 && flags == 0);
	ck_assert_int_eq(fmt_in_line(&in, &l, &n, &flags, err), 1);
	ck_assert(n == 2 && memcmp(l, "bc", 2) == 0 && flags == 0);
	ck_assert_int_eq(fmt_in_line(&in, &l, &n, &flags, err), 1);
	ck_assert(n == FMT_LINEMAX && flags == LINE_LONG && l[0] == 'x');
	ck_assert_int_eq(fmt_in_line(&in, &l, &n, &flags, err), 1);
	ck_assert(n == 4 && memcmp(l, "last", 4) == 0 && flags == LINE_NOEOL);
	ck_assert_int_eq(fmt_in_line(&in, &l, &n, &flags, err), 0);
	fmt_in_free(&in);
	free(big);
	close(fd);
}
END_TEST

/*
 * IP spellings: access_device.ip as sent, and the ip, port and ip_text
 * an analyst should see (worked out by hand).
 */
static const struct {
	const char	*ip;
	const char	*want;
} ips[] = {
	{ "89.160.20.112", "ip=89.160.20.112|port=|ip_text=|" },
	{ "89.160.20.112:1234", "ip=89.160.20.112|port=1234|"
	    "ip_text=89.160.20.112:1234|" },
	{ "2a02:db8::1", "ip=2a02:db8::1|port=|ip_text=|" },
	{ "[2a02:db8::1]:1234", "ip=2a02:db8::1|port=1234|"
	    "ip_text=[2a02:db8::1]:1234|" },
	{ "[2a02:db8::1]", "ip=2a02:db8::1|port=|ip_text=[2a02:db8::1]|" },
	{ "2a02:db8::1:443", "ip=2a02:db8::1:443|port=|ip_text=|" },
	{ "2a02:db8:0:0:0:0:0:1:443", "ip=2a02:db8:0:0:0:0:0:1|port=443|"
	    "ip_text=2a02:db8:0:0:0:0:0:1:443|" },
	{ "2a02:db8::1.443", "ip=2a02:db8::1|port=443|"
	    "ip_text=2a02:db8::1.443|" },
	{ "::ffff:1.2.3.4", "ip=::ffff:1.2.3.4|port=|ip_text=|" },
	{ "::ffff:1.2.3.4:80", "ip=::ffff:1.2.3.4|port=80|"
	    "ip_text=::ffff:1.2.3.4:80|" },
	{ "fe80::1%eth0", "ip=fe80::1|port=|ip_text=fe80::1%25eth0|" },
	{ "[fe80::1%eth0]:22", "ip=fe80::1|port=22|"
	    "ip_text=[fe80::1%25eth0]:22|" },
	{ " 1.2.3.4 ", "ip=1.2.3.4|port=|ip_text= 1.2.3.4 |" },
	{ "1.2.3.4:99999", "ip=|port=|ip_text=1.2.3.4:99999|" },
	{ "1.2.3.4, 5.6.7.8", "ip=|port=|ip_text=1.2.3.4, 5.6.7.8|" },
	{ "1.2.3.4:", "ip=|port=|ip_text=1.2.3.4:|" },
	{ "unknown", "ip=|port=|ip_text=unknown|" },
	{ "[1.2.3.4]:80", "ip=|port=|ip_text=[1.2.3.4]:80|" },
	{ "1.2.3.4\\u0000", "ip=|port=|ip_text=1.2.3.4%00|" },
	{ "", "ip=|port=|ip_text=|" },
};

START_TEST(test_ip)
{
	struct fmt f;
	struct buf in, out;
	char err[DUO_ERRLEN];

	buf_init(&in);
	buf_init(&out);
	xbuf_printf(&in, "{\"activity_id\":\"a\",\"access_device\":"
	    "{\"ip\":{\"address\":\"%s\"}},\"timestamp\":0}", ips[_i].ip);
	fmt_init(&f, FMT_MPE, 0, 1);
	ck_assert_int_eq(fmt_line(&f, in.p, in.len, 0, "t", 1, 0, &out, err),
	    0);
	ck_assert_msg(strstr(out.p, ips[_i].want) != NULL, "%s: %s",
	    ips[_i].ip, out.p);
	buf_free(&in);
	buf_free(&out);
	fmt_free(&f);
}
END_TEST

/* A bad preferred time beside a good one: formatted, a warning (2). */
START_TEST(test_timefall)
{
	static const char in[] = "{\"action\":\"x\",\"isotimestamp\":"
	    "\"2024-02-30T00:00:00Z\",\"timestamp\":1700000000}";
	static const char none[] = "{\"action\":\"x\",\"isotimestamp\":"
	    "\"x\",\"timestamp\":\"y\"}";
	struct fmt f;
	struct buf out;
	char err[DUO_ERRLEN];

	fmt_init(&f, FMT_MPE, FMT_ADMIN, 1);
	buf_init(&out);
	ck_assert_int_eq(fmt_line(&f, in, sizeof in - 1, 0, "t", 1, 0, &out,
	    err), 2);
	ck_assert_str_eq(err, "bad time in \"isotimestamp\", used "
	    "\"timestamp\"");
	ck_assert_int_eq(strncmp(out.p, "2023-11-14 22:13:20 DUO ADMIN |", 31),
	    0);
	buf_reset(&out);
	ck_assert_int_eq(fmt_line(&f, none, sizeof none - 1, 0, "t", 1, 0,
	    &out, err), 1);
	ck_assert_str_eq(err, "bad time in \"isotimestamp\"");
	buf_free(&out);
	fmt_free(&f);
}
END_TEST

/* The worse of two statuses: 0 < 3 < 1 < 2. */
START_TEST(test_worse)
{
	ck_assert_int_eq(fmt_worse(0, 3), 3);
	ck_assert_int_eq(fmt_worse(3, 1), 1);
	ck_assert_int_eq(fmt_worse(1, 3), 1);
	ck_assert_int_eq(fmt_worse(2, 1), 2);
	ck_assert_int_eq(fmt_worse(0, 0), 0);
}
END_TEST

/*
 * The limit does not depend on how reads fall: a line of exactly
 * FMT_LINEMAX bytes from a pipe (written in small pieces) is whole, one
 * byte more is LINE_LONG.
 */
START_TEST(test_reader_pipe)
{
	struct fmt_in in;
	const char *l;
	char err[DUO_ERRLEN], *big;
	size_t n, off, sz = 2 * (FMT_LINEMAX + 2);
	int p[2], flags, k;
	pid_t pid;

	big = malloc(sz);
	memset(big, 'x', sz);
	big[FMT_LINEMAX] = '\n';
	big[2 * FMT_LINEMAX + 2] = '\n';
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		for (off = 0; off < 2 * FMT_LINEMAX + 3; off += k)
			if ((k = (int)write(p[1], big + off, 4096 <
			    2 * FMT_LINEMAX + 3 - off ? 4096 :
			    2 * FMT_LINEMAX + 3 - off)) <= 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	fmt_in_init(&in, p[0]);
	ck_assert_int_eq(fmt_in_line(&in, &l, &n, &flags, err), 1);
	ck_assert(n == FMT_LINEMAX && flags == 0);
	ck_assert_int_eq(fmt_in_line(&in, &l, &n, &flags, err), 1);
	ck_assert(n == FMT_LINEMAX && flags == LINE_LONG);
	ck_assert_int_eq(fmt_in_line(&in, &l, &n, &flags, err), 0);
	fmt_in_free(&in);
	close(p[0]);
	waitpid(pid, NULL, 0);
	free(big);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_int_eq(fmt_format_byname("mpe"), FMT_MPE);
	ck_assert_int_eq(fmt_format_byname("legacy"), FMT_LEGACY);
	ck_assert_int_eq(fmt_format_byname("MPE"), -1);
	ck_assert_int_eq(fmt_kind_byname("trustmonitor"), FMT_TRUSTMONITOR);
	ck_assert_int_eq(fmt_kind_byname("unparsed"), 0);
	ck_assert_str_eq(fmt_kind_name(FMT_OFFLINE), "offline");
	/* every member path of the field tables got a node */
	ck_assert_int_gt(fmt_nodes(), 1);
	ck_assert_int_lt(fmt_nodes(), FMT_MAXNODE);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fmt");
	TCase *tc = tcase_create("fmt");
	SRunner *sr;
	int nf;

	tcase_add_loop_test(tc, test_infer, 0, sizeof kinds / sizeof kinds[0]);
	tcase_add_loop_test(tc, test_line, 0, sizeof lines / sizeof lines[0]);
	tcase_add_test(tc, test_unparsed);
	tcase_add_test(tc, test_cut);
	tcase_add_test(tc, test_reader);
	tcase_add_test(tc, test_reader_pipe);
	tcase_add_loop_test(tc, test_ip, 0, sizeof ips / sizeof ips[0]);
	tcase_add_test(tc, test_timefall);
	tcase_add_test(tc, test_worse);
	tcase_add_test(tc, test_names);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
