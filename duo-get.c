/* duo-get: page a Duo Admin API log to one JSON record per line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/duo.h"

#define CURSOR_MAXLINE	(32L * 1024 * 1024)
#define MAXBUDGET	(366L * 86400)

static const char *kindname = "duo-get";
static int verbose;
static int progress;		/* stderr is a terminal */
static int progress_shown;
static int ctl;			/* -C: control lines, the exit line */
static volatile int sig;	/* the signal that came, or 0 */

/* For the progress display. */
static int64_t t_start;		/* wall ms at start */
static int64_t pos1 = -1;	/* event time (ms) after the first page */
static int64_t t1;		/* wall ms then */
static int64_t pos = -1;	/* event time reached */
static int64_t goal;		/* event time of the bound */
static long pages;
static long long records;

static void
usage(void)
{
	fputs("usage: duo-get [-Cv] [-c conf] [-l lag] [-n limit] "
	    "[-R file] [-s cursor]\n"
	    "               [-S since] [-T seconds] [-U until] KIND\n",
	    stderr);
	if (ctl)
		fputs("{\"@duo\":\"exit\",\"status\":2}\n", stdout);
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

/* Write all of p[0..n) to stdout; a signal does not make it fail. */
static int
xwrite(const char *p, size_t n)
{
	size_t k;

	while (n > 0) {
		errno = 0;
		k = fwrite(p, 1, n, stdout);
		p += k;
		n -= k;
		if (n > 0) {
			if (errno != EINTR)
				return -1;
			clearerr(stdout);
		}
	}
	while (fflush(stdout) == EOF) {
		if (errno != EINTR)
			return -1;
		clearerr(stdout);
	}
	return 0;
}

/*
 * The end of every run under our control: with -C the exit line is the
 * last line of the output.
 */
static void
leave(int status, int more)
{
	char line[64], err[DUO_ERRLEN];

	endprogress();
	if (ctl) {
		snprintf(line, sizeof line, "{\"@duo\":\"exit\",\"status\":%d%s}\n",
		    status, more ? ",\"more\":true" : "");
		if (xwrite(line, strlen(line)) == -1 && status == 0)
			status = DUO_EXIT_FAIL;
	}
	if (out_flush(stdout, "stdout", err) == -1) {
		fprintf(stderr, "duo-get: %s\n", err);
		if (status == DUO_EXIT_OK)
			status = DUO_EXIT_FAIL;
	}
	exit(status);
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
	leave(code, 0);
}

static void
isotime(char *s, size_t n, int64_t ms)
{
	struct tm tm;

	if (compat_gmtime((time_t)(ms / 1000), &tm) == -1 ||
	    strftime(s, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(s, n, "%lld ms", (long long)ms);
}

/* "1h02m", "3m20s", "45s". */
static void
duration(char *s, size_t n, int64_t sec)
{
	if (sec >= 86400)
		snprintf(s, n, "%lldd%02lldh", (long long)(sec / 86400),
		    (long long)(sec % 86400 / 3600));
	else if (sec >= 3600)
		snprintf(s, n, "%lldh%02lldm", (long long)(sec / 3600),
		    (long long)(sec % 3600 / 60));
	else if (sec >= 60)
		snprintf(s, n, "%lldm%02llds", (long long)(sec / 60),
		    (long long)(sec % 60));
	else
		snprintf(s, n, "%llds", (long long)sec);
}

/*
 * The page under way.  cursor_page is the one validating pass over a
 * response: http_get calls it (accept_page) before it takes a 200 body,
 * so a cut or garbled body is retried and a refused one is not.
 */
static struct {
	struct cursor	*cur;
	struct buf	*out;
	int64_t		 bound;
	long		 limit;
	size_t		 n;
	int		 flags;
} pg;

static int
accept_page(void *arg, const char *body, size_t len, char *err)
{
	struct buf b;

	(void)arg;
	if (cursor_page(pg.cur, body, len, pg.bound, pg.limit, pg.out, &pg.n,
	    &pg.flags, err) == 0)
		return 0;
	/* The reason may quote the response: escaped for stderr. */
	buf_init(&b);
	xbuf_adds(&b, "bad response: ");
	http_escape_text(&b, err, strlen(err));
	seterr(err, "%s", b.p);
	buf_free(&b);
	/* Only on failure: was it JSON at all, and Duo's page? */
	switch (cursor_envelope(body, len)) {
	case -1:
		return -1;
	case 1:
		return -3;
	default:
		return -2;
	}
}

static void
on_event(void *arg, const struct http_event *ev)
{
	char line[DUO_ERRLEN + 128];
	const char *what;

	(void)arg;
	switch (ev->type) {
	case HTTP_EV_CONNFAIL:
	case HTTP_EV_PACEFILE:
		/* Always said, at once. */
		endprogress();
		fprintf(stderr, "duo-get: %s: %s%s\n", kindname,
		    ev->type == HTTP_EV_CONNFAIL ? "connection lost, "
		    "retrying: " : "", ev->why);
		return;
	case HTTP_EV_PACE:
		what = "rate limit: next request in";
		break;
	case HTTP_EV_RATE:
		what = "rate limited (429); next try in";
		break;
	default:
		what = "temporary failure; next try in";
		break;
	}
	if (!verbose && !progress)
		return;
	if (ev->why != NULL)
		snprintf(line, sizeof line, "%s %ld.%03ld s: %s", what,
		    ev->ms / 1000, ev->ms % 1000, ev->why);
	else
		snprintf(line, sizeof line, "%s %ld.%03ld s", what,
		    ev->ms / 1000, ev->ms % 1000);
	if (progress) {
		fprintf(stderr, "\r\033[Kduo-get: %s: %.70s", kindname, line);
		progress_shown = 1;
	} else
		fprintf(stderr, "duo-get: %s: %s\n", kindname, line);
}

/*
 * Where the run stands, for -v and the terminal: the event time of the
 * newest record delivered (the last record of the last page), records
 * per second, and an estimate of the time left from how fast event time
 * has moved so far.
 */
static void
report(size_t n)
{
	char at[64], eta[48], rate[48];
	int64_t now = compat_now_ms(), el = now - t_start;

	if (!progress && !verbose)
		return;
	if (pages == 1) {
		/* The first page jumps from the start to the first
		 * record: speed is measured from there on. */
		pos1 = pos;
		t1 = now;
	}
	if (pos >= 0)
		isotime(at, sizeof at, pos);
	else
		snprintf(at, sizeof at, "start");
	if (el > 0)
		snprintf(rate, sizeof rate, "%.0f records/s",
		    (double)records * 1000.0 / (double)el);
	else
		snprintf(rate, sizeof rate, "- records/s");
	eta[0] = '\0';
	if (pos1 >= 0 && pos > pos1 && goal > pos && now > t1) {
		double left = (double)(goal - pos) * (double)(now - t1) /
		    (double)(pos - pos1) / 1000.0;
		char d[32];

		duration(d, sizeof d, (int64_t)(left + 0.5));
		snprintf(eta, sizeof eta, ", about %s left", d);
	}
	if (progress) {
		fprintf(stderr, "\r\033[Kduo-get: %s: %ld pages, %lld records,"
		    " at %s, %s%s", kindname, pages, records, at, rate, eta);
		progress_shown = 1;
	} else
		fprintf(stderr, "duo-get: %s: page %ld: %zu records "
		    "(%lld in all), at %s, %s%s\n", kindname, pages, n, records,
		    at, rate, eta);
}

/* The event time of the last record of a page (out holds its lines). */
static void
newest(const struct buf *out, struct json *js)
{
	static const char *const iso[] = { "isotimestamp", "ts" };
	const char *p, *e;
	char jerr[DUO_ERRLEN];
	struct buf v;
	long long x;
	int64_t t = -1;
	size_t k;
	int i;

	if (out->len < 2)
		return;
	e = out->p + out->len - 1;	/* the last LF */
	for (p = e; p > out->p && p[-1] != '\n'; p--)
		;
	if (json_parse(js, p, (size_t)(e - p), jerr) == -1 || js->ntok < 1 ||
	    js->tok[0].type != JSMN_OBJECT)
		return;
	buf_init(&v);
	for (k = 0; k < 2 && t < 0; k++, buf_reset(&v))
		if ((i = json_get(js, 0, iso[k])) >= 0 &&
		    js->tok[i].type == JSMN_STRING &&
		    json_str(js, i, &v) == 0 && v.len > 0 &&
		    iso8601_ms(v.p, v.len, 0, &t) == -1)
			t = -1;
	if (t < 0 && (i = json_get(js, 0, "surfaced_timestamp")) >= 0 &&
	    json_int(js, i, &x) == 0)
		t = x;
	if (t < 0 && (i = json_get(js, 0, "timestamp")) >= 0 &&
	    json_int(js, i, &x) == 0)
		t = x * 1000;
	buf_free(&v);
	if (t > pos)
		pos = t;
}

static void
put(struct buf *out, char *err)
{
	if (out->len > 0 && xwrite(out->p, out->len) == -1) {
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

static void
interrupted(void)
{
	char s[32];

	snprintf(s, sizeof s, "%d", sig);
	msg("interrupted by signal %s%s; every complete page is written",
	    s, "");
	leave(DUO_EXIT_TEMP, 0);
}

int
main(int argc, char *argv[])
{
	struct duo_conf conf;
	struct cursor cur;
	struct cursor_req req;
	struct http_opts hopts;
	struct http *http;
	struct json js;
	struct buf line, out, start;
	char err[DUO_ERRLEN];
	const char *cpath = NULL, *scur = "{}", *ssince = "1d", *suntil = NULL;
	const char *slag = "120", *pacefile = NULL;
	int ch, kind, flags, rc, lf, more;
	int64_t now, since, until = -1, lag, bound, from, to;
	long limit = 0, budget = -1, n429;
	size_t n;
	char *end;
	const char *body;
	size_t blen;

	compat_init(&argc, &argv);
	(void)compat_nodump();
	t_start = compat_now_ms();
	while ((ch = getopt(argc, argv, "CR:S:T:U:c:l:n:s:v")) != -1) {
		switch (ch) {
		case 'C':
			ctl = 1;
			break;
		case 'R':
			pacefile = optarg;
			break;
		case 'S':
			ssince = optarg;
			break;
		case 'T':
			budget = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || budget < 1 ||
			    budget > MAXBUDGET)
				die(DUO_EXIT_USAGE, "-T", "want seconds, from 1 "
				    "to 31622400");
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
	compat_catch_signals(&sig);

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
			die(sig ? DUO_EXIT_TEMP : DUO_EXIT_FAIL, "stdin",
			    sig ? "interrupted" : "read error");
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
	/* conf_load keeps the one copy and wipes DUO_SKEY. */
	rc = conf_load(&conf, cpath, err);
	if (rc == -1)
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
	goal = bound;

	memset(&hopts, 0, sizeof hopts);
	hopts.on_event = on_event;
	hopts.accept = accept_page;
	hopts.stop = &sig;
	hopts.pace_file = pacefile;
	if (budget > 0)
		hopts.deadline = t_start + (int64_t)budget * 1000;
	if ((rc = http_new(&http, &conf, &hopts, err)) != 0)
		die(rc, kindname, err);

	buf_init(&out);
	json_init(&js);
	pg.cur = &cur;
	pg.out = &out;
	pg.bound = bound;
	pg.limit = limit;
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
		if (sig)
			break;
		n429 = http_rate_limited(http);
		rc = http_get(http, req.path, req.params, req.nparams, &body,
		    &blen, err);
		if (rc == HTTP_INTERRUPTED)
			break;
		if (rc == HTTP_BUDGET) {
			/* Rate limited up to the budget without a single
			 * page is a temporary failure; anything else is a
			 * budget stop with the backlog left for later. */
			if (pages == 0 && http_rate_limited(http) > n429) {
				msg("%s%s", err, "");
				http_free(http);
				leave(DUO_EXIT_TEMP, 0);
			}
			if (verbose)
				msg("run budget reached after %s pages; more "
				    "to fetch%s", pages > 0 ? "complete" : "no",
				    "");
			http_free(http);
			leave(DUO_EXIT_OK, 1);
		}
		if (rc != 0) {
			endprogress();
			fprintf(stderr, "duo-get: %s: %s\n", kindname, err);
			http_free(http);
			leave(rc, 0);
		}
		/* accept_page took the page: out, n and flags hold it. */
		(void)body;
		(void)blen;
		n = pg.n;
		flags = pg.flags;
		pages++;
		records += (long long)n;
		if (flags & CURSOR_NOPROGRESS)
			msg("Duo returned no progress (a full page of records "
			    "already delivered); moving on%s%s", "", "");
		newest(&out, &js);
		more = cursor_request(&cur, bound, limit, &req);
		if (!more)
			pos = goal;
		if (ctl)
			control(&out, more ? "mark" : "end", &cur, n);
		put(&out, err);
		report(n);
	}
	if (sig) {
		http_free(http);
		interrupted();
	}
	if (pages == 0 && ctl) {
		control(&out, "end", &cur, 0);
		put(&out, err);
	}
	endprogress();
	if (verbose)
		fprintf(stderr, "duo-get: %s: done: %ld pages, %lld records, "
		    "%ld requests, %ld rate limited\n", kindname, pages,
		    records, http_requests(http), http_rate_limited(http));
	http_free(http);
	json_free(&js);
	buf_free(&out);
	buf_free(&start);
	cursor_free(&cur);
	conf_free(&conf);
	leave(DUO_EXIT_OK, 0);
	return DUO_EXIT_OK;
}
