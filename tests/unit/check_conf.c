/*
 * check_conf: duo.conf parsing (table driven), the fixture files
 * (among them the original LogRhythm integration's duo.conf, unchanged),
 * and conf_load's lookup order, environment overrides and permission
 * check on files in a scratch directory.
 */
#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/duo.h"

#define SKEY	"Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep"
#define IKEY	"DIWJ8X6AEYOR5OMC6TQ1"
#define HOST	"api-xxxxxxxx.duosecurity.com"
#define BASIC	"[duo]\nikey = " IKEY "\nskey = " SKEY "\nhost = " HOST "\n"

static const char *
fixture(const char *name)
{
	static char path[1024];
	const char *top = getenv("TOP");

	snprintf(path, sizeof path, "%s/tests/fixtures/conf/%s",
	    top != NULL ? top : ".", name);
	return path;
}

static void
slurp(const char *path, struct buf *b)
{
	FILE *fp;
	char tmp[4096];
	size_t n;

	ck_assert_msg((fp = fopen(path, "rb")) != NULL, "%s: %s", path,
	    strerror(errno));
	while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
		xbuf_add(b, tmp, n);
	fclose(fp);
}

/* Parse cases that must succeed: text and the fields expected. */
static const struct {
	const char	*text;
	const char	*ikey, *skey, *host, *proxy, *cafile, *ua;
	long		 timeout;
} good[] = {
	{ BASIC, IKEY, SKEY, HOST, NULL, NULL, NULL, 0 },
	{ "[duo]\nikey=a\nskey=b\nhost=h", "a", "b", "h", NULL, NULL, NULL,
	  0 },
	{ "  [ duo ]  ; c\n\tIKEY = a \n SKey=b\nHost =h:8443\n", "a", "b",
	  "h:8443", NULL, NULL, NULL, 0 },
	{ "\xef\xbb\xbf[duo]\r\nikey = a\r\nskey = b\r\n", "a", "b", NULL,
	  NULL, NULL, NULL, 0 },
	{ "# c\n; c\n[duo]\nikey = a # c\nskey = b;notcomment\n", "a",
	  "b;notcomment", NULL, NULL, NULL, NULL, 0 },
	{ "[duo]\nhttp_proxy = http://u:p@h:3128\ntimeout = 86400\n"
	  "cafile = /x y/ca.pem\nuser_agent = a b c\n", NULL, NULL, NULL,
	  "http://u:p@h:3128", "/x y/ca.pem", "a b c", 86400 },
	{ "[duo]\nhttp_proxy =\ncafile=\n", NULL, NULL, NULL, NULL, NULL,
	  NULL, 0 },
	{ "[other]\nikey = x\nfoo = bar\n[duo]\nikey = y\n[more]\nikey=z\n",
	  "y", NULL, NULL, NULL, NULL, NULL, 0 },
	{ "[duo]\nfailmode = secure\npushinfo=yes\ngroups = a b\n"
	  "https_timeout = 5\nmotd = yes\n", NULL, NULL, NULL, NULL, NULL,
	  NULL, 0 },
	{ "", NULL, NULL, NULL, NULL, NULL, NULL, 0 },
	{ "[duo]\nskey = a=b==\n", NULL, "a=b==", NULL, NULL, NULL, NULL,
	  0 },
};

static void
streq_or_null(const char *got, const char *want, const char *what, int i)
{
	if (want == NULL)
		ck_assert_msg(got == NULL, "case %d %s: got %s", i, what, got);
	else
		ck_assert_msg(got != NULL && strcmp(got, want) == 0,
		    "case %d %s: got %s want %s", i, what,
		    got ? got : "(null)", want);
}

START_TEST(test_parse_good)
{
	struct duo_conf c;
	char err[DUO_ERRLEN];

	ck_assert_msg(conf_parse(&c, good[_i].text, strlen(good[_i].text),
	    err) == 0, "case %d: %s", _i, err);
	streq_or_null(c.ikey, good[_i].ikey, "ikey", _i);
	streq_or_null(c.skey, good[_i].skey, "skey", _i);
	streq_or_null(c.host, good[_i].host, "host", _i);
	streq_or_null(c.http_proxy, good[_i].proxy, "http_proxy", _i);
	streq_or_null(c.cafile, good[_i].cafile, "cafile", _i);
	streq_or_null(c.user_agent, good[_i].ua, "user_agent", _i);
	ck_assert_int_eq(c.timeout, good[_i].timeout);
	conf_free(&c);
	ck_assert_ptr_null(c.skey);
}
END_TEST

/* Parse cases that must fail, with the message expected. */
static const struct {
	const char	*text;
	const char	*msg;
} bad[] = {
	{ "[duo]\nikey = a\nfoo = 1\n", "line 3: unknown key \"foo\" in [duo]" },
	{ "ikey = a\n[duo]\n", "line 1: \"ikey\" outside a section" },
	{ "[duo]\n" SKEY "\n", "line 2: expected name = value" },
	/* A secret pasted as a key name: never printed, only 13 of its
	 * characters and "..." (16 in all). */
	{ "[duo]\n" SKEY " = x\n",
	  "line 2: unknown key \"Zh5eGmUq9zpfQ...\" in [duo]" },
	{ "[duo]\n" SKEY "=\n", "line 2: unknown key \"Zh5eGmUq9zpfQ...\"" },
	{ SKEY " = x\n", "line 1: \"Zh5eGmUq9zpfQ...\" outside a section" },
	{ "[duo]\nabcdefghijklmnop = 1\n",
	  "line 2: unknown key \"abcdefghijklmnop\" in [duo]" },
	{ "[duo]\nabcdefghijklmnopq = 1\n",
	  "line 2: unknown key \"abcdefghijklm...\" in [duo]" },
	{ "[duo]\nskey = a\nskey = b\n", "line 3: duplicate key \"skey\"" },
	{ "[duo]\nSKEY = a\nskey = b\n", "line 3: duplicate key \"skey\"" },
	{ "[duo\nikey = a\n", "line 1: section header without ]" },
	{ "[duo] x\n", "line 1: text after section header" },
	{ "[duo]\n = a\n", "line 2: empty name before =" },
	{ "[duo]\ntimeout = 0\n", "line 2: timeout: not a whole number" },
	{ "[duo]\ntimeout = 10s\n", "line 2: timeout: not a whole number" },
	{ "[duo]\ntimeout = 86401\n", "line 2: timeout: not a whole number" },
	{ "[duo]\ntimeout = -5\n", "line 2: timeout: not a whole number" },
	{ "[duo]\nskey = a\x01" "b\n", "line 2: control character" },
	{ "[duo]\nhost = a\rb\n", "line 2: control character" },
	{ "[duo]\nikey = a\n\n\n\nskey: b\n", "line 6: expected name = value" },
};

START_TEST(test_parse_bad)
{
	struct duo_conf c;
	char err[DUO_ERRLEN];

	err[0] = '\0';
	ck_assert_msg(conf_parse(&c, bad[_i].text, strlen(bad[_i].text),
	    err) == -1, "case %d parsed", _i);
	ck_assert_msg(strncmp(err, bad[_i].msg, strlen(bad[_i].msg)) == 0,
	    "case %d: got \"%s\" want \"%s\"", _i, err, bad[_i].msg);
	ck_assert_ptr_null(strstr(err, SKEY));
	ck_assert_ptr_null(c.ikey);
	ck_assert_ptr_null(c.skey);
	conf_free(&c);
}
END_TEST

START_TEST(test_nul_byte)
{
	static const char t[] = "[duo]\nikey = a\0b\n";
	struct duo_conf c;
	char err[DUO_ERRLEN];

	ck_assert_int_eq(conf_parse(&c, t, sizeof t - 1, err), -1);
	ck_assert_str_eq(err, "line 2: control character");
}
END_TEST

/* The fixture files, parsed as text. */
START_TEST(test_fixtures)
{
	struct duo_conf c;
	struct buf b;
	char err[DUO_ERRLEN];

	buf_init(&b);
	switch (_i) {
	case 0:
		/* The original LogRhythm integration's duo.conf, verbatim. */
		slurp(fixture("logrhythm.conf"), &b);
		ck_assert_msg(conf_parse(&c, b.p, b.len, err) == 0, "%s", err);
		ck_assert_str_eq(c.ikey, "keygoeshere01010101");
		ck_assert_str_eq(c.skey, "secretgoeshere01010101");
		ck_assert_str_eq(c.host, "uniquehost.duosecurity.com");
		ck_assert_ptr_null(c.http_proxy);
		break;
	case 1:
		slurp(fixture("crlf.conf"), &b);
		ck_assert_msg(conf_parse(&c, b.p, b.len, err) == 0, "%s", err);
		ck_assert_str_eq(c.ikey, IKEY);
		ck_assert_str_eq(c.skey, SKEY);
		ck_assert_str_eq(c.host, HOST);
		ck_assert_ptr_null(c.http_proxy);
		break;
	case 2:
		slurp(fixture("duo_unix.conf"), &b);
		ck_assert_msg(conf_parse(&c, b.p, b.len, err) == 0, "%s", err);
		ck_assert_str_eq(c.skey, SKEY);
		ck_assert_str_eq(c.cafile, "/etc/ssl/certs/duo.pem");
		ck_assert_int_eq(c.timeout, 0);
		break;
	case 3:
		slurp(fixture("full.conf"), &b);
		ck_assert_msg(conf_parse(&c, b.p, b.len, err) == 0, "%s", err);
		ck_assert_str_eq(c.host, "API-XXXXXXXX.duosecurity.com");
		ck_assert_str_eq(c.http_proxy,
		    "http://user:p#ss@proxy.example:3128");
		ck_assert_str_eq(c.cafile, "/etc/duopipe/ca.pem");
		ck_assert_str_eq(c.user_agent, "duopipe-test/1.0 (site 7)");
		ck_assert_int_eq(c.timeout, 45);
		break;
	}
	ck_assert_int_eq(conf_check(&c, err), 0);
	conf_free(&c);
	buf_free(&b);
}
END_TEST

static const struct {
	const char	*text;
	const char	*msg;
} incomplete[] = {
	{ "[duo]\nskey = s\nhost = h\n", "no ikey" },
	{ "[duo]\nikey = i\nhost = h\n", "no skey" },
	{ "[duo]\nikey = i\nskey = s\n", "no host" },
	{ "[duo]\nikey = i\nskey =\nhost = h\n", "no skey" },
	{ "[duo]\nikey = i:x\nskey = s\nhost = h\n", "ikey: must be" },
	{ "[duo]\nikey = i\nskey = s\nhost = https://h\n", "host: must be" },
	{ "[duo]\nikey = i\nskey = s\nhost = h/admin\n", "host: must be" },
	{ "[duo]\nikey = i\nskey = s\nhost = u@h\n", "host: must be" },
	{ "[duo]\nikey = i\nskey = s\nhost = a b\n", "host: must be" },
};

START_TEST(test_check)
{
	struct duo_conf c;
	char err[DUO_ERRLEN];

	ck_assert_int_eq(conf_parse(&c, incomplete[_i].text,
	    strlen(incomplete[_i].text), err), 0);
	ck_assert_int_eq(conf_check(&c, err), -1);
	ck_assert_msg(strstr(err, incomplete[_i].msg) != NULL, "%s", err);
	conf_free(&c);
}
END_TEST

/* ---- conf_load: real files in a scratch directory ---- */

static char dir[64];

static void
mkscratch(void)
{
	strcpy(dir, "/tmp/check_conf.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unsetenv("DUO_CONF");
	unsetenv("DUO_IKEY");
	unsetenv("DUO_SKEY");
	unsetenv("DUO_HOST");
}

static const char *
put(const char *name, const char *text, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	ck_assert_int_ne(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

static void
rmscratch(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_load_modes)
{
	static const struct {
		mode_t	mode;
		int	ok;
	} m[] = {
		{ 0600, 1 }, { 0400, 1 }, { 0640, 0 }, { 0604, 0 },
		{ 0644, 0 }, { 0620, 0 }, { 0602, 0 }, { 0700, 1 },
	};
	struct duo_conf c;
	char err[DUO_ERRLEN];
	const char *p;

	mkscratch();
	p = put("duo.conf", BASIC, m[_i].mode);
	if (m[_i].ok) {
		ck_assert_msg(conf_load(&c, p, err) == 0, "%s", err);
		ck_assert_str_eq(c.skey, SKEY);
		ck_assert_str_eq(c.path, p);
		conf_free(&c);
	} else {
		ck_assert_int_eq(conf_load(&c, p, err), -1);
		ck_assert_msg(strstr(err, "accessible by group or others") &&
		    strstr(err, "chmod 600"), "%s", err);
		ck_assert_ptr_null(strstr(err, SKEY));
		ck_assert_ptr_null(c.skey);
	}
	rmscratch();
}
END_TEST

/* A shared file without an skey is fine: the secret is elsewhere. */
START_TEST(test_load_shared_no_skey)
{
	struct duo_conf c;
	char err[DUO_ERRLEN];
	const char *p;

	mkscratch();
	p = put("duo.conf", "[duo]\nikey = " IKEY "\nhost = " HOST "\n", 0644);
	setenv("DUO_SKEY", SKEY, 1);
	ck_assert_msg(conf_load(&c, p, err) == 0, "%s", err);
	ck_assert_str_eq(c.skey, SKEY);
	conf_free(&c);
	/* ... but not once the file holds one, even if overridden. */
	p = put("duo.conf", BASIC, 0644);
	ck_assert_int_eq(conf_load(&c, p, err), -1);
	rmscratch();
}
END_TEST

START_TEST(test_load_lookup)
{
	struct duo_conf c;
	char err[DUO_ERRLEN], cwd[1024], path[128];

	mkscratch();
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(dir), 0);
	/* Nothing at all. */
	ck_assert_int_eq(conf_load(&c, NULL, err), -1);
	ck_assert_msg(strstr(err, "./duo.conf") != NULL, "%s", err);
	/* ./duo.conf. */
	put("duo.conf", "[duo]\nikey = cwd\nskey = s\nhost = h\n", 0600);
	ck_assert_msg(conf_load(&c, NULL, err) == 0, "%s", err);
	ck_assert_str_eq(c.ikey, "cwd");
	ck_assert_str_eq(c.path, "./duo.conf");
	conf_free(&c);
	/* $DUO_CONF beats ./duo.conf. */
	put("env.conf", "[duo]\nikey = env\nskey = s\nhost = h\n", 0600);
	snprintf(path, sizeof path, "%s/env.conf", dir);
	setenv("DUO_CONF", path, 1);
	ck_assert_msg(conf_load(&c, NULL, err) == 0, "%s", err);
	ck_assert_str_eq(c.ikey, "env");
	conf_free(&c);
	/* -c beats $DUO_CONF. */
	put("opt.conf", "[duo]\nikey = opt\nskey = s\nhost = h\n", 0600);
	snprintf(path, sizeof path, "%s/opt.conf", dir);
	ck_assert_msg(conf_load(&c, path, err) == 0, "%s", err);
	ck_assert_str_eq(c.ikey, "opt");
	conf_free(&c);
	/* A named file that is missing is an error, env or not. */
	setenv("DUO_IKEY", "i", 1);
	setenv("DUO_SKEY", "s", 1);
	setenv("DUO_HOST", "h", 1);
	setenv("DUO_CONF", "/nonexistent/duo.conf", 1);
	ck_assert_int_eq(conf_load(&c, NULL, err), -1);
	ck_assert_msg(strstr(err, "/nonexistent/duo.conf: No such file") !=
	    NULL, "%s", err);
	ck_assert_int_eq(conf_load(&c, "/nonexistent/x.conf", err), -1);
	/* The default file may be missing when the environment has all
	 * (DUO_SKEY again: every conf_load wipes it). */
	setenv("DUO_SKEY", "s", 1);
	unsetenv("DUO_CONF");
	unlink("duo.conf");
	ck_assert_msg(conf_load(&c, NULL, err) == 0, "%s", err);
	ck_assert_ptr_null(c.path);
	ck_assert_str_eq(c.ikey, "i");
	conf_free(&c);
	setenv("DUO_SKEY", "s", 1);
	unsetenv("DUO_HOST");
	ck_assert_int_eq(conf_load(&c, NULL, err), -1);
	ck_assert_int_eq(chdir(cwd), 0);
	rmscratch();
}
END_TEST

START_TEST(test_load_env_override)
{
	struct duo_conf c;
	char err[DUO_ERRLEN];
	const char *p;

	mkscratch();
	p = put("duo.conf", BASIC "timeout = 9\n", 0600);
	setenv("DUO_IKEY", "DIENV", 1);
	setenv("DUO_SKEY", "envsecret", 1);
	setenv("DUO_HOST", "localhost:4443", 1);
	ck_assert_msg(conf_load(&c, p, err) == 0, "%s", err);
	ck_assert_str_eq(c.ikey, "DIENV");
	ck_assert_str_eq(c.skey, "envsecret");
	ck_assert_str_eq(c.host, "localhost:4443");
	ck_assert_int_eq(c.timeout, 9);
	conf_free(&c);
	/* Empty variables count as unset. */
	setenv("DUO_IKEY", "", 1);
	unsetenv("DUO_SKEY");
	setenv("DUO_HOST", "", 1);
	ck_assert_msg(conf_load(&c, p, err) == 0, "%s", err);
	ck_assert_str_eq(c.ikey, IKEY);
	ck_assert_str_eq(c.skey, SKEY);
	ck_assert_str_eq(c.host, HOST);
	conf_free(&c);
	/* A bad host from the environment is still checked. */
	setenv("DUO_HOST", "https://x", 1);
	ck_assert_int_eq(conf_load(&c, p, err), -1);
	ck_assert_msg(strstr(err, "host: must be") != NULL, "%s", err);
	rmscratch();
}
END_TEST

/*
 * DUO_SKEY: taken, then its bytes in the environment block overwritten
 * and the variable removed, whether the load succeeds or fails.  The
 * variable is put with putenv, so the block is this test's own buffer.
 */
START_TEST(test_load_env_wipe)
{
	static char env[] = "DUO_SKEY=envsecret";
	static char env2[] = "DUO_SKEY=envsecret";
	struct duo_conf c;
	char err[DUO_ERRLEN];
	const char *p;

	mkscratch();
	p = put("duo.conf", BASIC, 0600);
	ck_assert_int_eq(putenv(env), 0);
	ck_assert_msg(conf_load(&c, p, err) == 0, "%s", err);
	ck_assert_str_eq(c.skey, "envsecret");
	ck_assert_ptr_null(getenv("DUO_SKEY"));
	ck_assert_ptr_null(strstr(env, "envsecret"));
	ck_assert_str_eq(env, "DUO_SKEY=xxxxxxxxx");
	conf_free(&c);
	/* A failed load wipes it too. */
	ck_assert_int_eq(putenv(env2), 0);
	ck_assert_int_eq(conf_load(&c, "/nonexistent/duo.conf", err), -1);
	ck_assert_ptr_null(getenv("DUO_SKEY"));
	ck_assert_str_eq(env2, "DUO_SKEY=xxxxxxxxx");
	rmscratch();
}
END_TEST

START_TEST(test_load_errors)
{
	struct duo_conf c;
	char err[DUO_ERRLEN], path[128];
	struct buf big;
	const char *p;
	size_t i;

	mkscratch();
	/* Unknown key: file name and line number. */
	p = put("duo.conf", BASIC "colour = blue\n", 0600);
	ck_assert_int_eq(conf_load(&c, p, err), -1);
	ck_assert_msg(strstr(err, "duo.conf: line 5: unknown key \"colour\"")
	    != NULL, "%s", err);
	/* Missing key names the file. */
	p = put("duo.conf", "[duo]\nikey = i\nhost = h\n", 0600);
	ck_assert_int_eq(conf_load(&c, p, err), -1);
	ck_assert_msg(strstr(err, "duo.conf: no skey") != NULL, "%s", err);
	/* A directory. */
	ck_assert_int_eq(conf_load(&c, dir, err), -1);
	ck_assert_msg(strstr(err, "not a regular file") != NULL, "%s", err);
	/* Too large. */
	buf_init(&big);
	xbuf_adds(&big, BASIC);
	for (i = 0; i < 70000 / 8; i++)
		xbuf_adds(&big, ";comment");
	p = put("big.conf", big.p, 0600);
	ck_assert_int_eq(conf_load(&c, p, err), -1);
	ck_assert_msg(strstr(err, "larger than") != NULL, "%s", err);
	buf_free(&big);
	/* Unreadable. */
	if (geteuid() != 0) {
		p = put("none.conf", BASIC, 0000);
		ck_assert_int_eq(conf_load(&c, p, err), -1);
		ck_assert_msg(strstr(err, "Permission denied") != NULL, "%s",
		    err);
	}
	snprintf(path, sizeof path, "%s/absent.conf", dir);
	ck_assert_int_eq(conf_load(&c, path, err), -1);
	rmscratch();
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;
	SRunner *sr;
	int nf;

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_good, 0,
	    (int)(sizeof good / sizeof good[0]));
	tcase_add_loop_test(tc, test_parse_bad, 0,
	    (int)(sizeof bad / sizeof bad[0]));
	tcase_add_test(tc, test_nul_byte);
	tcase_add_loop_test(tc, test_fixtures, 0, 4);
	tcase_add_loop_test(tc, test_check, 0,
	    (int)(sizeof incomplete / sizeof incomplete[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("load");
	tcase_add_loop_test(tc, test_load_modes, 0, 8);
	tcase_add_test(tc, test_load_shared_no_skey);
	tcase_add_test(tc, test_load_lookup);
	tcase_add_test(tc, test_load_env_override);
	tcase_add_test(tc, test_load_env_wipe);
	tcase_add_test(tc, test_load_errors);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
