/* duo-get: page a Duo Admin API log to one JSON record per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/duo.h"

#define CURSOR_MAXLINE	(32L * 1024 * 1024)

static const char *kindname = "duo-get";
static int verbose;
static int progress;		/* stderr is a terminal */
static int progress_shown;

static void
usage(void)
{
	fputs("usage: duo-get [-Cv] [-c conf] [-l lag] [-n limit] "
	    "[-s cursor] [-S since]\n"
	    "               [-U until] KIND\n", stderr);
	exit(DUO_EXIT_USAGE);
}

static void
endprogress(void)
{
	if (progress_shown) {
		fputs("\n", stderr);
		progress_shown = 0;
	}
}

static void
msg(const char *fmt, const char *a, const char *b)
{
	endprogress();
	fprintf(stderr, "duo-get: %s: ", kindname);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
}

static void
die(int code, const char *what, const char *why)
{
	endprogress();
	if (what != NULL)
		fprintf(stderr, "duo-get: %s: %s\n", what, why);
	else
		fprintf(stderr, "duo-get: %s\n", why);
	exit(code);
}

static void
isotime(char *s, size_t n, int64_t ms)
{
	struct tm tm;

	if (compat_gmtime((time_t)(ms / 1000), &tm) == -1 ||
	    strftime(s, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(s, n, "%lld ms", (long long)ms);
}

static void
on_wait(void *arg, int attempt, long ms, const char *why)
{
	char line[DUO_ERRLEN + 128];

	(void)arg;
	if (!verbose && !progress)
		return;
	snprintf(line, sizeof line, "attempt %d failed (%s); waiting %ld.%03ld s",
	    attempt, why, ms / 1000, ms % 1000);
	if (progress) {
		fprintf(stderr, "\r\033[Kduo-get: %s: %.70s", kindname, line);
		progress_shown = 1;
	} else
		fprintf(stderr, "duo-get: %s: %s\n", kindname, line);
}

static void
report(long pages, long long records, size_t n, const char *where)
{
	if (progress) {
		fprintf(stderr, "\r\033[Kduo-get: %s: %ld pages, %lld records,"
		    " at %s", kindname, pages, records, where);
		progress_shown = 1;
	} else if (verbose)
		fprintf(stderr, "duo-get: %s: page %ld: %zu records "
		    "(%lld in all), at %s\n", kindname, pages, n, records,
		    where);
}

/* Where the cursor stands, for -v. */
static void
position(const struct cursor *c, char *s, size_t n)
{
	if (cursor_isv1(c->kind))
		isotime(s, n, c->sec * 1000);
	else
		isotime(s, n, c->min);
}

static void
put(struct buf *out, char *err)
{
	if (out->len > 0 && fwrite(out->p, 1, out->len, stdout) != out->len) {
		out_flush(stdout, "stdout", err);
		die(DUO_EXIT_FAIL, NULL, err);
	}
	if (out_flush(stdout, "stdout", err) == -1)
		die(DUO_EXIT_FAIL, NULL, err);
	buf_reset(out);
}

static void
control(struct buf *out, const char *what, const struct cursor *c, size_t n)
{
	xbuf_printf(out, "{\"@duo\":\"%s\",\"cursor\":", what);
	cursor_format(c, out);
	xbuf_printf(out, ",\"n\":%zu}\n", n);
}

int
main(int argc, char *argv[])
{
	struct duo_conf conf;
	struct cursor cur;
	struct cursor_req req;
	struct http_opts hopts;
	struct http *http;
	struct buf line, out, start;
	char err[DUO_ERRLEN], where[64];
	const char *cpath = NULL, *scur = "{}", *ssince = "1d", *suntil = NULL;
	const char *slag = "120";
	int ch, kind, ctl = 0, flags, rc, lf, more;
	int64_t now, since, until = -1, lag, bound, from, to;
	long limit = 0, pages = 0;
	long long records = 0;
	size_t n;
	char *end;
	const char *body;
	size_t blen;

	while ((ch = getopt(argc, argv, "CS:U:c:l:n:s:v")) != -1) {
		switch (ch) {
		case 'C':
			ctl = 1;
			break;
		case 'S':
			ssince = optarg;
			break;
		case 'U':
			suntil = optarg;
			break;
		case 'c':
			cpath = optarg;
			break;
		case 'l':
			slag = optarg;
			break;
		case 'n':
			limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || limit < 1 ||
			    limit > 100000)
				die(DUO_EXIT_USAGE, "-n", "want a number from 1 "
				    "to 1000 (the kind's maximum is used "
				    "when larger)");
			break;
		case 's':
			scur = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		usage();
	if ((kind = cursor_kind(argv[0])) == -1)
		die(DUO_EXIT_USAGE, argv[0], "unknown kind (auth, admin, "
		    "telephony, activity, offline, trustmonitor)");
	kindname = cursor_kindname(kind);
	progress = isatty(STDERR_FILENO);

	now = compat_now_ms();
	if (cursor_duration(slag, &lag, err) == -1)
		die(DUO_EXIT_USAGE, "-l", err);
	if (cursor_time(ssince, now, &since, err) == -1)
		die(DUO_EXIT_USAGE, "-S", err);
	if (suntil != NULL && cursor_time(suntil, now, &until, err) == -1)
		die(DUO_EXIT_USAGE, "-U", err);

	/* The cursor, from -s or from the first line of stdin. */
	buf_init(&line);
	if (strcmp(scur, "-") == 0) {
		rc = buf_getline(&line, stdin, CURSOR_MAXLINE, &lf);
		if (rc == -1)
			die(DUO_EXIT_FAIL, "stdin", "read error");
		if (rc == 0)
			die(DUO_EXIT_USAGE, "cursor", "no cursor on stdin");
		if (lf & LINE_LONG)
			die(DUO_EXIT_USAGE, "cursor", "line too long");
	} else
		xbuf_adds(&line, scur);
	cursor_init(&cur, kind);
	if (cursor_parse(&cur, kind, line.p, line.len, err) == -1)
		die(DUO_EXIT_USAGE, "cursor", err);
	buf_init(&start);
	json_compact(&start, line.p, line.len);
	buf_free(&line);

	memset(&conf, 0, sizeof conf);
	if (conf_load(&conf, cpath, err) == -1)
		die(DUO_EXIT_USAGE, NULL, err);

	bound = now - lag;
	if (until >= 0 && until < bound)
		bound = until;
	cursor_since(&cur, since);
	if (cursor_clamp(&cur, now, &from, &to)) {
		char a[64], b[64];

		isotime(a, sizeof a, from);
		isotime(b, sizeof b, to);
		msg("start is older than Duo keeps logs (180 days); "
		    "skipped %s to %s", a, b);
	}

	memset(&hopts, 0, sizeof hopts);
	hopts.on_wait = on_wait;
	if (http_new(&http, &conf, &hopts, err) == -1)
		die(DUO_EXIT_FAIL, kindname, err);

	buf_init(&out);
	if (ctl) {
		xbuf_adds(&out, "{\"@duo\":\"begin\",\"v\":1,\"kind\":\"");
		xbuf_adds(&out, kindname);
		xbuf_adds(&out, "\",\"host\":\"");
		json_escape(&out, conf.host, strlen(conf.host));
		xbuf_adds(&out, "\",\"cursor\":");
		xbuf_add(&out, start.p, start.len);
		xbuf_adds(&out, "}\n");
		put(&out, err);
	}
	more = cursor_request(&cur, bound, limit, &req);
	n = 0;
	while (more) {
		rc = http_get(http, req.path, req.params, req.nparams, &body,
		    &blen, err);
		if (rc != 0) {
			endprogress();
			fprintf(stderr, "duo-get: %s: %s\n", kindname, err);
			exit(rc);
		}
		if (cursor_page(&cur, body, blen, bound, limit, &out, &n,
		    &flags, err) == -1) {
			endprogress();
			fprintf(stderr, "duo-get: %s: bad response: %s\n",
			    kindname, err);
			exit(DUO_EXIT_FAIL);
		}
		pages++;
		records += (long long)n;
		if (flags & CURSOR_NOPROGRESS)
			msg("Duo returned no progress (a full page of records "
			    "already delivered); moving on%s%s", "", "");
		more = cursor_request(&cur, bound, limit, &req);
		if (ctl)
			control(&out, more ? "mark" : "end", &cur, n);
		put(&out, err);
		position(&cur, where, sizeof where);
		report(pages, records, n, where);
	}
	if (pages == 0 && ctl) {
		control(&out, "end", &cur, 0);
		put(&out, err);
	}
	endprogress();
	if (verbose)
		fprintf(stderr, "duo-get: %s: done: %ld pages, %lld records, "
		    "%ld requests\n", kindname, pages, records,
		    http_requests(http));
	http_free(http);
	buf_free(&out);
	buf_free(&start);
	cursor_free(&cur);
	conf_free(&conf);
	return DUO_EXIT_OK;
}
