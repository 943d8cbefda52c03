/*
 * sign: Duo request signing, canonical strings versions 1, 2, 4 and 5,
 * HMAC through OpenSSL's one-shot HMAC(), and the Basic header.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "duo.h"

#define SHA512_HEXLEN	128

struct encpair {
	struct buf	name;
	struct buf	value;
};

static int
encpair_cmp(const void *a, const void *b)
{
	const struct encpair *x = a, *y = b;
	int r;

	/* Encoded strings are ASCII without NUL: strcmp is byte order. */
	if ((r = strcmp(x->name.p, y->name.p)) != 0)
		return r;
	return strcmp(x->value.p, y->value.p);
}

void
sign_params(struct buf *out, const struct sign_param *pp, size_t n)
{
	struct encpair *e;
	size_t i;

	xbuf_add(out, "", 0);		/* out->p is a string even if n is 0 */
	if (n == 0)
		return;
	e = xcalloc(n, sizeof *e);
	for (i = 0; i < n; i++) {
		buf_init(&e[i].name);
		buf_init(&e[i].value);
		xbuf_add(&e[i].name, "", 0);
		xbuf_add(&e[i].value, "", 0);
		urlenc_add(&e[i].name, pp[i].name, strlen(pp[i].name));
		urlenc_add(&e[i].value, pp[i].value, strlen(pp[i].value));
	}
	qsort(e, n, sizeof *e, encpair_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0)
			xbuf_addc(out, '&');
		xbuf_add(out, e[i].name.p, e[i].name.len);
		xbuf_addc(out, '=');
		xbuf_add(out, e[i].value.p, e[i].value.len);
		buf_free(&e[i].name);
		buf_free(&e[i].value);
	}
	free(e);
}

/* Append the lower-case hex SHA-512 of p[0..n). */
static int
sha512hex(struct buf *out, const void *p, size_t n, char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha512(), NULL) != 1)
		return seterr(err, "SHA-512 failed");
	hex_lower(hex, md, mdlen);
	xbuf_add(out, hex, 2 * (size_t)mdlen);
	return 0;
}

static int
xduo_cmp(const void *a, const void *b)
{
	const struct sign_param *x = a, *y = b;

	return strcasecmp(x->name, y->name);
}

/* Line 7 of v5: SHA-512 of lower-cased names and values joined by NUL. */
static int
xduo_hash(struct buf *out, const struct sign_req *r, char *err)
{
	struct sign_param *h;
	struct buf b;
	size_t i;
	const char *s;
	int rc;

	if (r->nxduo == 0)
		return sha512hex(out, "", 0, err);
	h = xcalloc(r->nxduo, sizeof *h);
	memcpy(h, r->xduo, r->nxduo * sizeof *h);
	for (i = 0; i < r->nxduo; i++)
		if (h[i].name == NULL || h[i].value == NULL ||
		    strncasecmp(h[i].name, "x-duo-", 6) != 0) {
			free(h);
			return seterr(err, "additional header name must "
			    "start with x-duo-");
		}
	qsort(h, r->nxduo, sizeof *h, xduo_cmp);
	buf_init(&b);
	xbuf_add(&b, "", 0);
	for (i = 0; i < r->nxduo; i++) {
		if (i > 0 && strcasecmp(h[i - 1].name, h[i].name) == 0) {
			seterr(err, "duplicate header %s", h[i].name);
			free(h);
			buf_free(&b);
			return -1;
		}
		if (i > 0)
			xbuf_addc(&b, '\0');
		for (s = h[i].name; *s != '\0'; s++)
			xbuf_addc(&b, (*s >= 'A' && *s <= 'Z') ?
			    *s - 'A' + 'a' : *s);
		xbuf_addc(&b, '\0');
		xbuf_adds(&b, h[i].value);
	}
	rc = sha512hex(out, b.p, b.len, err);
	free(h);
	buf_free(&b);
	return rc;
}

static int
hasnl(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

int
sign_canon(const struct sign_req *r, struct buf *out, char *err)
{
	const char *s;

	if (r->version != 1 && r->version != 2 && r->version != 4 &&
	    r->version != 5)
		return seterr(err, "signature version %d not supported",
		    r->version);
	if (r->method == NULL || *r->method == '\0' || r->host == NULL ||
	    *r->host == '\0' || r->path == NULL || *r->path == '\0')
		return seterr(err, "method, host and path are required");
	if (hasnl(r->method) || hasnl(r->host) || hasnl(r->path))
		return seterr(err, "line break in method, host or path");
	if (r->version > 1) {
		if (r->date == NULL || *r->date == '\0')
			return seterr(err, "date is required");
		if (hasnl(r->date))
			return seterr(err, "line break in date");
	}
	if (r->nxduo > 0 && r->version != 5)
		return seterr(err, "x-duo headers need signature version 5");
	if (r->version > 1) {
		xbuf_adds(out, r->date);
		xbuf_addc(out, '\n');
	}
	for (s = r->method; *s != '\0'; s++)
		xbuf_addc(out, (*s >= 'a' && *s <= 'z') ? *s - 'a' + 'A' : *s);
	xbuf_addc(out, '\n');
	for (s = r->host; *s != '\0'; s++)
		xbuf_addc(out, (*s >= 'A' && *s <= 'Z') ? *s - 'A' + 'a' : *s);
	xbuf_addc(out, '\n');
	xbuf_adds(out, r->path);
	xbuf_addc(out, '\n');
	sign_params(out, r->params, r->nparams);
	if (r->version >= 4) {
		xbuf_addc(out, '\n');
		if (sha512hex(out, r->body != NULL ? r->body : "",
		    r->body != NULL ? r->bodylen : 0, err) == -1)
			return -1;
	}
	if (r->version == 5) {
		xbuf_addc(out, '\n');
		if (xduo_hash(out, r, err) == -1)
			return -1;
	}
	return 0;
}

/* The raw HMAC of the request's canonical string. */
static int
sign_mac(const struct sign_req *r, const char *skey, unsigned char *md,
    unsigned int *mdlen, char *err)
{
	struct buf c;
	const EVP_MD *alg;

	if (skey == NULL || *skey == '\0')
		return seterr(err, "no skey");
	buf_init(&c);
	if (sign_canon(r, &c, err) == -1) {
		buf_free(&c);
		return -1;
	}
	alg = (r->version >= 4 || r->sha512) ? EVP_sha512() : EVP_sha1();
	if (HMAC(alg, skey, (int)strlen(skey), (unsigned char *)c.p, c.len,
	    md, mdlen) == NULL) {
		buf_free(&c);
		return seterr(err, "HMAC failed");
	}
	buf_free(&c);
	return 0;
}

int
sign_auth(const struct sign_req *r, const char *ikey, const char *skey,
    struct buf *out, char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	struct buf cred;
	size_t n;

	if (ikey == NULL || *ikey == '\0' || strchr(ikey, ':') != NULL)
		return seterr(err, "ikey missing or holds ':'");
	if (sign_mac(r, skey, md, &mdlen, err) == -1)
		return -1;
	hex_lower(hex, md, mdlen);
	buf_init(&cred);
	xbuf_adds(&cred, ikey);
	xbuf_addc(&cred, ':');
	xbuf_adds(&cred, hex);
	n = 4 * ((cred.len + 2) / 3);
	xbuf_adds(out, "Basic ");
	xbuf_grow(out, n);
	EVP_EncodeBlock((unsigned char *)out->p + out->len,
	    (const unsigned char *)cred.p, (int)cred.len);
	out->len += n;
	out->p[out->len] = '\0';
	OPENSSL_cleanse(md, sizeof md);
	buf_free(&cred);
	return 0;
}

static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict standard base64 with padding; -1 on anything else. */
static int
b64dec(struct buf *out, const char *s)
{
	size_t n = strlen(s), i, pad = 0;
	int v[4], j;

	if (n == 0 || n % 4 != 0)
		return -1;
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	for (i = 0; i < n; i += 4) {
		for (j = 0; j < 4; j++) {
			if (i + j >= n - pad)
				v[j] = 0;
			else if ((v[j] = b64val((unsigned char)s[i + j])) < 0)
				return -1;
		}
		xbuf_addc(out, (v[0] << 2) | (v[1] >> 4));
		if (i + 4 < n || pad < 2)
			xbuf_addc(out, ((v[1] & 15) << 4) | (v[2] >> 2));
		if (i + 4 < n || pad < 1)
			xbuf_addc(out, ((v[2] & 3) << 6) | v[3]);
	}
	return 0;
}

int
sign_verify(const struct sign_req *r, const char *ikey, const char *skey,
    const char *auth, char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned int mdlen, i;
	struct buf d;
	const char *colon, *hx;
	size_t hlen;
	int hi, lo, rc = -1;

	if (auth == NULL || strncasecmp(auth, "Basic ", 6) != 0)
		return seterr(err, "not a Basic authorization");
	buf_init(&d);
	xbuf_add(&d, "", 0);
	if (b64dec(&d, auth + 6) == -1 || strlen(d.p) != d.len ||
	    (colon = strchr(d.p, ':')) == NULL) {
		seterr(err, "malformed Basic credentials");
		goto out;
	}
	if ((size_t)(colon - d.p) != strlen(ikey) ||
	    memcmp(d.p, ikey, strlen(ikey)) != 0) {
		seterr(err, "wrong ikey");
		goto out;
	}
	if (sign_mac(r, skey, md, &mdlen, err) == -1)
		goto out;
	hx = colon + 1;
	hlen = strlen(hx);
	if (hlen != 2 * (size_t)mdlen) {
		seterr(err, "signature has the wrong length");
		goto out;
	}
	for (i = 0; i < mdlen; i++) {
		hi = hex_val((unsigned char)hx[2 * i]);
		lo = hex_val((unsigned char)hx[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			seterr(err, "signature is not hex");
			goto out;
		}
		got[i] = (unsigned char)(hi << 4 | lo);
	}
	if (CRYPTO_memcmp(md, got, mdlen) != 0) {
		seterr(err, "signature mismatch");
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(md, sizeof md);
	buf_free(&d);
	return rc;
}

void
sign_date(char *out, size_t outsz, time_t t)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	struct tm tm;

	if (compat_gmtime(t, &tm) == -1 || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		if (outsz > 0)
			out[0] = '\0';
		return;
	}
	snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d -0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Is s[0..n) valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)? */
static int
utf8_next(const unsigned char *s, size_t n, size_t *i, unsigned long *cp)
{
	unsigned long c = s[*i], min;
	size_t k, len;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 0;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2;
		c &= 0x1f;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		c &= 0x0f;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		c &= 0x07;
		min = 0x10000;
	} else
		return -1;
	if (*i + len > n)
		return -1;
	for (k = 1; k < len; k++) {
		if ((s[*i + k] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[*i + k] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	*i += len;
	return 0;
}

/* A JSON string as Python's json.dumps writes it (ensure_ascii). */
static int
json_pystr(struct buf *b, const char *str, char *err)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0;
	unsigned long c, hi, lo;

	xbuf_addc(b, '"');
	while (i < n) {
		if (utf8_next(s, n, &i, &c) == -1)
			return seterr(err, "not valid UTF-8: %s", str);
		switch (c) {
		case '"':
			xbuf_adds(b, "\\\"");
			break;
		case '\\':
			xbuf_adds(b, "\\\\");
			break;
		case '\n':
			xbuf_adds(b, "\\n");
			break;
		case '\r':
			xbuf_adds(b, "\\r");
			break;
		case '\t':
			xbuf_adds(b, "\\t");
			break;
		case '\b':
			xbuf_adds(b, "\\b");
			break;
		case '\f':
			xbuf_adds(b, "\\f");
			break;
		default:
			if (c >= 0x20 && c < 0x7f)
				xbuf_addc(b, (int)c);
			else if (c < 0x10000)
				xbuf_printf(b, "\\u%04lx", c);
			else {
				c -= 0x10000;
				hi = 0xd800 | (c >> 10);
				lo = 0xdc00 | (c & 0x3ff);
				xbuf_printf(b, "\\u%04lx\\u%04lx", hi, lo);
			}
		}
	}
	xbuf_addc(b, '"');
	return 0;
}

static int
rawname_cmp(const void *a, const void *b)
{
	const struct sign_param *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

int
sign_body_json(struct buf *out, const struct sign_param *pp, size_t n,
    char *err)
{
	const struct sign_param **v;
	size_t i, j, k;
	int rc = -1;

	xbuf_addc(out, '{');
	v = xcalloc(n ? n : 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = &pp[i];
	/*
	 * Python sorts str keys by code point; UTF-8 byte order is the
	 * same order.  A stable merge keeps repeated names' values in the
	 * order given: sort by name, then restore order within runs.
	 */
	qsort(v, n, sizeof *v, rawname_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(v[j]->name, v[i]->name) == 0;
		    j++)
			;
		/* Order each run of one name by position in pp. */
		for (k = i + 1; k < j; k++) {
			const struct sign_param *t = v[k];
			size_t m = k;

			while (m > i && v[m - 1] > t) {
				v[m] = v[m - 1];
				m--;
			}
			v[m] = t;
		}
		if (i > 0)
			xbuf_addc(out, ',');
		if (json_pystr(out, v[i]->name, err) == -1)
			goto out;
		xbuf_addc(out, ':');
		if (j - i > 1)
			xbuf_addc(out, '[');
		for (k = i; k < j; k++) {
			if (k > i)
				xbuf_addc(out, ',');
			if (json_pystr(out, v[k]->value, err) == -1)
				goto out;
		}
		if (j - i > 1)
			xbuf_addc(out, ']');
	}
	xbuf_addc(out, '}');
	rc = 0;
out:
	free(v);
	return rc;
}
