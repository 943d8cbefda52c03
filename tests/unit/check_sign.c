/*
 * check_sign: every request vector of sign-vectors.json (produced by
 * Duo's official clients) through lib/sign, byte for byte; the
 * canonicalization edge cases with expectations computed by Python
 * (tests/fixtures/sign/edge.h); forged signatures that must not verify.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../lib/duo.h"

struct vector {
	const char		*id;
	const char		*kind;
	int			 version;
	int			 sha512;
	const char		*method;
	const char		*host;
	const char		*path;
	const char		*date;
	const char		*ikey;
	const char		*skey;
	const char		*body;
	size_t			 bodylen;
	const struct sign_param	*params;
	size_t			 nparams;
	int			 params_in_body;
	const struct sign_param	*xduo;
	size_t			 nxduo;
	const char		*expect;	/* canonical or params line */
	const char		*auth;
};

#include "../fixtures/sign/vectors.h"
#include "../fixtures/sign/edge.h"

static void
mkreq(struct sign_req *r, const struct vector *v)
{
	memset(r, 0, sizeof *r);
	r->version = v->version;
	r->sha512 = v->sha512;
	r->method = v->method;
	r->host = v->host;
	r->path = v->path;
	r->date = v->date;
	if (!v->params_in_body) {
		r->params = v->params;
		r->nparams = v->nparams;
	}
	r->body = v->body;
	r->bodylen = v->bodylen;
	r->xduo = v->xduo;
	r->nxduo = v->nxduo;
}

/* Upper-case the hex part of a Basic value (decode, change, encode). */
static void
upper_hex_auth(struct buf *out, const char *auth)
{
	unsigned char dec[512];
	char enc[1024];
	int n, i, pad = 0;
	size_t len = strlen(auth + 6);

	if (len > 1 && auth[6 + len - 1] == '=')
		pad++;
	if (len > 2 && auth[6 + len - 2] == '=')
		pad++;
	n = EVP_DecodeBlock(dec, (const unsigned char *)auth + 6, (int)len);
	ck_assert_int_gt(n, 0);
	n -= pad;
	for (i = 0; i < n && dec[i] != ':'; i++)
		;
	for (; i < n; i++)
		if (dec[i] >= 'a' && dec[i] <= 'f')
			dec[i] = (unsigned char)(dec[i] - 'a' + 'A');
	EVP_EncodeBlock((unsigned char *)enc, dec, n);
	xbuf_adds(out, "Basic ");
	xbuf_adds(out, enc);
}

START_TEST(test_vector)
{
	const struct vector *v = &vectors[_i];
	struct sign_req r;
	struct buf b, up;
	char err[DUO_ERRLEN];

	buf_init(&b);
	if (strcmp(v->kind, "canon_params_only") == 0) {
		xbuf_adds(&b, "");
		sign_params(&b, v->params, v->nparams);
		ck_assert_msg(strcmp(b.p, v->expect) == 0, "%s: got %s",
		    v->id, b.p);
		buf_free(&b);
		return;
	}
	mkreq(&r, v);
	ck_assert_msg(sign_canon(&r, &b, err) == 0, "%s: %s", v->id, err);
	ck_assert_msg(b.len == strlen(v->expect) &&
	    memcmp(b.p, v->expect, b.len) == 0, "%s: canonical\n%s\nwant\n%s",
	    v->id, b.p, v->expect);
	if (v->params_in_body) {
		/* The JSON the official client sent, from our serializer. */
		buf_reset(&b);
		ck_assert_int_eq(sign_body_json(&b, v->params, v->nparams,
		    err), 0);
		ck_assert_msg(strcmp(b.p, v->body) == 0, "%s: body %s",
		    v->id, b.p);
	}
	if (v->auth != NULL) {
		buf_reset(&b);
		ck_assert_msg(sign_auth(&r, v->ikey, v->skey, &b, err) == 0,
		    "%s: %s", v->id, err);
		ck_assert_msg(strcmp(b.p, v->auth) == 0, "%s: got %s", v->id,
		    b.p);
		ck_assert_msg(sign_verify(&r, v->ikey, v->skey, v->auth,
		    err) == 0, "%s: verify: %s", v->id, err);
		buf_init(&up);
		upper_hex_auth(&up, v->auth);
		ck_assert_msg(strcmp(up.p, v->auth) != 0, "%s", v->id);
		ck_assert_msg(sign_verify(&r, v->ikey, v->skey, up.p,
		    err) == 0, "%s: upper-case hex: %s", v->id, err);
		buf_free(&up);
	}
	buf_free(&b);
}
END_TEST

START_TEST(test_edge_params)
{
	struct buf b;

	buf_init(&b);
	xbuf_adds(&b, "");
	sign_params(&b, edge_cases[_i].p, edge_cases[_i].n);
	ck_assert_msg(strcmp(b.p, edge_cases[_i].line) == 0,
	    "%s: got\n%s\nwant\n%s", edge_cases[_i].name, b.p,
	    edge_cases[_i].line);
	buf_free(&b);
}
END_TEST

START_TEST(test_json_body)
{
	struct buf b;
	char err[DUO_ERRLEN];

	buf_init(&b);
	ck_assert_int_eq(sign_body_json(&b, json_cases[_i].p,
	    json_cases[_i].n, err), 0);
	ck_assert_msg(strcmp(b.p, json_cases[_i].body) == 0,
	    "%s: got %s want %s", json_cases[_i].name, b.p,
	    json_cases[_i].body);
	buf_free(&b);
}
END_TEST

START_TEST(test_json_bad_utf8)
{
	static const char *const bad[] = {
		"\xff", "a\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xe0\x80\xaf", "\x80",
	};
	struct sign_param p = { "k", NULL };
	struct buf b;
	char err[DUO_ERRLEN];

	buf_init(&b);
	p.value = bad[_i];
	ck_assert_int_eq(sign_body_json(&b, &p, 1, err), -1);
	p.name = bad[_i];
	p.value = "v";
	buf_reset(&b);
	ck_assert_int_eq(sign_body_json(&b, &p, 1, err), -1);
	buf_free(&b);
}
END_TEST

/* The first v5 GET vector with params, for the tests below. */
static const struct vector *
v5get(void)
{
	size_t i;

	for (i = 0; i < NVECTORS; i++)
		if (strcmp(vectors[i].id,
		    "client-b_authlog_v2_next_offset_two_values-v5-sha512") == 0)
			return &vectors[i];
	ck_abort_msg("vector missing");
	return NULL;
}

START_TEST(test_upper_host)
{
	static const char *const hosts[] = {
		"API-XXXXXXXX.DUOSECURITY.COM", "Api-XxXxXxXx.DuoSecurity.Com",
		"api-xxxxxxxx.duosecurity.com",
	};
	const struct vector *v = v5get();
	struct sign_req r;
	struct buf b;
	char err[DUO_ERRLEN];

	mkreq(&r, v);
	r.host = hosts[_i];
	buf_init(&b);
	ck_assert_int_eq(sign_canon(&r, &b, err), 0);
	ck_assert_str_eq(b.p, v->expect);
	buf_reset(&b);
	ck_assert_int_eq(sign_auth(&r, v->ikey, v->skey, &b, err), 0);
	ck_assert_str_eq(b.p, v->auth);
	buf_free(&b);
}
END_TEST

START_TEST(test_host_port_lowered)
{
	struct sign_req r;
	struct buf b;
	char err[DUO_ERRLEN];

	memset(&r, 0, sizeof r);
	r.version = 2;
	r.method = "get";
	r.host = "LocalHost:8443";
	r.path = "/Admin/v1/info/summary";
	r.date = "Tue, 21 Aug 2012 17:29:18 -0000";
	buf_init(&b);
	ck_assert_int_eq(sign_canon(&r, &b, err), 0);
	ck_assert_str_eq(b.p, "Tue, 21 Aug 2012 17:29:18 -0000\nGET\n"
	    "localhost:8443\n/Admin/v1/info/summary\n");
	buf_free(&b);
}
END_TEST

/*
 * Forgeries: each changes one thing about a valid Authorization or the
 * request it is checked against; none may verify.
 */
enum forge {
	F_FLIPHEX, F_TRUNC, F_WRONGIKEY, F_WRONGSKEY, F_OTHERDATE,
	F_OTHERPARAM, F_DROPPARAM, F_OTHERPATH, F_OTHERMETHOD, F_SHA1,
	F_NOTHEX, F_BEARER, F_BADB64, F_NOCOLON, F_EMPTY, F_EXTRAHEX,
	F_V2FORV5, NFORGE
};

static void
b64(struct buf *out, const char *s)
{
	char enc[1024];

	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)s,
	    (int)strlen(s));
	xbuf_adds(out, "Basic ");
	xbuf_adds(out, enc);
}

START_TEST(test_forged)
{
	const struct vector *v = v5get();
	struct sign_req r, r2;
	struct sign_param pp[8];
	struct buf good, bad, cred;
	char err[DUO_ERRLEN], hex[200];
	const char *skey = v->skey, *ikey = v->ikey;
	size_t i;

	mkreq(&r, v);
	buf_init(&good);
	buf_init(&bad);
	buf_init(&cred);
	ck_assert_int_eq(sign_auth(&r, v->ikey, v->skey, &good, err), 0);
	ck_assert_int_eq(sign_verify(&r, v->ikey, v->skey, good.p, err), 0);
	r2 = r;
	/* The hex signature of the good value. */
	{
		unsigned char dec[512];
		int n = EVP_DecodeBlock(dec,
		    (const unsigned char *)good.p + 6,
		    (int)strlen(good.p + 6));
		char *c;

		dec[n] = '\0';
		c = strchr((char *)dec, ':');
		ck_assert_ptr_nonnull(c);
		snprintf(hex, sizeof hex, "%.128s", c + 1);
	}
	switch (_i) {
	case F_FLIPHEX:
		hex[77] = hex[77] == '0' ? '1' : '0';
		xbuf_printf(&cred, "%s:%s", v->ikey, hex);
		b64(&bad, cred.p);
		break;
	case F_TRUNC:
		hex[126] = '\0';
		xbuf_printf(&cred, "%s:%s", v->ikey, hex);
		b64(&bad, cred.p);
		break;
	case F_EXTRAHEX:
		xbuf_printf(&cred, "%s:%s00", v->ikey, hex);
		b64(&bad, cred.p);
		break;
	case F_WRONGIKEY:
		ikey = "DIXXXXXXXXXXXXXXXXXX";
		xbuf_adds(&bad, good.p);
		break;
	case F_WRONGSKEY:
		skey = "Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Eq";
		xbuf_adds(&bad, good.p);
		break;
	case F_OTHERDATE:
		r2.date = "Tue, 21 Aug 2012 17:29:19 -0000";
		xbuf_adds(&bad, good.p);
		break;
	case F_OTHERPARAM:
		ck_assert_int_le(r.nparams, 8);
		memcpy(pp, r.params, r.nparams * sizeof pp[0]);
		pp[0].value = "1700000000001";
		r2.params = pp;
		xbuf_adds(&bad, good.p);
		break;
	case F_DROPPARAM:
		r2.nparams--;
		xbuf_adds(&bad, good.p);
		break;
	case F_OTHERPATH:
		r2.path = "/admin/v2/logs/telephony";
		xbuf_adds(&bad, good.p);
		break;
	case F_OTHERMETHOD:
		r2.method = "POST";
		xbuf_adds(&bad, good.p);
		break;
	case F_SHA1:
		/* A v2 SHA-1 signature offered for the v5 request. */
		r2.version = 2;
		r2.sha512 = 0;
		ck_assert_int_eq(sign_auth(&r2, v->ikey, v->skey, &bad, err),
		    0);
		r2 = r;
		break;
	case F_V2FORV5:
		/* A v2 SHA-512 signature: right length, wrong string. */
		r2.version = 2;
		r2.sha512 = 1;
		ck_assert_int_eq(sign_auth(&r2, v->ikey, v->skey, &bad, err),
		    0);
		r2 = r;
		break;
	case F_NOTHEX:
		hex[5] = 'g';
		xbuf_printf(&cred, "%s:%s", v->ikey, hex);
		b64(&bad, cred.p);
		break;
	case F_BEARER:
		xbuf_printf(&bad, "Bearer %s", good.p + 6);
		break;
	case F_BADB64:
		xbuf_adds(&bad, good.p);
		bad.p[10] = '*';
		break;
	case F_NOCOLON:
		xbuf_printf(&cred, "%s%s", v->ikey, hex);
		b64(&bad, cred.p);
		break;
	case F_EMPTY:
		xbuf_adds(&bad, "Basic ");
		break;
	}
	for (i = 0; i < sizeof err; i++)
		err[i] = 'X';
	ck_assert_msg(sign_verify(&r2, ikey, skey, bad.p, err) == -1,
	    "forgery %d verified", _i);
	ck_assert_msg(memchr(err, '\0', sizeof err) != NULL && err[0] != 'X',
	    "forgery %d: no reason given", _i);
	ck_assert_ptr_null(strstr(err, v->skey));
	buf_free(&good);
	buf_free(&bad);
	buf_free(&cred);
}
END_TEST

START_TEST(test_date)
{
	static const struct {
		time_t		 t;
		const char	*s;
	} d[] = {
		{ 1345570158, "Tue, 21 Aug 2012 17:29:18 -0000" },
		{ 0, "Thu, 01 Jan 1970 00:00:00 -0000" },
		{ 1709164800, "Thu, 29 Feb 2024 00:00:00 -0000" },
		{ 1700000000, "Tue, 14 Nov 2023 22:13:20 -0000" },
		{ 4102444799, "Thu, 31 Dec 2099 23:59:59 -0000" },
		{ 1354900680, "Fri, 07 Dec 2012 17:18:00 -0000" },
	};
	char out[SIGN_DATELEN];

	sign_date(out, sizeof out, d[_i].t);
	ck_assert_str_eq(out, d[_i].s);
}
END_TEST

START_TEST(test_canon_errors)
{
	static const struct sign_param xbad[] = { { "Date", "x" } };
	static const struct sign_param xdup[] = {
		{ "X-Duo-A", "1" }, { "x-duo-a", "2" },
	};
	struct sign_req r;
	struct buf b;
	char err[DUO_ERRLEN];

	memset(&r, 0, sizeof r);
	r.version = 5;
	r.method = "GET";
	r.host = "h";
	r.path = "/p";
	r.date = "Tue, 21 Aug 2012 17:29:18 -0000";
	switch (_i) {
	case 0:
		r.version = 3;
		break;
	case 1:
		r.path = "/p\nX: y";
		break;
	case 2:
		r.date = NULL;
		break;
	case 3:
		r.date = "Tue, 21 Aug 2012\r\n17:29:18 -0000";
		break;
	case 4:
		r.xduo = xbad;
		r.nxduo = 1;
		break;
	case 5:
		r.xduo = xdup;
		r.nxduo = 2;
		break;
	case 6:
		r.version = 2;
		r.xduo = xdup;
		r.nxduo = 1;
		break;
	case 7:
		r.host = "";
		break;
	}
	buf_init(&b);
	ck_assert_int_eq(sign_canon(&r, &b, err), -1);
	ck_assert_int_eq(sign_auth(&r, "DIX", "s", &b, err), -1);
	buf_free(&b);
}
END_TEST

START_TEST(test_v1_no_date)
{
	struct sign_req r;
	struct buf b;
	char err[DUO_ERRLEN];

	memset(&r, 0, sizeof r);
	r.version = 1;
	r.method = "GET";
	r.host = "h";
	r.path = "/p";
	buf_init(&b);
	ck_assert_int_eq(sign_canon(&r, &b, err), 0);
	ck_assert_str_eq(b.p, "GET\nh\n/p\n");
	buf_free(&b);
}
END_TEST

/* Repeated names in any input order give the same signature. */
START_TEST(test_order_independent)
{
	static const struct sign_param a[] = {
		{ "next_offset", "1700000123456" },
		{ "next_offset", "0b9f" }, { "limit", "1000" },
	};
	static const struct sign_param b[] = {
		{ "limit", "1000" }, { "next_offset", "0b9f" },
		{ "next_offset", "1700000123456" },
	};
	struct buf x, y;

	buf_init(&x);
	buf_init(&y);
	sign_params(&x, a, 3);
	sign_params(&y, b, 3);
	ck_assert_str_eq(x.p, y.p);
	ck_assert_str_eq(x.p,
	    "limit=1000&next_offset=0b9f&next_offset=1700000123456");
	buf_free(&x);
	buf_free(&y);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sign");
	TCase *tc;
	SRunner *sr;
	int nf;

	tc = tcase_create("vectors");
	tcase_add_loop_test(tc, test_vector, 0, (int)NVECTORS);
	suite_add_tcase(s, tc);
	tc = tcase_create("edge");
	tcase_add_loop_test(tc, test_edge_params, 0,
	    (int)(sizeof edge_cases / sizeof edge_cases[0]));
	tcase_add_loop_test(tc, test_json_body, 0,
	    (int)(sizeof json_cases / sizeof json_cases[0]));
	tcase_add_loop_test(tc, test_json_bad_utf8, 0, 7);
	tcase_add_loop_test(tc, test_upper_host, 0, 3);
	tcase_add_test(tc, test_host_port_lowered);
	tcase_add_test(tc, test_v1_no_date);
	tcase_add_test(tc, test_order_independent);
	tcase_add_loop_test(tc, test_canon_errors, 0, 8);
	tcase_add_loop_test(tc, test_date, 0, 6);
	suite_add_tcase(s, tc);
	tc = tcase_create("forged");
	tcase_add_loop_test(tc, test_forged, 0, NFORGE);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf ? EXIT_FAILURE : EXIT_SUCCESS;
}
