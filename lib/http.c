/*
 * http: the one libcurl easy handle of a run.  Every libcurl call of the
 * project lives in this file.  HTTPS only, no redirects, peer and host
 * verification always on, one connection reused for every page, a fresh
 * Date and signature for every request and retry, and retries with capped
 * exponential backoff and jitter for what is temporary.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "duo.h"

#ifndef DUO_VERSION
#define DUO_VERSION	"0.1"
#endif

struct http {
	CURL			*curl;
	const struct duo_conf	*conf;
	struct http_opts	 opts;
	struct buf		 url;
	struct buf		 body;
	struct buf		 hdr;
	struct json		 ejs;	/* error bodies only */
	char			*ua;
	int			 oversize;
	long			 maxbody;	/* cap on one response */
	long			 nreq;
	char			 cerr[CURL_ERROR_SIZE];
};

/* Outcome of one attempt. */
enum { TRY_OK, TRY_FAIL, TRY_TEMP };

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

int
http_new(struct http **hp, const struct duo_conf *conf,
    const struct http_opts *opts, char *err)
{
	struct http *h;
	CURL *c;
	long timeout;

	*hp = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return seterr(err, "libcurl: initialisation failed");
	if ((c = curl_easy_init()) == NULL) {
		curl_global_cleanup();
		return seterr(err, "libcurl: cannot create a handle");
	}
	h = xcalloc(1, sizeof *h);
	h->curl = c;
	h->conf = conf;
	if (opts != NULL)
		h->opts = *opts;
	if (h->opts.retry_base_ms <= 0)
		h->opts.retry_base_ms = env_long("DUO_RETRY_BASE_MS",
		    HTTP_RETRY_BASE, 0, 600000);
	if (h->opts.retry_max <= 0)
		h->opts.retry_max = (int)env_long("DUO_RETRY_MAX",
		    HTTP_RETRY_MAX, 1, 100);
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
	if (conf->cafile != NULL && *conf->cafile != '\0')
		SET(CURLOPT_CAINFO, conf->cafile);
	if (conf->http_proxy != NULL && *conf->http_proxy != '\0') {
		/* user:pass@ in the URL becomes Basic proxy auth. */
		SET(CURLOPT_PROXY, conf->http_proxy);
		SET(CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
	}
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, timeout < 30 ? timeout : 30L);
	SET(CURLOPT_TIMEOUT, timeout);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->maxbody);
	SET(CURLOPT_ACCEPT_ENCODING, "");
	SET(CURLOPT_USERAGENT, h->ua);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, h);
	SET(CURLOPT_HTTPGET, 1L);
#undef SET
	*hp = h;
	return 0;
fail:
	http_free(h);
	return -1;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	curl_global_cleanup();
	buf_free(&h->url);
	buf_free(&h->body);
	buf_free(&h->hdr);
	json_free(&h->ejs);
	free(h->ua);
	free(h);
}

long
http_requests(const struct http *h)
{
	return h->nreq;
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

/* "429 42901: Too Many Requests: detail" from a Duo error body. */
static void
duo_error(const struct json *js, long status, char *err)
{
	struct buf msg, det;
	long long code = 0;
	int i;

	buf_init(&msg);
	buf_init(&det);
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
	if (msg.len == 0)
		xbuf_adds(&msg, status == 200 ? "request failed" :
		    "unexpected response");
	if (code != 0 && det.len > 0)
		seterr(err, "%ld %lld: %s: %s", status, code, msg.p, det.p);
	else if (code != 0)
		seterr(err, "%ld %lld: %s", status, code, msg.p);
	else if (det.len > 0)
		seterr(err, "%ld: %s: %s", status, msg.p, det.p);
	else
		seterr(err, "HTTP %ld: %s", status, msg.p);
	buf_free(&msg);
	buf_free(&det);
}

static int
attempt(struct http *h, const char *path, const struct sign_param *params,
    size_t nparams, char *err)
{
	struct curl_slist *hdrs = NULL, *l;
	struct sign_req req;
	struct buf canon, auth;
	struct json *js = &h->ejs;
	char date[64], jerr[DUO_ERRLEN];
	CURLcode rc;
	long status = 0, pcode = 0;
	size_t vs, ve;
	int ret;

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
	rc = curl_easy_perform(h->curl);
	(void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	(void)curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	(void)curl_easy_getinfo(h->curl, CURLINFO_HTTP_CONNECTCODE, &pcode);

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
		} else {
			seterr(err, "%s%s%s", curl_easy_strerror(rc),
			    h->cerr[0] ? ": " : "", h->cerr);
			ret = curl_fatal(rc) ? TRY_FAIL : TRY_TEMP;
		}
		goto out;
	}
	if (status == 200) {
		/* The page itself is parsed record by record later. */
		if (cursor_scan(h->body.p ? h->body.p : "", h->body.len) ==
		    -1) {
			seterr(err, "invalid or cut-off JSON in response");
			ret = TRY_TEMP;
			goto out;
		}
		if (cursor_member(h->body.p, h->body.len, 0, "stat", &vs,
		    &ve) == 0 && ve - vs == 4 &&
		    memcmp(h->body.p + vs, "\"OK\"", 4) == 0 &&
		    cursor_member(h->body.p, h->body.len, 0, "response", &vs,
		    &ve) == 0) {
			ret = TRY_OK;
			goto out;
		}
	}
	if (h->body.len > 65536 || json_parse(js, h->body.p ? h->body.p : "",
	    h->body.len, jerr) == -1)
		js->ntok = 0;
	if (status == 200) {
		duo_error(js, status, err);
		ret = TRY_FAIL;
		goto out;
	}
	duo_error(js, status, err);
	ret = (status == 429 || status >= 500) ? TRY_TEMP : TRY_FAIL;
out:
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

int
http_get(struct http *h, const char *path, const struct sign_param *params,
    size_t nparams, const char **body, size_t *len, char *err)
{
	unsigned int r;
	long delay, step;
	int n, ret;

	for (n = 1;; n++) {
		ret = attempt(h, path, params, nparams, err);
		if (ret == TRY_OK) {
			*body = h->body.p;
			*len = h->body.len;
			return 0;
		}
		if (ret == TRY_FAIL)
			return DUO_EXIT_FAIL;
		if (n >= h->opts.retry_max)
			break;
		/* base * 2^(n-1), capped, plus up to one base of jitter */
		step = n - 1 < 5 ? 1L << (n - 1) : HTTP_RETRY_CAP;
		if (step > HTTP_RETRY_CAP)
			step = HTTP_RETRY_CAP;
		delay = h->opts.retry_base_ms * step;
		if (h->opts.retry_base_ms > 0 && compat_random(&r,
		    sizeof r) == 0)
			delay += (long)(r % (unsigned int)
			    h->opts.retry_base_ms);
		if (h->opts.on_wait != NULL)
			h->opts.on_wait(h->opts.arg, n, delay, err);
		compat_sleep_ms(delay);
	}
	if (n > 1) {
		char why[DUO_ERRLEN];

		memcpy(why, err, sizeof why);
		seterr(err, "giving up after %d attempts: %s", n, why);
	}
	return DUO_EXIT_TEMP;
}
