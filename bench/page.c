/*
 * bench/page.c: feed one saved response body through cursor_page, as
 * duo-get does with each page, and report the CPU time per page.
 * Built and run by bench/page; never part of make check.
 *
 *	page KIND FILE [iterations [http]]
 *
 * Writes the records, then "CURSOR cursor n=N flags=F" (or "ERROR
 * reason") once, to stdout; with iterations > 1, "KIND: X ms/page" on
 * stderr.  With "http", each iteration first makes the checks lib/http.c
 * makes of a 200 body (cursor_scan, cursor_member "stat" and
 * "response").  The functions are kept out of line so that callgrind
 * --toggle-collect=cursor_page or =http_checks counts one part alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "duo.h"

static int __attribute__((noinline))
http_checks(const char *s, size_t n)
{
	size_t vs, ve;

	if (cursor_scan(s, n) == -1 ||
	    cursor_member(s, n, 0, "stat", &vs, &ve) == -1 ||
	    cursor_member(s, n, 0, "response", &vs, &ve) == -1)
		return -1;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct cursor c;
	struct cursor_req req;
	struct buf body, out, cb;
	char err[DUO_ERRLEN], tmp[65536];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	FILE *f;
	size_t n;
	int kind, flags, rc = 0, it, iters, http;
	clock_t t0;

	if (argc < 3 || (kind = cursor_kind(argv[1])) == -1) {
		fputs("usage: page KIND FILE [iterations [http]]\n", stderr);
		return 2;
	}
	iters = argc > 3 ? atoi(argv[3]) : 1;
	if (iters < 1)
		iters = 1;
	http = argc > 4 && strcmp(argv[4], "http") == 0;
	buf_init(&body);
	buf_init(&out);
	buf_init(&cb);
	if ((f = fopen(argv[2], "rb")) == NULL) {
		perror(argv[2]);
		return 1;
	}
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		xbuf_add(&body, tmp, n);
	fclose(f);
	/* OpenSSL's one-time set-up, which duo-get has paid by signing. */
	(void)EVP_Digest("x", 1, md, &mdlen, EVP_sha256(), NULL);
	t0 = clock();
	for (it = 0; it < iters; it++) {
		cursor_init(&c, kind);
		cursor_since(&c, cursor_isv1(kind) ? 0 : 1000);
		(void)cursor_request(&c, 4102444800000LL, 0, &req);
		buf_reset(&out);
		if (http && http_checks(body.p, body.len) == -1) {
			fputs("page: the body fails http.c's checks\n", stderr);
			return 1;
		}
		rc = cursor_page(&c, body.p, body.len, 4102444800000LL, 0,
		    &out, &n, &flags, err);
		if (it + 1 < iters)
			cursor_free(&c);
	}
	if (iters > 1)
		fprintf(stderr, "%s: %.3f ms/page\n", argv[1],
		    (double)(clock() - t0) * 1000 / CLOCKS_PER_SEC / iters);
	if (rc == -1)
		printf("ERROR %s\n", err);
	else {
		fwrite(out.p, 1, out.len, stdout);
		cursor_format(&c, &cb);
		printf("CURSOR %s n=%zu flags=%d\n", cb.p, n, flags);
	}
	cursor_free(&c);
	buf_free(&body);
	buf_free(&out);
	buf_free(&cb);
	return 0;
}
