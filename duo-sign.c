/*
 * duo-sign: sign one Duo Admin API request and print it as a curl
 * config, as header lines, or as the canonical string.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/duo.h"

static void
usage(void)
{
	fputs("usage: duo-sign [-c conf] [-a sha1|sha512] [-d date] "
	    "[-o curl|headers|canon]\n"
	    "                [-V 2|5] METHOD PATH [name=value ...]\n",
	    stderr);
	exit(DUO_EXIT_USAGE);
}

static void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("duo-sign: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* A path we can put in a URL unchanged and sign as is. */
static int
pathok(const char *p)
{
	const unsigned char *s;

	if (p[0] != '/')
		return 0;
	for (s = (const unsigned char *)p; *s != '\0'; s++)
		if (*s <= 0x20 || *s >= 0x7f || *s == '?' || *s == '#' ||
		    *s == '"' || *s == '\\')
			return 0;
	/* curl would remove dot segments, and the signature would break. */
	if (strstr(p, "/./") != NULL || strstr(p, "/../") != NULL)
		return 0;
	s = (const unsigned char *)p + strlen(p);
	if ((s - (const unsigned char *)p >= 2 && strcmp((const char *)s - 2,
	    "/.") == 0) || (s - (const unsigned char *)p >= 3 &&
	    strcmp((const char *)s - 3, "/..") == 0))
		return 0;
	return 1;
}

static void
curlline(struct buf *o, const char *key, const char *v)
{
	xbuf_adds(o, key);
	xbuf_adds(o, " = ");
	urlenc_curlq(o, v, strlen(v));
	xbuf_addc(o, '\n');
}

int
main(int argc, char *argv[])
{
	struct duo_conf conf;
	struct sign_req req;
	struct sign_param *pp;
	struct buf canon, auth, query, body, o, hdr;
	char err[DUO_ERRLEN], date[SIGN_DATELEN], *method, *eq;
	const char *cpath = NULL, *dflag = NULL, *oflag = "curl";
	const char *alg = NULL, *ctype = NULL, *s;
	int ch, version = 5, hasbody, i, np;

	compat_init(&argc, &argv);
	/* This process holds the skey: no core file may keep it.  Done
	 * before the conf is read; where the system refuses, the
	 * signature is still made (as duo-get does). */
	(void)compat_nodump();
	while ((ch = getopt(argc, argv, "a:c:d:o:V:")) != -1) {
		switch (ch) {
		case 'a':
			if (strcmp(optarg, "sha1") != 0 &&
			    strcmp(optarg, "sha512") != 0) {
				fprintf(stderr, "duo-sign: -a %s: must be sha1 "
				    "or sha512\n", optarg);
				usage();
			}
			alg = optarg;
			break;
		case 'c':
			cpath = optarg;
			break;
		case 'd':
			dflag = optarg;
			break;
		case 'o':
			if (strcmp(optarg, "curl") != 0 &&
			    strcmp(optarg, "headers") != 0 &&
			    strcmp(optarg, "canon") != 0) {
				fprintf(stderr, "duo-sign: -o %s: must be curl, "
				    "headers or canon\n", optarg);
				usage();
			}
			oflag = optarg;
			break;
		case 'V':
			if (strcmp(optarg, "2") == 0)
				version = 2;
			else if (strcmp(optarg, "5") == 0)
				version = 5;
			else {
				fprintf(stderr, "duo-sign: -V %s: must be 2 "
				    "or 5\n", optarg);
				usage();
			}
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		usage();
	if (version == 5 && alg != NULL && strcmp(alg, "sha1") == 0) {
		fputs("duo-sign: -a sha1: version 5 always signs with "
		    "SHA-512; use -V 2 for SHA-1\n", stderr);
		usage();
	}

	method = xstrdup(argv[0]);
	for (i = 0; method[i] != '\0'; i++)
		if (method[i] >= 'a' && method[i] <= 'z')
			method[i] = (char)(method[i] - 'a' + 'A');
	if (strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0)
		hasbody = 0;
	else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0)
		hasbody = 1;
	else
		die(DUO_EXIT_USAGE, "%s: method must be GET, POST, PUT, "
		    "PATCH or DELETE", argv[0]);
	if (!pathok(argv[1]))
		die(DUO_EXIT_USAGE, "%s: path must start with / and hold "
		    "no blanks, control bytes, ?, #, \", \\ or dot segments",
		    argv[1]);
	np = argc - 2;
	pp = xcalloc((size_t)(np > 0 ? np : 1), sizeof *pp);
	for (i = 0; i < np; i++) {
		s = argv[i + 2];
		if ((eq = strchr(s, '=')) == NULL || eq == s)
			die(DUO_EXIT_USAGE, "%s: parameter must be name=value",
			    s);
		pp[i].name = xstrndup(s, (size_t)(eq - s));
		pp[i].value = eq + 1;
	}
	if (dflag != NULL) {
		if (*dflag == '\0' || strlen(dflag) >= 100)
			die(DUO_EXIT_USAGE, "-d: date must be 1 to 99 bytes");
		for (s = dflag; *s != '\0'; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				die(DUO_EXIT_USAGE, "-d: date holds a control "
				    "character");
	} else {
		sign_date(date, sizeof date, time(NULL));
		if (date[0] == '\0')
			die(DUO_EXIT_FAIL, "cannot format the current date");
		dflag = date;
	}

	if (conf_load(&conf, cpath, err) == -1)
		die(DUO_EXIT_USAGE, "%s", err);

	memset(&req, 0, sizeof req);
	req.version = version;
	req.sha512 = alg == NULL ? (version == 5) : strcmp(alg, "sha512") == 0;
	req.method = method;
	req.host = conf.host;
	req.path = argv[1];
	req.date = dflag;
	req.params = pp;
	req.nparams = (size_t)np;
	buf_init(&query);
	buf_init(&body);
	xbuf_adds(&query, "");
	xbuf_adds(&body, "");
	if (!hasbody)
		sign_params(&query, pp, (size_t)np);
	else if (version == 2) {
		sign_params(&body, pp, (size_t)np);
		ctype = "application/x-www-form-urlencoded";
	} else {
		if (sign_body_json(&body, pp, (size_t)np, err) == -1)
			die(DUO_EXIT_USAGE, "%s", err);
		ctype = "application/json";
		req.params = NULL;
		req.nparams = 0;
		req.body = body.p;
		req.bodylen = body.len;
	}

	buf_init(&canon);
	buf_init(&auth);
	buf_init(&o);
	buf_init(&hdr);
	if (sign_canon(&req, &canon, err) == -1 ||
	    sign_auth(&req, conf.ikey, conf.skey, &auth, err) == -1)
		die(DUO_EXIT_FAIL, "%s", err);

	if (strcmp(oflag, "canon") == 0) {
		xbuf_add(&o, canon.p, canon.len);
		xbuf_addc(&o, '\n');
	} else if (strcmp(oflag, "headers") == 0) {
		xbuf_printf(&o, "Date: %s\nAuthorization: %s\n", dflag,
		    auth.p);
		if (ctype != NULL)
			xbuf_printf(&o, "Content-Type: %s\n", ctype);
	} else {
		xbuf_printf(&hdr, "https://%s%s", conf.host, argv[1]);
		if (query.len > 0)
			xbuf_printf(&hdr, "?%s", query.p);
		curlline(&o, "url", hdr.p);
		buf_reset(&hdr);
		xbuf_printf(&hdr, "Date: %s", dflag);
		curlline(&o, "header", hdr.p);
		buf_reset(&hdr);
		xbuf_printf(&hdr, "Authorization: %s", auth.p);
		curlline(&o, "header", hdr.p);
		if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
			curlline(&o, "request", method);
		if (ctype != NULL) {
			buf_reset(&hdr);
			xbuf_printf(&hdr, "Content-Type: %s", ctype);
			curlline(&o, "header", hdr.p);
			curlline(&o, "data", body.p);
		}
		if (conf.cafile != NULL)
			curlline(&o, "cacert", conf.cafile);
		if (conf.http_proxy != NULL)
			curlline(&o, "proxy", conf.http_proxy);
		if (conf.user_agent != NULL)
			curlline(&o, "user-agent", conf.user_agent);
	}
	conf_free(&conf);
	fwrite(o.p, 1, o.len, stdout);
	if (out_flush(stdout, "stdout", err) == -1)
		die(DUO_EXIT_FAIL, "%s", err);

	for (i = 0; i < np; i++)
		free((char *)pp[i].name);
	free(pp);
	free(method);
	buf_free(&canon);
	buf_free(&auth);
	buf_free(&query);
	buf_free(&body);
	buf_free(&o);
	buf_free(&hdr);
	return DUO_EXIT_OK;
}
