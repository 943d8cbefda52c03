/*
 * conf: duo.conf, the INI file of Duo's examples and of the original
 * LogRhythm integration, plus the DUO_* environment overrides.
 *
 * The file is read with open(2) and read(2) into one heap buffer (no
 * stdio buffer keeps a copy of the skey), parsed, and wiped.  The skey
 * then lives in exactly one heap string, which conf_free wipes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "duo.h"

#ifndef O_CLOEXEC
#define O_CLOEXEC	0
#endif

/*
 * Keys that duo_unix's login_duo.conf and pam_duo.conf use, so that such
 * a file (or a copy of one) can be pointed at.  They mean nothing here
 * and are skipped.  Any other key in [duo] is an error.
 */
static const char *const ignored_keys[] = {
	"accept_env_factor", "autopush", "dev_fips_mode", "failmode",
	"fallback_local_ip", "gecos_delim", "gecos_parsed",
	"gecos_username_pos", "group", "groups", "https_timeout", "motd",
	"noverify", "prompts", "pushinfo", "send_gecos",
};

static void
wipestr(char **sp)
{
	if (*sp != NULL) {
		OPENSSL_cleanse(*sp, strlen(*sp));
		free(*sp);
		*sp = NULL;
	}
}

void
conf_free(struct duo_conf *c)
{
	if (c == NULL)
		return;
	wipestr(&c->skey);
	wipestr(&c->ikey);
	free(c->path);
	free(c->host);
	free(c->http_proxy);
	free(c->cafile);
	free(c->user_agent);
	memset(c, 0, sizeof *c);
}

static int
isblank_(int c)
{
	return c == ' ' || c == '\t';
}

/*
 * Copy a key name for a message: printable ASCII only, and at most
 * CONF_KEYSHOW characters in all (a longer name is cut and ends in
 * "..."), so that a secret pasted on the wrong side of the = is not
 * printed.
 */
#define CONF_KEYSHOW	16

static void
keyname(char *out, size_t outsz, const char *k, size_t n)
{
	size_t i, max = n > CONF_KEYSHOW ? CONF_KEYSHOW - 3 : n;

	for (i = 0; i < max && i + 1 < outsz; i++)
		out[i] = (k[i] > 0x20 && k[i] < 0x7f) ? k[i] : '?';
	if (max < n && i + 4 <= outsz) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static int
setval(char **dst, const char *v, size_t n)
{
	if (n == 0)
		return 0;		/* empty: as if unset */
	*dst = xstrndup(v, n);
	return 0;
}

int
conf_parse(struct duo_conf *c, const char *s, size_t len, char *err)
{
	const char *p, *end, *eol, *k, *v, *q;
	size_t kn, vn, i;
	unsigned line = 0;
	int sect = 0;		/* 0 none yet, 1 [duo], 2 another section */
	unsigned seen = 0;
	char kbuf[CONF_KEYSHOW + 1];
	static const char *const known[] = {
		"ikey", "skey", "host", "http_proxy", "cafile", "timeout",
		"user_agent",
	};
	char **slot;
	long t;

	memset(c, 0, sizeof *c);
	p = s;
	end = s + len;
	/* A UTF-8 byte order mark, as Windows editors write it. */
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (; p < end; p = eol + 1) {
		line++;
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		q = eol;
		if (q > p && q[-1] == '\r')
			q--;
		while (p < q && isblank_((unsigned char)*p))
			p++;
		while (q > p && isblank_((unsigned char)q[-1]))
			q--;
		for (k = p; k < q; k++)
			if ((unsigned char)*k < 0x20 && *k != '\t') {
				seterr(err, "line %u: control character", line);
				goto fail;
			}
		if (p == q || *p == ';' || *p == '#')
			continue;
		if (*p == '[') {
			if ((k = memchr(p, ']', (size_t)(q - p))) == NULL) {
				seterr(err, "line %u: section header without ]",
				    line);
				goto fail;
			}
			for (v = k + 1; v < q && isblank_((unsigned char)*v);
			    v++)
				;
			if (v < q && *v != ';' && *v != '#') {
				seterr(err, "line %u: text after section header",
				    line);
				goto fail;
			}
			p++;
			while (p < k && isblank_((unsigned char)*p))
				p++;
			while (k > p && isblank_((unsigned char)k[-1]))
				k--;
			sect = ((size_t)(k - p) == 3 &&
			    strncasecmp(p, "duo", 3) == 0) ? 1 : 2;
			continue;
		}
		if ((v = memchr(p, '=', (size_t)(q - p))) == NULL) {
			/* Never echo the line: it may be a pasted secret. */
			seterr(err, "line %u: expected name = value", line);
			goto fail;
		}
		k = p;
		kn = (size_t)(v - p);
		while (kn > 0 && isblank_((unsigned char)k[kn - 1]))
			kn--;
		for (v++; v < q && isblank_((unsigned char)*v); v++)
			;
		/* An inline comment starts at ; or # after a blank. */
		for (vn = 0; v + vn < q; vn++)
			if ((v[vn] == ';' || v[vn] == '#') && vn > 0 &&
			    isblank_((unsigned char)v[vn - 1]))
				break;
		while (vn > 0 && isblank_((unsigned char)v[vn - 1]))
			vn--;
		keyname(kbuf, sizeof kbuf, k, kn);
		if (kn == 0) {
			seterr(err, "line %u: empty name before =", line);
			goto fail;
		}
		if (sect == 0) {
			seterr(err, "line %u: \"%s\" outside a section; "
			    "put it under [duo]", line, kbuf);
			goto fail;
		}
		if (sect == 2)
			continue;
		for (i = 0; i < sizeof known / sizeof known[0]; i++)
			if (strlen(known[i]) == kn &&
			    strncasecmp(known[i], k, kn) == 0)
				break;
		if (i == sizeof known / sizeof known[0]) {
			for (i = 0; i < sizeof ignored_keys /
			    sizeof ignored_keys[0]; i++)
				if (strlen(ignored_keys[i]) == kn &&
				    strncasecmp(ignored_keys[i], k, kn) == 0)
					break;
			if (i < sizeof ignored_keys / sizeof ignored_keys[0])
				continue;
			seterr(err, "line %u: unknown key \"%s\" in [duo]",
			    line, kbuf);
			goto fail;
		}
		if (seen & (1u << i)) {
			seterr(err, "line %u: duplicate key \"%s\"", line,
			    known[i]);
			goto fail;
		}
		seen |= 1u << i;
		switch (i) {
		case 0:
			slot = &c->ikey;
			break;
		case 1:
			slot = &c->skey;
			break;
		case 2:
			slot = &c->host;
			break;
		case 3:
			slot = &c->http_proxy;
			break;
		case 4:
			slot = &c->cafile;
			break;
		case 5:
			if (vn == 0)
				continue;
			t = 0;
			for (kn = 0; kn < vn; kn++) {
				if (v[kn] < '0' || v[kn] > '9' || t > 86400)
					break;
				t = t * 10 + (v[kn] - '0');
			}
			if (kn < vn || t < 1 || t > 86400) {
				seterr(err, "line %u: timeout: not a whole "
				    "number of seconds from 1 to 86400", line);
				goto fail;
			}
			c->timeout = t;
			continue;
		default:
			slot = &c->user_agent;
			break;
		}
		setval(slot, v, vn);
	}
	return 0;
fail:
	conf_free(c);
	return -1;
}

/* host[:port] or [v6]:port; no scheme, no path, no credentials. */
static int
hostok(const char *h)
{
	const char *p;
	size_t n;

	if ((n = strlen(h)) == 0 || n > 255)
		return 0;
	for (p = h; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == ':' || *p == '[' || *p == ']' || *p == '_'))
			return 0;
	return 1;
}

int
conf_check(const struct duo_conf *c, char *err)
{
	const char *from = c->path != NULL ? "in [duo] or" : "no file read; set";
	const unsigned char *p;

	if (c->ikey == NULL)
		return seterr(err, "no ikey (%s DUO_IKEY)", from);
	if (c->skey == NULL)
		return seterr(err, "no skey (%s DUO_SKEY)", from);
	if (c->host == NULL)
		return seterr(err, "no host (%s DUO_HOST)", from);
	for (p = (const unsigned char *)c->ikey; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == ':')
			return seterr(err, "ikey: must be printable ASCII "
			    "without blanks or ':'");
	for (p = (const unsigned char *)c->skey; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return seterr(err, "skey: contains control "
			    "characters");
	if (!hostok(c->host))
		return seterr(err, "host: must be a bare host name with an "
		    "optional :port, without scheme or path "
		    "(e.g. api-xxxxxxxx.duosecurity.com)");
	return 0;
}

/* Read all of fd (at most max bytes) into *out; wiped by the caller. */
static int
readall(int fd, const char *path, struct buf *b, size_t max, char *err)
{
	ssize_t r;

	for (;;) {
		xbuf_grow(b, 4096);
		r = read(fd, b->p + b->len, b->cap - b->len - 1);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return seterr(err, "%s: %s", path, strerror(errno));
		}
		if (r == 0)
			break;
		b->len += (size_t)r;
		b->p[b->len] = '\0';
		if (b->len > max)
			return seterr(err, "%s: larger than %zu bytes", path,
			    max);
	}
	return 0;
}

static const char *
envval(const char *name)
{
	const char *v = getenv(name);

	return (v != NULL && *v != '\0') ? v : NULL;
}

int
conf_load(struct duo_conf *c, const char *path, char *err)
{
	struct buf b;
	struct stat st;
	char perr[DUO_ERRLEN], *sk = NULL;
	int explicit = 1, fd, shared;
	const char *ik, *ho;

	memset(c, 0, sizeof *c);
	ik = envval("DUO_IKEY");
	ho = envval("DUO_HOST");
	/*
	 * The skey from the environment: one heap copy, then the bytes
	 * in the environment block are overwritten (unsetenv alone would
	 * leave them in /proc/PID/environ).
	 */
	if (envval("DUO_SKEY") != NULL)
		sk = xstrdup(envval("DUO_SKEY"));
	compat_env_wipe("DUO_SKEY");
	if (path == NULL && (path = envval("DUO_CONF")) == NULL) {
		path = "./duo.conf";
		explicit = 0;
	}
	buf_init(&b);
#ifdef _WIN32
	/* UTF-8 path, binary, shared for deleting (lib/compat_win.c). */
	fd = compat_open(path, COMPAT_RD, perr);
#else
	fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
#endif
	if (fd == -1) {
		if (errno != ENOENT || explicit || ik == NULL || sk == NULL ||
		    ho == NULL) {
			seterr(err, "%s: %s", path, strerror(errno));
			goto fail;
		}
		/* No ./duo.conf, but the environment names everything. */
	} else {
		if (fstat(fd, &st) == -1) {
			seterr(err, "%s: %s", path, strerror(errno));
			close(fd);
			goto fail;
		}
		if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
			close(fd);
			seterr(err, "%s: not a regular file", path);
			goto fail;
		}
		shared = compat_file_is_shared(fd);
		/* read(2) into one heap buffer: no stdio buffer copy. */
		if (readall(fd, path, &b, 64 * 1024, err) == -1) {
			close(fd);
			buf_wipe(&b);
			goto fail;
		}
		close(fd);
		if (conf_parse(c, b.p, b.len, perr) == -1) {
			buf_wipe(&b);
			seterr(err, "%s: %s", path, perr);
			goto fail;
		}
		buf_wipe(&b);
		c->path = xstrdup(path);
		if (c->skey != NULL && shared) {
#ifdef _WIN32
			compat_file_fixhint(path, perr, sizeof perr);
			seterr(err, "%s: holds the skey but is readable by "
			    "others; run: %s", path, perr);
#else
			seterr(err, "%s: holds the skey but is "
			    "accessible by group or others (mode %04o); "
			    "run: chmod 600 %s", path,
			    (unsigned)(st.st_mode & 07777), path);
#endif
			goto fail;
		}
	}
	if (ik != NULL) {
		wipestr(&c->ikey);
		c->ikey = xstrdup(ik);
	}
	if (sk != NULL) {
		wipestr(&c->skey);
		c->skey = sk;
		sk = NULL;
	}
	if (ho != NULL) {
		free(c->host);
		c->host = xstrdup(ho);
	}
	if (conf_check(c, perr) == -1) {
		if (c->path != NULL)
			seterr(err, "%s: %s", c->path, perr);
		else
			seterr(err, "%s", perr);
		goto fail;
	}
	return 0;
fail:
	wipestr(&sk);
	conf_free(c);
	return -1;
}
