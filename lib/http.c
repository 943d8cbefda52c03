/*
 * http: the one libcurl easy handle of a run.  Every libcurl call of the
 * project lives in this file.  HTTPS only (TLS 1.2 or later), no
 * redirects, peer and host verification always on, one connection reused
 * for every page, a fresh Date and signature for every request and retry,
 * capped exponential backoff with jitter for what is temporary, and a
 * pacer for Duo's rate limit.
 *
 * The pacer.  Duo answers 429 (code 42901, no Retry-After) when an
 * endpoint's token bucket is empty.  With a bucket that refills one token
 * every I ms, a request sent s ms after the last successful one succeeds
 * when s >= I (the bucket was emptied by that success) and fails when
 * s < I.  So every success at spacing s says I <= s (hi), every 429 at
 * spacing s says I > s (lo).  Requests are paced at hi; while [lo, hi]
 * is wider than HTTP_PACE_TIGHT per mille of hi, each request is a probe
 * at a shorter spacing (the middle of the bracket, or, while lo is below
 * half of hi, galloping down from hi), so the bracket narrows with few
 * 429s; a failed probe is followed by a request at the safe spacing.
 * After a 429 the pacer waits a full interval (hi, or HTTP_PACE_GUESS
 * base steps while nothing is known).  A 429 at a spacing the bracket
 * called safe means the limit changed: the bracket is rebuilt around it.
 * The bracket and the time of the last success are kept in the -R state
 * file, so consecutive runs share them.  Measured intervals are real
 * milliseconds; only the guesses and the backoff scale with the base.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "duo.h"

#ifndef DUO_VERSION
#define DUO_VERSION	"0.1"
#endif

#define PACE_MAXFILE	4096
#define NSECRET		4

struct pace {
	int64_t	 lo;		/* ms: the interval is more than this */
	int64_t	 hi;		/* ms: at most this; 0 unknown (no limit seen) */
	int64_t	 last;		/* wall ms of the last success's send, or 0 */
	long	 since;		/* successes since the last probe */
	int	 step;		/* gallop: probe at hi * (1 - 3% * 2^step) */
	int	 learning;	/* a 429 came, no success since to learn hi */
	int	 noprobe;	/* a probe failed: the next request is safe */
	int	 dirty;
};

struct http {
	CURL			*curl;
	const struct duo_conf	*conf;
	struct http_opts	 opts;
	struct buf		 url;
	struct buf		 body;
	struct buf		 hdr;
	struct json		 ejs;	/* error bodies only */
	struct pace		 pace;
	char			*ua;
	char			*secret[NSECRET];	/* redacted in messages */
	char			 proxyshow[256];	/* proxy, redacted */
	int			 oversize;
	int			 connected;	/* a response came this run */
	int			 connfail;	/* connection failures reported */
	long			 maxbody;	/* cap on one response */
	long			 retry_max;	/* 0: no count limit */
	long			 nreq;
	long			 n429;
	int64_t			 pagems;	/* expected ms of one request */
	char			 cerr[CURL_ERROR_SIZE];
};

/* Outcome of one attempt. */
enum { TRY_OK, TRY_FAIL, TRY_TEMP, TRY_RATE, TRY_CONN, TRY_INTR };

static size_t
write_cb(char *p, size_t sz, size_t n, void *arg)
{
	struct http *h = arg;

	n *= sz;
	if (h->body.len + n > (size_t)h->maxbody) {
		h->oversize = 1;
		return 0;
	}
	xbuf_add(&h->body, p, n);
	return n;
}

/* A signal abandons the request in flight. */
static int
xfer_cb(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	struct http *h = arg;

	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return h->opts.stop != NULL && *h->opts.stop != 0;
}

static long
env_long(const char *name, long def, long lo, long hi)
{
	const char *s;
	char *end;
	long v;

	if ((s = getenv(name)) == NULL || *s == '\0')
		return def;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return def;
	return v;
}

static int
stopped(const struct http *h)
{
	return h->opts.stop != NULL && *h->opts.stop != 0;
}

/* Sleep in short slices so that a signal ends the wait. */
static int
nap(struct http *h, long ms)
{
	int64_t end = compat_now_ms() + ms, left;

	/* By the clock, so that oversleeping does not add up. */
	while ((left = end - compat_now_ms()) > 0) {
		if (stopped(h))
			return -1;
		compat_sleep_ms(left < 50 ? (long)left : 50);
	}
	return stopped(h) ? -1 : 0;
}

void
http_escape_text(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, k, len;
	unsigned int c;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (c >= 0x20 && c < 0x7f) {
			if (c == '\\')
				xbuf_adds(b, "\\\\");
			else
				xbuf_addc(b, (int)c);
			continue;
		}
		if (c == '\n') {
			xbuf_adds(b, "\\n");
			continue;
		}
		if (c == '\r') {
			xbuf_adds(b, "\\r");
			continue;
		}
		if (c == '\t') {
			xbuf_adds(b, "\\t");
			continue;
		}
		/* UTF-8 passes when well formed and not a C1 control. */
		len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 :
		    c >= 0xc2 && c < 0xe0 ? 2 : 0;
		if (c >= 0xf5)
			len = 0;
		if (len > 0 && i + len <= n) {
			unsigned int cp = c & (0xff >> (len + 1));

			for (k = 1; k < len; k++) {
				if ((p[i + k] & 0xc0) != 0x80)
					break;
				cp = cp << 6 | (p[i + k] & 0x3f);
			}
			if (k == len && !(len == 3 && cp < 0x800) &&
			    !(len == 4 && (cp < 0x10000 || cp > 0x10ffff)) &&
			    !(cp >= 0xd800 && cp < 0xe000) &&
			    !(cp >= 0x80 && cp < 0xa0) && cp != 0x2028 &&
			    cp != 0x2029) {
				xbuf_add(b, p + i, len);
				i += len - 1;
				continue;
			}
		}
		xbuf_printf(b, "\\x%02x", c);
	}
}

/* Escape err in place (it may hold text from the network). */
static void
clean(char *err)
{
	struct buf b;

	buf_init(&b);
	http_escape_text(&b, err, strlen(err));
	seterr(err, "%s", b.p != NULL ? b.p : "");
	buf_free(&b);
}

/* Replace every "://userinfo@" and every proxy secret in err. */
static void
redact(const struct http *h, char *err)
{
	char tmp[DUO_ERRLEN];
	char *p, *q, *at;
	size_t i, n;

	for (p = err; (p = strstr(p, "://")) != NULL; p += 3) {
		q = p + 3;
		n = strcspn(q, "/ \t'\"");
		at = NULL;
		for (i = 0; i < n; i++)
			if (q[i] == '@')
				at = q + i;
		if (at != NULL && at > q) {
			snprintf(tmp, sizeof tmp, "%.*s***%s", (int)(q - err),
			    err, at);
			memcpy(err, tmp, DUO_ERRLEN);
		}
	}
	for (i = 0; i < NSECRET; i++) {
		if (h->secret[i] == NULL || *h->secret[i] == '\0' ||
		    strstr("***", h->secret[i]) != NULL)
			continue;
		n = strlen(h->secret[i]);
		while ((p = strstr(err, h->secret[i])) != NULL) {
			snprintf(tmp, sizeof tmp, "%.*s***%s", (int)(p - err),
			    err, p + n);
			memcpy(err, tmp, DUO_ERRLEN);
		}
	}
}

/*
 * Check duo.conf's http_proxy: [scheme://][user[:password]@]host[:port][/].
 * Keeps its user and password (raw and decoded) to redact them later.
 */
static int
proxy_check(struct http *h, const char *proxy, char *err)
{
	static const char *const schemes[] = { "http", "https", "socks4",
	    "socks4a", "socks5", "socks5h" };
	CURLU *u;
	CURLUcode uc;
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
	char *v = NULL;
	const char *p;
	size_t i;
	int ret = -1, k = 0;

	/* Secrets first, so that no message below can show them. */
	if ((p = strstr(proxy, "://")) != NULL)
		p += 3;
	else
		p = proxy;
	if (strchr(p, '@') != NULL) {
		const char *at = strrchr(p, '@'), *colon;

		colon = memchr(p, ':', (size_t)(at - p));
		if (colon != NULL && at - colon > 1)
			h->secret[k++] = xstrndup(colon + 1,
			    (size_t)(at - colon - 1));
	}
	snprintf(h->proxyshow, sizeof h->proxyshow, "%s", proxy);
	redact(h, h->proxyshow);
	for (p = proxy; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return seterr(err, "http_proxy: not a valid URL "
			    "(space or control character): %s", h->proxyshow);
	if ((u = curl_url()) == NULL)
		return seterr(err, "libcurl: out of memory");
	uc = curl_url_set(u, CURLUPART_URL, proxy, CURLU_DEFAULT_SCHEME |
	    CURLU_NON_SUPPORT_SCHEME);
	if (uc != CURLUE_OK) {
		seterr(err, "http_proxy: not a valid URL (%s): %s",
		    curl_url_strerror(uc), h->proxyshow);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PASSWORD, &v, CURLU_URLDECODE) ==
	    CURLUE_OK && v != NULL && k < NSECRET)
		h->secret[k++] = xstrdup(v);
	curl_free(v);
	v = NULL;
	redact(h, h->proxyshow);
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    *host == '\0') {
		seterr(err, "http_proxy: not a valid URL (no host): %s",
		    h->proxyshow);
		goto out;
	}
	for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
		if (strcmp(scheme, schemes[i]) == 0)
			break;
	if (i == sizeof schemes / sizeof schemes[0]) {
		seterr(err, "http_proxy: unsupported scheme \"%s\" (http, "
		    "https, socks4, socks4a, socks5, socks5h): %s", scheme,
		    h->proxyshow);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK &&
	    (port == NULL || atol(port) < 1 || atol(port) > 65535)) {
		seterr(err, "http_proxy: bad port: %s", h->proxyshow);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
	    path != NULL && strcmp(path, "/") != 0 && *path != '\0') {
		seterr(err, "http_proxy: a proxy URL has no path: %s",
		    h->proxyshow);
		goto out;
	}
	ret = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return ret;
}

/* ---- pacer state file ---- */

static void
note(struct http *h, int type, long ms, const char *why)
{
	struct http_event ev;

	if (h->opts.on_event == NULL)
		return;
	memset(&ev, 0, sizeof ev);
	ev.type = type;
	ev.ms = ms;
	ev.why = why;
	h->opts.on_event(h->opts.arg, &ev);
}

static void
pace_load(struct http *h)
{
	struct json js;
	struct compat_stat st;
	char buf[PACE_MAXFILE], why[DUO_ERRLEN], jerr[DUO_ERRLEN];
	long long lo = 0, hi = 0, last = 0, np = 0;
	ssize_t r;
	size_t len = 0;
	int fd, i;

	if (h->opts.pace_file == NULL)
		return;
	if (compat_lstat(h->opts.pace_file, &st) == -1)
		return;		/* missing: start fresh */
	if ((fd = compat_open(h->opts.pace_file, COMPAT_RD, why)) == -1) {
		note(h, HTTP_EV_PACEFILE, 0, why);
		return;
	}
	while (len < sizeof buf - 1 &&
	    (r = compat_read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)r;
	compat_close(fd);
	json_init(&js);
	if (json_parse(&js, buf, len, jerr) == -1 || js.ntok < 1 ||
	    js.tok[0].type != JSMN_OBJECT ||
	    (i = json_get(&js, 0, "lo")) < 0 || json_int(&js, i, &lo) == -1 ||
	    (i = json_get(&js, 0, "hi")) < 0 || json_int(&js, i, &hi) == -1 ||
	    (i = json_get(&js, 0, "last")) < 0 ||
	    json_int(&js, i, &last) == -1 || lo < 0 || hi < 0 ||
	    hi > 86400000LL || last < 0 || (hi > 0 && lo > hi)) {
		seterr(why, "%s: corrupt pacer state; starting fresh",
		    h->opts.pace_file);
		note(h, HTTP_EV_PACEFILE, 0, why);
	} else {
		h->pace.lo = lo;
		h->pace.hi = hi;
		h->pace.last = last;
		/* A probe that failed last run: start at the safe spacing. */
		if ((i = json_get(&js, 0, "np")) >= 0 &&
		    json_int(&js, i, &np) == 0 && np == 1)
			h->pace.noprobe = 1;
		if (last > compat_now_ms())
			h->pace.last = 0;
	}
	json_free(&js);
}

static void
pace_save(struct http *h)
{
	struct buf b, tmp;
	char why[DUO_ERRLEN];
	unsigned int r = 0;
	int fd;

	if (h->opts.pace_file == NULL || !h->pace.dirty)
		return;
	h->pace.dirty = 0;
	buf_init(&b);
	buf_init(&tmp);
	xbuf_printf(&b, "{\"v\":1,\"lo\":%lld,\"hi\":%lld,\"last\":%lld,"
	    "\"np\":%d}\n", (long long)h->pace.lo, (long long)h->pace.hi,
	    (long long)h->pace.last, h->pace.noprobe);
	(void)compat_random(&r, sizeof r);
	xbuf_printf(&tmp, "%s.%08x.tmp", h->opts.pace_file, r);
	fd = compat_open(tmp.p, COMPAT_RDWR | COMPAT_CREAT | COMPAT_EXCL,
	    why);
	if (fd == -1) {
		note(h, HTTP_EV_PACEFILE, 0, why);
		h->opts.pace_file = NULL;	/* said once */
		goto out;
	}
	if (compat_pwrite(fd, b.p, b.len, 0) == -1) {
		seterr(why, "%s: cannot write", tmp.p);
		compat_close(fd);
		(void)compat_unlink(tmp.p, why);
		note(h, HTTP_EV_PACEFILE, 0, why);
		h->opts.pace_file = NULL;
		goto out;
	}
	compat_close(fd);
	if (compat_rename(tmp.p, h->opts.pace_file, why) == -1) {
		char ign[DUO_ERRLEN];

		(void)compat_unlink(tmp.p, ign);
		note(h, HTTP_EV_PACEFILE, 0, why);
		h->opts.pace_file = NULL;
	}
out:
	buf_free(&b);
	buf_free(&tmp);
}

/* The spacing the next request keeps after the last success (0: none). */
static int64_t
pace_spacing(struct http *h, int *probe)
{
	struct pace *p = &h->pace;
	int64_t s, mid;

	*probe = 0;
	if (p->hi <= 0 || p->last == 0)
		return 0;
	if (!p->noprobe && ((p->hi - p->lo) * 1000 > p->hi * HTTP_PACE_TIGHT ||
	    p->since >= HTTP_PACE_REPROBE)) {
		/* Bisect a bracket known from both sides; gallop down
		 * from hi while lo says little (a burst drained). */
		s = p->hi - p->hi * 3 * ((int64_t)1 << p->step) / 100;
		mid = p->lo + (p->hi - p->lo) / 2;
		if (s < mid || p->lo * 2 >= p->hi)
			s = mid;
		if (s < p->hi) {
			*probe = 1;
			return s;
		}
	}
	/* A small margin for the jitter of both clocks. */
	return p->hi + p->hi * HTTP_PACE_MARGIN / 1000;
}

/* Learn from an attempt sent at wall time sent (ms). */
static void
pace_learn(struct http *h, int outcome, int64_t sent, int probe)
{
	struct pace *p = &h->pace;
	int64_t s = p->last != 0 && sent > p->last ? sent - p->last : -1;

	if (outcome == TRY_RATE) {
		if (s >= 0) {
			if (p->hi > 0 && s >= p->hi) {
				/* The safe spacing failed: the limit is
				 * slower than we knew; rebuild. */
				p->lo = s;
				p->hi = s + s * HTTP_PACE_REBUILD / 1000 + 1;
			} else if (s > p->lo)
				p->lo = s;
		}
		if (p->hi <= 0)
			p->learning = 1;
		p->noprobe = probe;
		p->step = 0;
		p->since = 0;
		p->dirty = 1;
		return;
	}
	if (outcome != TRY_OK)
		return;
	if (p->learning || p->hi > 0) {
		if (s >= 0) {
			if (p->hi <= 0 || s < p->hi)
				p->hi = s;
			if (p->lo >= p->hi)
				p->lo = p->hi * 9 / 10;
		} else if (p->hi <= 0) {
			/* No earlier success known: the wait is a guess. */
			p->hi = h->opts.retry_base_ms * HTTP_PACE_GUESS;
		}
		p->learning = 0;
		p->noprobe = 0;
		if (probe) {
			if (p->step < 4)
				p->step++;
			p->since = 0;
		} else
			p->since++;
		p->dirty = 1;
	}
	p->last = sent;
}

/* ---- setup ---- */

int
http_new(struct http **hp, const struct duo_conf *conf,
    const struct http_opts *opts, char *err)
{
	struct http *h;
	CURL *c;
	long timeout, ctimeout;

	*hp = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return seterr(err, "libcurl: initialisation failed"),
		    DUO_EXIT_FAIL;
	if ((c = curl_easy_init()) == NULL) {
		curl_global_cleanup();
		return seterr(err, "libcurl: cannot create a handle"),
		    DUO_EXIT_FAIL;
	}
	h = xcalloc(1, sizeof *h);
	h->curl = c;
	h->conf = conf;
	if (opts != NULL)
		h->opts = *opts;
	if (h->opts.retry_base_ms <= 0)
		h->opts.retry_base_ms = env_long("DUO_RETRY_BASE_MS",
		    HTTP_RETRY_BASE, 0, 600000);
	h->retry_max = h->opts.retry_max > 0 ? h->opts.retry_max :
	    env_long("DUO_RETRY_MAX", 0, 1, 1000000);
	/* The cap may be lowered, never raised. */
	h->maxbody = env_long("DUO_MAX_BODY", HTTP_MAXBODY, 1024,
	    HTTP_MAXBODY);
	buf_init(&h->url);
	buf_init(&h->body);
	buf_init(&h->hdr);
	json_init(&h->ejs);
	if (conf->user_agent != NULL && *conf->user_agent != '\0')
		h->ua = xstrdup(conf->user_agent);
	else
		h->ua = xstrdup("duopipe/" DUO_VERSION);
	timeout = conf->timeout > 0 ? conf->timeout : HTTP_TIMEOUT;
	ctimeout = timeout < HTTP_CONNECT_TIMEOUT ? timeout :
	    HTTP_CONNECT_TIMEOUT;
	if (conf->http_proxy != NULL && *conf->http_proxy != '\0' &&
	    proxy_check(h, conf->http_proxy, err) == -1) {
		http_free(h);
		return DUO_EXIT_USAGE;
	}

#define SET(opt, val) do {						\
	if (curl_easy_setopt(c, opt, val) != CURLE_OK) {		\
		seterr(err, "libcurl: cannot set %s", #opt);		\
		goto fail;						\
	}								\
} while (0)
	SET(CURLOPT_ERRORBUFFER, h->cerr);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
	/* TLS 1.2 at least, whatever the OpenSSL configuration allows. */
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_PROXY_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (conf->cafile != NULL && *conf->cafile != '\0') {
		/* The only trust anchor: no compiled-in CA directory. */
		SET(CURLOPT_CAINFO, conf->cafile);
		SET(CURLOPT_CAPATH, NULL);
	} else {
#ifdef _WIN32
		/* No CA file in the Windows build: the system store. */
		SET(CURLOPT_SSL_OPTIONS, (long)CURLSSLOPT_NATIVE_CA);
#endif
	}
	if (conf->http_proxy != NULL && *conf->http_proxy != '\0') {
		/* user:pass@ in the URL becomes Basic proxy auth. */
		SET(CURLOPT_PROXY, conf->http_proxy);
		SET(CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
	}
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, ctimeout);
	SET(CURLOPT_TIMEOUT, timeout);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->maxbody);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_USERAGENT, h->ua);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, h);
	SET(CURLOPT_XFERINFOFUNCTION, xfer_cb);
	SET(CURLOPT_XFERINFODATA, h);
	SET(CURLOPT_NOPROGRESS, 0L);
	SET(CURLOPT_HTTPGET, 1L);
#undef SET
	pace_load(h);
	*hp = h;
	return 0;
fail:
	http_free(h);
	return DUO_EXIT_FAIL;
}

void
http_free(struct http *h)
{
	size_t i;

	if (h == NULL)
		return;
	pace_save(h);
	curl_easy_cleanup(h->curl);
	curl_global_cleanup();
	buf_free(&h->url);
	buf_free(&h->body);
	buf_free(&h->hdr);
	json_free(&h->ejs);
	free(h->ua);
	for (i = 0; i < NSECRET; i++)
		free(h->secret[i]);
	free(h);
}

long
http_requests(const struct http *h)
{
	return h->nreq;
}

long
http_rate_limited(const struct http *h)
{
	return h->n429;
}

int64_t
http_interval(const struct http *h)
{
	return h->pace.hi;
}

/* Is the curl error one that waiting will not cure? */
static int
curl_fatal(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_CONNECT_ERROR:	/* handshake: protocol, cipher */
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_TOO_MANY_REDIRECTS:
		return 1;
	default:
		return 0;
	}
}

/* Could the connection not be made at all (host, port, proxy)? */
static int
curl_noconn(CURL *c, CURLcode rc)
{
	double t = 0;

	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return 1;
	case CURLE_OPERATION_TIMEDOUT:
		(void)curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &t);
		return t <= 0;
	default:
		return 0;
	}
}

/* "429 42901: Too Many Requests: detail" from a Duo error body. */
static void
duo_error(const struct json *js, long status, char *err)
{
	struct buf msg, det, m, d;
	long long code = 0;
	int i;

	buf_init(&msg);
	buf_init(&det);
	buf_init(&m);
	buf_init(&d);
	if (js->ntok > 0 && js->tok[0].type == JSMN_OBJECT) {
		if ((i = json_get(js, 0, "code")) >= 0 &&
		    json_int(js, i, &code) == -1)
			code = 0;
		if ((i = json_get(js, 0, "message")) >= 0 &&
		    js->tok[i].type == JSMN_STRING)
			(void)json_str(js, i, &msg);
		if ((i = json_get(js, 0, "message_detail")) >= 0 &&
		    js->tok[i].type == JSMN_STRING)
			(void)json_str(js, i, &det);
	}
	/* Text from the network: never raw on a terminal or in mail. */
	http_escape_text(&m, msg.p != NULL ? msg.p : "", msg.len);
	http_escape_text(&d, det.p != NULL ? det.p : "", det.len);
	xbuf_adds(&m, "");
	xbuf_adds(&d, "");
	if (m.len == 0)
		xbuf_adds(&m, status == 200 ? "request failed" :
		    "unexpected response");
	if (code != 0 && d.len > 0)
		seterr(err, "%ld %lld: %s: %s", status, code, m.p, d.p);
	else if (code != 0)
		seterr(err, "%ld %lld: %s", status, code, m.p);
	else if (d.len > 0)
		seterr(err, "%ld: %s: %s", status, m.p, d.p);
	else
		seterr(err, "HTTP %ld: %s", status, m.p);
	buf_free(&msg);
	buf_free(&det);
	buf_free(&m);
	buf_free(&d);
}

static int
attempt(struct http *h, const char *path, const struct sign_param *params,
    size_t nparams, int64_t *sent, char *err)
{
	struct curl_slist *hdrs = NULL, *l;
	struct sign_req req;
	struct buf canon, auth;
	struct json *js = &h->ejs;
	char date[64], jerr[DUO_ERRLEN];
	CURLcode rc;
	curl_off_t pre = 0;
	int64_t t0;
	long status = 0, pcode = 0;
	int ret, env;

	buf_init(&canon);
	buf_init(&auth);
	buf_reset(&h->url);
	buf_reset(&h->body);
	h->oversize = 0;
	h->cerr[0] = '\0';

	sign_params(&canon, params, nparams);
	xbuf_printf(&h->url, "https://%s%s", h->conf->host, path);
	if (canon.len > 0) {
		xbuf_addc(&h->url, '?');
		xbuf_add(&h->url, canon.p, canon.len);
	}
	sign_date(date, sizeof date, time(NULL));
	memset(&req, 0, sizeof req);
	req.version = 5;
	req.sha512 = 1;
	req.method = "GET";
	req.host = h->conf->host;
	req.path = path;
	req.date = date;
	req.params = params;
	req.nparams = nparams;
	if (sign_auth(&req, h->conf->ikey, h->conf->skey, &auth, err) == -1) {
		buf_free(&canon);
		buf_wipe(&auth);
		return TRY_FAIL;
	}
	buf_reset(&h->hdr);
	xbuf_printf(&h->hdr, "Date: %s", date);
	l = curl_slist_append(hdrs, h->hdr.p);
	if (l == NULL)
		goto oom;
	hdrs = l;
	buf_reset(&h->hdr);
	xbuf_adds(&h->hdr, "Authorization: ");
	xbuf_add(&h->hdr, auth.p, auth.len);
	l = curl_slist_append(hdrs, h->hdr.p);
	buf_wipe(&h->hdr);
	if (l == NULL)
		goto oom;
	hdrs = l;
	if ((l = curl_slist_append(hdrs, "Accept: application/json")) == NULL)
		goto oom;
	hdrs = l;

	if (curl_easy_setopt(h->curl, CURLOPT_URL, h->url.p) != CURLE_OK ||
	    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK) {
		seterr(err, "libcurl: cannot set the request");
		ret = TRY_FAIL;
		goto out;
	}
	h->nreq++;
	t0 = compat_now_ms();
	rc = curl_easy_perform(h->curl);
	(void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	(void)curl_easy_getinfo(h->curl, CURLINFO_HTTP_CONNECTCODE, &pcode);
	/* When the request itself left: after connect and handshake. */
	if (curl_easy_getinfo(h->curl, CURLINFO_PRETRANSFER_TIME_T, &pre) !=
	    CURLE_OK)
		pre = 0;
	*sent = t0 + (int64_t)(pre / 1000);
	if (rc == CURLE_OK || status != 0)
		h->connected = 1;

	if (rc == CURLE_ABORTED_BY_CALLBACK && stopped(h)) {
		seterr(err, "interrupted");
		ret = TRY_INTR;
		goto out;
	}
	if (pcode == 407) {
		seterr(err, "proxy: 407 proxy authentication required");
		ret = TRY_FAIL;
		goto out;
	}
	if (rc != CURLE_OK) {
		if (h->oversize || rc == CURLE_FILESIZE_EXCEEDED) {
			seterr(err, "response larger than %ld bytes; "
			    "try a smaller -n", h->maxbody);
			ret = TRY_FAIL;
		} else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
			seterr(err, "%s: host not found (check host in "
			    "duo.conf)", h->conf->host);
			ret = TRY_CONN;
		} else if (rc == CURLE_COULDNT_RESOLVE_PROXY) {
			seterr(err, "proxy %s: host not found (check "
			    "http_proxy in duo.conf)", h->proxyshow);
			ret = TRY_CONN;
		} else if (curl_noconn(h->curl, rc)) {
			seterr(err, "cannot connect to %s%s%s: %s%s%s",
			    h->proxyshow[0] ? "proxy " : "",
			    h->proxyshow[0] ? h->proxyshow : h->conf->host,
			    h->proxyshow[0] ? " (for the host in duo.conf)" :
			    "", curl_easy_strerror(rc), h->cerr[0] ? ": " : "",
			    h->cerr);
			ret = TRY_CONN;
		} else {
			seterr(err, "%s%s%s", curl_easy_strerror(rc),
			    h->cerr[0] ? ": " : "", h->cerr);
			ret = curl_fatal(rc) ? TRY_FAIL : TRY_TEMP;
		}
		/* libcurl's text may quote the network (names, certs). */
		clean(err);
		goto out;
	}
	if (status == 200) {
		/*
		 * One structural pass over the envelope; the page itself is
		 * validated and taken record by record by cursor_page.
		 */
		if (h->opts.accept != NULL) {
			env = h->opts.accept(h->opts.arg, h->body.p ?
			    h->body.p : "", h->body.len, err);
			if (env == -3) {
				/* A page of Duo's, refused by its reader
				 * (wrong shape, an injected control line):
				 * its reason, not Duo's. */
				ret = TRY_FAIL;
				goto out;
			}
			env = env == 0 ? 1 : env == -1 ? -1 : 0;
		} else
			env = cursor_envelope(h->body.p ? h->body.p : "",
			    h->body.len);
		if (env == -1) {
			if (h->opts.accept == NULL || err[0] == '\0')
				seterr(err, "invalid or cut-off JSON in "
				    "response");
			ret = TRY_TEMP;
			goto out;
		}
		if (env == 1) {
			int64_t d = compat_now_ms() - *sent;

			/* What the next page is expected to take. */
			if (d < 0)
				d = 0;
			h->pagems = h->pagems == 0 ? d :
			    (d > h->pagems ? d : (h->pagems * 3 + d) / 4);
			ret = TRY_OK;
			goto out;
		}
	}
	if (h->body.len > 65536 || json_parse(js, h->body.p ? h->body.p : "",
	    h->body.len, jerr) == -1)
		js->ntok = 0;
	duo_error(js, status, err);
	if (status == 200)
		ret = TRY_FAIL;
	else if (status == 429)
		ret = TRY_RATE;
	else
		ret = status >= 500 ? TRY_TEMP : TRY_FAIL;
out:
	redact(h, err);
	curl_slist_free_all(hdrs);
	buf_free(&canon);
	buf_wipe(&auth);
	return ret;
oom:
	curl_slist_free_all(hdrs);
	buf_free(&canon);
	buf_wipe(&auth);
	seterr(err, "libcurl: out of memory");
	return TRY_FAIL;
}

/* Backoff before retry n (1 = after the first failure): base * 2^(n-1),
 * capped, plus up to one base of jitter. */
static long
backoff(const struct http *h, int n)
{
	unsigned int r;
	long step, delay;

	step = n - 1 < 5 ? 1L << (n - 1) : HTTP_RETRY_CAP;
	if (step > HTTP_RETRY_CAP)
		step = HTTP_RETRY_CAP;
	delay = h->opts.retry_base_ms * step;
	if (h->opts.retry_base_ms > 0 && compat_random(&r, sizeof r) == 0)
		delay += (long)(r % (unsigned int)h->opts.retry_base_ms);
	return delay;
}

int
http_get(struct http *h, const char *path, const struct sign_param *params,
    size_t nparams, const char **body, size_t *len, char *err)
{
	char why[DUO_ERRLEN];
	int64_t now, at, gap, sent = 0, waited = 0, first429 = 0, limit;
	long delay;
	int n, ret, probe, rate = 0;

	at = 0;		/* wall time the next attempt may start */
	for (n = 1;; n++) {
		if (stopped(h))
			return seterr(err, "interrupted"), HTTP_INTERRUPTED;
		/* Pacing: keep the spacing after the last success. */
		gap = pace_spacing(h, &probe);
		if (gap > 0 && h->pace.last + gap > at)
			at = h->pace.last + gap;
		now = compat_now_ms();
		if (h->opts.deadline > 0 && (at > now ? at : now) +
		    h->pagems > h->opts.deadline) {
			if (n == 1)
				return seterr(err, "run budget reached"),
				    HTTP_BUDGET;
			memcpy(why, err, sizeof why);
			seterr(err, "giving up: the run budget ends before "
			    "the next try: %s", why);
			return rate ? HTTP_BUDGET : DUO_EXIT_TEMP;
		}
		if (at > now) {
			if (n > 1)
				note(h, rate ? HTTP_EV_RATE : HTTP_EV_RETRY,
				    (long)(at - now), err);
			else
				note(h, HTTP_EV_PACE, (long)(at - now), NULL);
			if (nap(h, (long)(at - now)) == -1)
				return seterr(err, "interrupted"),
				    HTTP_INTERRUPTED;
		}
		ret = attempt(h, path, params, nparams, &sent, err);
		if (ret == TRY_INTR)
			return HTTP_INTERRUPTED;
		pace_learn(h, ret, sent, probe);
		pace_save(h);
		if (ret == TRY_OK) {
			*body = h->body.p;
			*len = h->body.len;
			return 0;
		}
		if (ret == TRY_FAIL)
			return DUO_EXIT_FAIL;
		if (ret == TRY_CONN) {
			/* Never reached this run: say so at once and let
			 * the next run try; else report the first loss. */
			if (!h->connected)
				return DUO_EXIT_TEMP;
			if (h->connfail++ == 0)
				note(h, HTTP_EV_CONNFAIL, 0, err);
		}
		if (h->retry_max > 0 && n >= h->retry_max)
			break;
		now = compat_now_ms();
		if (ret == TRY_RATE) {
			h->n429++;
			rate = 1;
			if (first429 == 0)
				first429 = now;
			/*
			 * A failed probe only proves the shorter spacing
			 * wrong: the next try keeps the safe one.  Any
			 * other 429 waits a full interval after it.
			 */
			delay = h->pace.hi > 0 ? (long)h->pace.hi :
			    h->opts.retry_base_ms * HTTP_PACE_GUESS;
			if (h->pace.hi <= 0) {
				/* Learning: at least the spacing that just
				 * failed, plus 5%, so a spacing doubles. */
				if (h->pace.lo > delay)
					delay = (long)h->pace.lo;
				delay += delay / 20;
			}
			at = probe ? 0 : sent + delay;
			limit = h->opts.retry_base_ms * HTTP_RATE_SPAN;
			if (h->opts.deadline <= 0 && at - first429 > limit) {
				memcpy(why, err, sizeof why);
				seterr(err, "giving up: rate limited for %lld s:"
				    " %s", (long long)((at - first429) / 1000),
				    why);
				return DUO_EXIT_TEMP;
			}
		} else {
			rate = 0;
			delay = backoff(h, n);
			waited += delay;
			if (h->opts.deadline <= 0 && waited >
			    h->opts.retry_base_ms * HTTP_RETRY_SPAN &&
			    h->retry_max == 0)
				break;
			at = now + delay;
		}
	}
	if (n > 1) {
		memcpy(why, err, sizeof why);
		seterr(err, "giving up after %d attempts: %s", n, why);
	}
	return DUO_EXIT_TEMP;
}
