/*
 * ckpt: the state directory and exactly-once publication.
 *
 * State directory layout (one set of files per kind):
 *	host		the Duo host of the first commit, one line
 *	KIND.cursor	{"v":1,"seq":N,"cursor":{...}} and LF
 *	KIND.ledger	one JSON line per commit or set (append-only)
 *	KIND.intent	only while a commit is under way
 *	KIND.lock	fcntl lock, held by the one commit or get
 *	KIND.spool	append mode: the data of the commit under way
 *	.KIND.*.tmp	temporary files of atomic rewrites
 *
 * A commit spools its data (a hidden temp file in the output directory,
 * or KIND.spool), fsyncs it, then writes the intent (what is about to be
 * published, its size and SHA-256, the ledger entry and new cursor) and
 * only then publishes, writes the cursor, appends the ledger entry and
 * removes the intent.  Every step after the intent is idempotent, so
 * recovery replays the intent: an interrupted commit is always
 * completed, never published twice.  A torn append is first cut back to
 * the size the intent recorded.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "duo.h"

#define SHA_HEX		65
#define EMPTY_SHA \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const char *const kinds[] = {
	"auth", "admin", "telephony", "activity", "offline", "trustmonitor",
	NULL
};

enum { MODE_NONE, MODE_FILE, MODE_APPEND };
static const char *const modenames[] = { "none", "file", "append" };

/* A parsed intent (or the one being built). */
struct intent {
	int			 mode;
	unsigned long long	 seq;
	struct buf		 tmp;		/* file: the temp */
	struct buf		 file;		/* final path */
	long long		 offset;	/* append: size before */
	long long		 bytes;
	char			 sha[SHA_HEX];
	long long		 ledger;	/* ledger size before */
	struct buf		 cursor;	/* new cursor */
	struct buf		 entry;		/* ledger line */
};

/* The data of the publication being gathered. */
struct pub {
	int		 fd;
	FILE		*fp;
	struct buf	 path;
	long long	 len, conflen;
	long long	 n, nconf;
	int64_t		 newest, newconf;	/* -1: none */
	EVP_MD_CTX	*cur, *conf;
};

static void
step(struct ckpt *ck, int n)
{
	if (ck->hook != NULL)
		ck->hook(n, ck->hookarg);
}

static int64_t
now_ms(struct ckpt *ck)
{
	return ck->clock != NULL ? ck->clock() : compat_now_ms();
}

static void
iso_utc(char *s, size_t sz, int64_t t)
{
	struct tm tm;

	if (compat_gmtime((time_t)t, &tm) == -1) {
		snprintf(s, sz, "-");
		return;
	}
	snprintf(s, sz, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
path(struct buf *b, const char *dir, const char *kind, const char *suffix)
{
	buf_reset(b);
	xbuf_printf(b, "%s/%s%s", dir, kind != NULL ? kind : "", suffix);
}

/* ---- pure helpers ---- */

int
ckpt_kind_ok(const char *s)
{
	int i;

	for (i = 0; kinds[i] != NULL; i++)
		if (strcmp(s, kinds[i]) == 0)
			return 1;
	return 0;
}

int
ckpt_ctl_is(const char *s, size_t n)
{
	return n >= sizeof CKPT_CTL - 1 &&
	    memcmp(s, CKPT_CTL, sizeof CKPT_CTL - 1) == 0;
}

void
ckpt_ctl_init(struct ckpt_ctl *c)
{
	memset(c, 0, sizeof *c);
	buf_init(&c->kind);
	buf_init(&c->host);
	buf_init(&c->cursor);
}

void
ckpt_ctl_free(struct ckpt_ctl *c)
{
	buf_free(&c->kind);
	buf_free(&c->host);
	buf_free(&c->cursor);
}

static void
raw(const struct json *j, int i, const char **p, size_t *n)
{
	*p = j->s + j->tok[i].start;
	*n = (size_t)(j->tok[i].end - j->tok[i].start);
}

/* Append the compact text of object token i. */
static void
compact_tok(struct buf *b, const struct json *j, int i)
{
	const char *p;
	size_t n;

	raw(j, i, &p, &n);
	buf_reset(b);
	json_compact(b, p, n);
}

static int
isobj(const struct json *j, int i)
{
	return i >= 0 && j->tok[i].type == JSMN_OBJECT;
}

static int
getint(const struct json *j, int obj, const char *key, long long *v)
{
	int i;

	if ((i = json_get(j, obj, key)) < 0 ||
	    j->tok[i].type != JSMN_PRIMITIVE || json_int(j, i, v) == -1)
		return -1;
	return 0;
}

static int
getstr(const struct json *j, int obj, const char *key, struct buf *b)
{
	int i;

	buf_reset(b);
	if ((i = json_get(j, obj, key)) < 0 || j->tok[i].type != JSMN_STRING)
		return -1;
	return json_str(j, i, b);
}

int
ckpt_ctl_parse(struct ckpt_ctl *c, struct json *j, const char *s, size_t n,
    char *err)
{
	struct buf t;
	size_t k;
	int i, r = -1;

	buf_init(&t);
	buf_reset(&c->kind);
	buf_reset(&c->host);
	buf_reset(&c->cursor);
	c->type = 0;
	c->v = c->n = 0;
	if (json_parse(j, s, n, err) == -1)
		goto out;
	if (!isobj(j, 0)) {
		seterr(err, "control line is not an object");
		goto out;
	}
	if (getstr(j, 0, "@duo", &t) == -1) {
		seterr(err, "control line without a string @duo");
		goto out;
	}
	if (strcmp(t.p, "begin") == 0)
		c->type = CKPT_BEGIN;
	else if (strcmp(t.p, "mark") == 0)
		c->type = CKPT_MARK;
	else if (strcmp(t.p, "end") == 0)
		c->type = CKPT_END;
	else {
		seterr(err, "unknown control line \"%.40s\"", t.p);
		goto out;
	}
	if (!isobj(j, i = json_get(j, 0, "cursor"))) {
		seterr(err, "%s line without a cursor object", t.p);
		goto out;
	}
	compact_tok(&c->cursor, j, i);
	if (c->type == CKPT_BEGIN) {
		if (getint(j, 0, "v", &c->v) == -1) {
			seterr(err, "begin line without a version v");
			goto out;
		}
		if (getstr(j, 0, "kind", &c->kind) == -1 ||
		    getstr(j, 0, "host", &c->host) == -1) {
			seterr(err, "begin line without kind or host");
			goto out;
		}
		for (k = 0; k < c->host.len; k++)
			if (c->host.p[k] >= 'A' && c->host.p[k] <= 'Z')
				c->host.p[k] += 'a' - 'A';
	} else if (getint(j, 0, "n", &c->n) == -1 || c->n < 0) {
		seterr(err, "%s line without a count n", t.p);
		goto out;
	}
	r = 0;
out:
	buf_free(&t);
	return r;
}

static int
digits(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
ckpt_parse_iso(const char *s, size_t n, int64_t *t)
{
	int64_t ms;

	if (iso8601_ms(s, n, 0, &ms) == -1)
		return -1;
	*t = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	return 0;
}

/* An epoch number: 13 digits or more are milliseconds. */
static int
epoch(const char *s, size_t n, int64_t *t)
{
	int64_t v = 0;
	size_t i;

	if (n < 9 || n > 16)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*t = n >= 13 ? v / 1000 : v;
	return 0;
}

static int
json_time(struct json *j, const char *s, size_t n, int64_t *t)
{
	static const char *const keys[] = {
		"duo_time", "isotimestamp", "ts", "timestamp",
		"surfaced_timestamp", NULL
	};
	char err[DUO_ERRLEN];
	const char *p;
	size_t len;
	int i, k;

	if (json_parse(j, s, n, err) == -1 || !isobj(j, 0))
		return 0;
	for (k = 0; keys[k] != NULL; k++) {
		if ((i = json_get(j, 0, keys[k])) < 0)
			continue;
		raw(j, i, &p, &len);
		if (j->tok[i].type == JSMN_STRING) {
			if (ckpt_parse_iso(p, len, t) == 0 ||
			    epoch(p, len, t) == 0)
				return 1;
		} else if (j->tok[i].type == JSMN_PRIMITIVE) {
			if (memchr(p, '.', len) != NULL)
				len = (size_t)((const char *)memchr(p, '.',
				    len) - p);
			if (epoch(p, len, t) == 0)
				return 1;
		}
	}
	return 0;
}

int
ckpt_event_time(struct json *j, const char *s, size_t n, int64_t *t)
{
	const char *p, *e;
	size_t i;

	if (n > 0 && s[0] == '{')
		return json_time(j, s, n, t);
	/* utc=... (mpe), utc="..." (kv). */
	for (p = s; (e = memchr(p, 'u', (size_t)(s + n - p))) != NULL;
	    p = e + 1) {
		if ((size_t)(s + n - e) < 4 + 20 || memcmp(e, "utc=", 4) != 0 ||
		    (e > s && e[-1] != '|' && e[-1] != ' '))
			continue;
		e += 4;
		if (*e == '"')
			e++;
		for (i = 0; e + i < s + n && e[i] != '|' && e[i] != '"' &&
		    e[i] != ' '; i++)
			;
		if (ckpt_parse_iso(e, i, t) == 0)
			return 1;
		break;
	}
	/* A leading epoch (legacy). */
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i > 0 && (i == n || s[i] == ' ' || s[i] == ',') &&
	    epoch(s, i, t) == 0)
		return 1;
	/* CEF rt=<ms>. */
	for (p = s; (e = memchr(p, 'r', (size_t)(s + n - p))) != NULL;
	    p = e + 1) {
		if (e == s || (e[-1] != ' ' && e[-1] != '|') ||
		    (size_t)(s + n - e) < 4 ||
		    memcmp(e, "rt=", 3) != 0)
			continue;
		e += 3;
		for (i = 0; e + i < s + n && e[i] >= '0' && e[i] <= '9'; i++)
			;
		if (epoch(e, i, t) == 0)
			return 1;
	}
	return 0;
}

void
ckpt_filename(struct buf *b, const char *kind, int64_t t,
    unsigned long long seq)
{
	struct tm tm;

	if (compat_gmtime((time_t)t, &tm) == -1)
		memset(&tm, 0, sizeof tm);
	xbuf_printf(b, "duo-%s-%04d%02d%02dT%02d%02d%02dZ-%06llu.log", kind,
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, seq);
}

int
ckpt_filename_time(const char *name, const char *kind, int64_t *t)
{
	struct tm tm;
	size_t kl = strlen(kind), n = strlen(name), i;
	const char *s;
	int y, mo, d, h, mi, se;

	/* duo- KIND - 16 - digits .log */
	if (n < 4 + kl + 1 + 16 + 2 + 4 || memcmp(name, "duo-", 4) != 0 ||
	    memcmp(name + 4, kind, kl) != 0 || name[4 + kl] != '-' ||
	    strcmp(name + n - 4, ".log") != 0)
		return -1;
	s = name + 4 + kl + 1;
	if (s[8] != 'T' || s[15] != 'Z' || s[16] != '-' ||
	    digits(s, 4, &y) || digits(s + 4, 2, &mo) || digits(s + 6, 2, &d) ||
	    digits(s + 9, 2, &h) || digits(s + 11, 2, &mi) ||
	    digits(s + 13, 2, &se))
		return -1;
	for (i = 17; s + i < name + n - 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*t = (int64_t)compat_timegm(&tm);
	return 0;
}

/* ---- files ---- */

static int
write_all(int fd, const char *p, size_t n, const char *name, char *err)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return seterr(err, "%s: write: %s", name,
			    strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Read a whole file of at most max bytes.  Returns 1 when read, 0 when
 * the file does not exist, -1 on error.
 */
static int
read_file(const char *name, struct buf *b, size_t max, char *err)
{
	char tmp[8192];
	ssize_t r;
	int fd;

	buf_reset(b);
	if ((fd = open(name, O_RDONLY)) == -1) {
		if (errno == ENOENT)
			return 0;
		return seterr(err, "%s: %s", name, strerror(errno));
	}
	for (;;) {
		if ((r = read(fd, tmp, sizeof tmp)) == -1) {
			if (errno == EINTR)
				continue;
			seterr(err, "%s: read: %s", name, strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		if (b->len + (size_t)r > max) {
			seterr(err, "%s: larger than %zu bytes", name, max);
			close(fd);
			return -1;
		}
		xbuf_add(b, tmp, (size_t)r);
	}
	close(fd);
	xbuf_add(b, "", 0);
	return 1;
}

/*
 * Replace dir/name by data: write dir/.name.tmp, fsync, rename, fsync
 * the directory.  hook is the step run between fsync and rename (0 for
 * none), pre the step run before the temp file is written (0 for none).
 */
static int
write_atomic(struct ckpt *ck, const char *dir, const char *name,
    const char *data, size_t n, int pre, int hook, char *err)
{
	struct buf tmp, dst;
	int fd, r = -1;

	buf_init(&tmp);
	buf_init(&dst);
	xbuf_printf(&tmp, "%s/.%s.tmp", dir, name);
	xbuf_printf(&dst, "%s/%s", dir, name);
	if (pre)
		step(ck, pre);
	if ((fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1) {
		seterr(err, "%s: %s", tmp.p, strerror(errno));
		goto out;
	}
	if (write_all(fd, data, n, tmp.p, err) == -1) {
		close(fd);
		goto out;
	}
	if (fsync(fd) == -1) {
		seterr(err, "%s: fsync: %s", tmp.p, strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) == -1) {
		seterr(err, "%s: close: %s", tmp.p, strerror(errno));
		goto out;
	}
	if (hook)
		step(ck, hook);
	if (compat_rename(tmp.p, dst.p, err) == -1 ||
	    compat_fsync_dir(dir, err) == -1)
		goto out;
	r = 0;
out:
	buf_free(&tmp);
	buf_free(&dst);
	return r;
}

/* SHA-256 of bytes [off, off+len) of a file; -1 if short or unreadable. */
static int
sha_file(const char *name, long long off, long long len, char *hex,
    char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE], tmp[65536];
	unsigned int mdlen;
	EVP_MD_CTX *ctx;
	ssize_t r;
	size_t want;
	int fd, rc = -1;

	if ((fd = open(name, O_RDONLY)) == -1)
		return seterr(err, "%s: %s", name, strerror(errno));
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		seterr(err, "SHA-256: cannot initialise");
		goto out;
	}
	while (len > 0) {
		want = len > (long long)sizeof tmp ? sizeof tmp : (size_t)len;
		if ((r = pread(fd, tmp, want, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			seterr(err, "%s: read: %s", name, strerror(errno));
			goto out;
		}
		if (r == 0) {
			seterr(err, "%s: shorter than expected", name);
			goto out;
		}
		EVP_DigestUpdate(ctx, tmp, (size_t)r);
		off += r;
		len -= r;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	hex_lower(hex, md, mdlen);
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	close(fd);
	return rc;
}

/* ---- intent ---- */

static void
intent_init(struct intent *in)
{
	memset(in, 0, sizeof *in);
	buf_init(&in->tmp);
	buf_init(&in->file);
	buf_init(&in->cursor);
	buf_init(&in->entry);
}

static void
intent_free(struct intent *in)
{
	buf_free(&in->tmp);
	buf_free(&in->file);
	buf_free(&in->cursor);
	buf_free(&in->entry);
}

static void
addstr(struct buf *b, const char *key, const struct buf *v)
{
	xbuf_printf(b, ",\"%s\":", key);
	if (v->len == 0) {
		xbuf_adds(b, "null");
		return;
	}
	xbuf_addc(b, '"');
	json_escape(b, v->p, v->len);
	xbuf_addc(b, '"');
}

static void
intent_format(struct buf *b, const char *kind, const struct intent *in)
{
	xbuf_printf(b, "{\"v\":1,\"kind\":\"%s\",\"seq\":%llu,\"mode\":\"%s\"",
	    kind, in->seq, modenames[in->mode]);
	addstr(b, "tmp", &in->tmp);
	addstr(b, "file", &in->file);
	xbuf_printf(b, ",\"offset\":%lld,\"bytes\":%lld,\"sha256\":\"%s\""
	    ",\"ledger\":%lld,\"cursor\":", in->offset, in->bytes, in->sha,
	    in->ledger);
	xbuf_add(b, in->cursor.p, in->cursor.len);
	xbuf_adds(b, ",\"entry\":");
	xbuf_add(b, in->entry.p, in->entry.len);
	xbuf_adds(b, "}\n");
}

static int
optstr(const struct json *j, const char *key, struct buf *b)
{
	int i;

	buf_reset(b);
	if ((i = json_get(j, 0, key)) < 0)
		return -1;
	if (json_isnull(j, i))
		return 0;
	if (j->tok[i].type != JSMN_STRING)
		return -1;
	return json_str(j, i, b);
}

static int
intent_parse(struct intent *in, const char *kind, const struct buf *text,
    const char *name, char *err)
{
	struct json j;
	struct buf mode, sha, k;
	long long v, seq;
	int i, r = -1;

	json_init(&j);
	buf_init(&mode);
	buf_init(&sha);
	buf_init(&k);
	if (text->len == 0 || text->p[text->len - 1] != '\n' ||
	    memchr(text->p, '\n', text->len) != text->p + text->len - 1) {
		seterr(err, "%s: corrupt intent file (truncated or not one "
		    "line)", name);
		goto out;
	}
	if (json_parse(&j, text->p, text->len - 1, err) == -1 ||
	    !isobj(&j, 0) || getint(&j, 0, "v", &v) == -1 || v != 1 ||
	    getstr(&j, 0, "kind", &k) == -1 || strcmp(k.p, kind) != 0 ||
	    getint(&j, 0, "seq", &seq) == -1 || seq < 1 ||
	    getstr(&j, 0, "mode", &mode) == -1 ||
	    optstr(&j, "tmp", &in->tmp) == -1 ||
	    optstr(&j, "file", &in->file) == -1 ||
	    getint(&j, 0, "offset", &in->offset) == -1 || in->offset < 0 ||
	    getint(&j, 0, "bytes", &in->bytes) == -1 || in->bytes < 0 ||
	    getstr(&j, 0, "sha256", &sha) == -1 || sha.len != 64 ||
	    getint(&j, 0, "ledger", &in->ledger) == -1 || in->ledger < 0 ||
	    !isobj(&j, i = json_get(&j, 0, "cursor"))) {
		seterr(err, "%s: corrupt intent file", name);
		goto out;
	}
	in->seq = (unsigned long long)seq;
	compact_tok(&in->cursor, &j, i);
	if (!isobj(&j, i = json_get(&j, 0, "entry"))) {
		seterr(err, "%s: corrupt intent file (no entry)", name);
		goto out;
	}
	compact_tok(&in->entry, &j, i);
	memcpy(in->sha, sha.p, SHA_HEX);
	for (in->mode = 0; in->mode < 3; in->mode++)
		if (strcmp(mode.p, modenames[in->mode]) == 0)
			break;
	if (in->mode == 3 || (in->mode != MODE_NONE && in->file.len == 0) ||
	    (in->mode == MODE_FILE && in->tmp.len == 0)) {
		seterr(err, "%s: corrupt intent file (mode)", name);
		goto out;
	}
	r = 0;
out:
	json_free(&j);
	buf_free(&mode);
	buf_free(&sha);
	buf_free(&k);
	return r;
}

/* ---- state file and ledger ---- */

/*
 * Parse KIND.cursor: {"v":1,"seq":N,"cursor":{...}} and one LF.
 */
static int
state_parse(const struct buf *text, unsigned long long *seq,
    struct buf *cursor, const char *name, char *err)
{
	struct json j;
	long long v, s;
	int i, r = -1;

	json_init(&j);
	if (text->len == 0 || text->p[text->len - 1] != '\n' ||
	    memchr(text->p, '\n', text->len) != text->p + text->len - 1) {
		seterr(err, "%s: corrupt state file (truncated or not one "
		    "line)", name);
		goto out;
	}
	if (json_parse(&j, text->p, text->len - 1, err) == -1 ||
	    !isobj(&j, 0) || getint(&j, 0, "v", &v) == -1 || v != 1 ||
	    getint(&j, 0, "seq", &s) == -1 || s < 0 ||
	    !isobj(&j, i = json_get(&j, 0, "cursor"))) {
		seterr(err, "%s: corrupt state file", name);
		goto out;
	}
	*seq = (unsigned long long)s;
	compact_tok(cursor, &j, i);
	r = 0;
out:
	json_free(&j);
	return r;
}

struct entry {
	long long	 seq, n, bytes, newest;
	int64_t		 time;
	int		 set, mode;
	struct buf	 from, to, file;
};

static void
entry_init(struct entry *e)
{
	memset(e, 0, sizeof *e);
	buf_init(&e->from);
	buf_init(&e->to);
	buf_init(&e->file);
}

static void
entry_free(struct entry *e)
{
	buf_free(&e->from);
	buf_free(&e->to);
	buf_free(&e->file);
}

static int
entry_parse(struct entry *e, struct json *j, const char *s, size_t n)
{
	char err[DUO_ERRLEN];
	struct buf t;
	long long v;
	int i, r = -1;

	buf_init(&t);
	if (json_parse(j, s, n, err) == -1 || !isobj(j, 0) ||
	    getint(j, 0, "v", &v) == -1 || v != 1 ||
	    getstr(j, 0, "op", &t) == -1 ||
	    (strcmp(t.p, "commit") != 0 && strcmp(t.p, "set") != 0))
		goto out;
	e->set = strcmp(t.p, "set") == 0;
	if (getstr(j, 0, "mode", &t) == -1)
		goto out;
	for (e->mode = 0; e->mode < 3; e->mode++)
		if (strcmp(t.p, modenames[e->mode]) == 0)
			break;
	if (e->mode == 3 ||
	    getint(j, 0, "seq", &e->seq) == -1 || e->seq < 1 ||
	    getint(j, 0, "n", &e->n) == -1 || e->n < 0 ||
	    getint(j, 0, "bytes", &e->bytes) == -1 || e->bytes < 0 ||
	    optstr(j, "file", &e->file) == -1 ||
	    getstr(j, 0, "time", &t) == -1 ||
	    ckpt_parse_iso(t.p, t.len, &e->time) == -1)
		goto out;
	buf_reset(&e->from);
	if ((i = json_get(j, 0, "from")) < 0)
		goto out;
	if (isobj(j, i))
		compact_tok(&e->from, j, i);
	else if (!json_isnull(j, i))
		goto out;
	if (!isobj(j, i = json_get(j, 0, "to")))
		goto out;
	compact_tok(&e->to, j, i);
	e->newest = -1;
	if ((i = json_get(j, 0, "newest")) < 0 ||
	    (!json_isnull(j, i) && json_int(j, i, &e->newest) == -1))
		goto out;
	r = 0;
out:
	buf_free(&t);
	return r;
}

/*
 * Read the last line of the ledger (without its LF) into b.  Returns 1
 * when there is one, 0 when the ledger is missing or empty, -1 on an
 * error or when the ledger does not end in LF.  *size gets its size.
 */
static int
ledger_tail(const char *name, struct buf *b, long long *size, char *err)
{
	struct stat st;
	char tmp[65536];
	off_t end, pos;
	ssize_t r;
	size_t want;
	int fd, rc = -1;
	char *nl;

	buf_reset(b);
	*size = 0;
	if ((fd = open(name, O_RDONLY)) == -1) {
		if (errno == ENOENT)
			return 0;
		return seterr(err, "%s: %s", name, strerror(errno));
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, "%s: %s", name, strerror(errno));
		goto out;
	}
	*size = st.st_size;
	if (st.st_size == 0) {
		rc = 0;
		goto out;
	}
	if (pread(fd, tmp, 1, st.st_size - 1) != 1 || tmp[0] != '\n') {
		seterr(err, "%s: corrupt ledger (last line is not complete)",
		    name);
		goto out;
	}
	end = st.st_size - 1;
	pos = end;
	for (;;) {
		want = pos > (off_t)sizeof tmp ? sizeof tmp : (size_t)pos;
		if (want == 0)
			break;
		if ((r = pread(fd, tmp, want, pos - (off_t)want)) !=
		    (ssize_t)want) {
			seterr(err, "%s: read error", name);
			goto out;
		}
		nl = NULL;
		for (r = (ssize_t)want - 1; r >= 0; r--)
			if (tmp[r] == '\n') {
				nl = tmp + r;
				break;
			}
		if (nl != NULL) {
			pos -= (off_t)want - (nl - tmp) - 1;
			break;
		}
		pos -= (off_t)want;
		if (end - pos > (off_t)CKPT_MAXSTATE) {
			seterr(err, "%s: corrupt ledger (line too long)", name);
			goto out;
		}
	}
	xbuf_grow(b, (size_t)(end - pos));
	if (pread(fd, b->p, (size_t)(end - pos), pos) != end - pos) {
		seterr(err, "%s: read error", name);
		goto out;
	}
	b->len = (size_t)(end - pos);
	b->p[b->len] = '\0';
	rc = 1;
out:
	close(fd);
	return rc;
}

/* ---- open, lock ---- */

int
ckpt_open(struct ckpt *ck, const char *dir, const char *kind, char *err)
{
	struct stat st;

	memset(ck, 0, sizeof *ck);
	ck->lockfd = -1;
	buf_init(&ck->cursor);
	buf_init(&ck->host);
	xbuf_adds(&ck->cursor, "{}");
	xbuf_add(&ck->host, "", 0);
	if (kind != NULL && !ckpt_kind_ok(kind)) {
		seterr(err, "%s: unknown kind", kind);
		return DUO_EXIT_USAGE;
	}
	if (kind != NULL)
		snprintf(ck->kind, sizeof ck->kind, "%s", kind);
	ck->dir = xstrdup(dir);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		seterr(err, "%s: %s", dir, strerror(errno));
		return DUO_EXIT_FAIL;
	}
	if (stat(dir, &st) == -1) {
		seterr(err, "%s: %s", dir, strerror(errno));
		return DUO_EXIT_FAIL;
	} else if (!S_ISDIR(st.st_mode)) {
		seterr(err, "%s: not a directory", dir);
		return DUO_EXIT_FAIL;
	}
	return DUO_EXIT_OK;
}

void
ckpt_close(struct ckpt *ck)
{
	ckpt_unlock(ck);
	free(ck->dir);
	ck->dir = NULL;
	buf_free(&ck->cursor);
	buf_free(&ck->host);
}

int
ckpt_lock(struct ckpt *ck, char *err)
{
	struct flock fl;
	struct buf p;
	int fd;

	buf_init(&p);
	path(&p, ck->dir, ck->kind, ".lock");
	if ((fd = open(p.p, O_RDWR | O_CREAT, 0644)) == -1) {
		seterr(err, "%s: %s", p.p, strerror(errno));
		buf_free(&p);
		return DUO_EXIT_FAIL;
	}
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno == EACCES || errno == EAGAIN)
			seterr(err, "%s: another run holds the lock %s; "
			    "nothing done", ck->kind, p.p);
		else
			seterr(err, "%s: lock: %s", p.p, strerror(errno));
		close(fd);
		buf_free(&p);
		return DUO_EXIT_FAIL;
	}
	buf_free(&p);
	ck->lockfd = fd;
	return DUO_EXIT_OK;
}

void
ckpt_unlock(struct ckpt *ck)
{
	if (ck->lockfd != -1) {
		close(ck->lockfd);
		ck->lockfd = -1;
	}
}

/* ---- load ---- */

static int
load_host(struct ckpt *ck, char *err)
{
	struct buf p, t;
	size_t i;
	int r;

	buf_init(&p);
	buf_init(&t);
	path(&p, ck->dir, NULL, "host");
	buf_reset(&ck->host);
	if ((r = read_file(p.p, &t, 1024, err)) <= 0)
		goto out;
	r = 0;
	if (t.len < 2 || t.p[t.len - 1] != '\n') {
		r = seterr(err, "%s: corrupt host file", p.p);
		goto out;
	}
	for (i = 0; i < t.len - 1; i++)
		if (t.p[i] <= ' ' || t.p[i] > '~') {
			r = seterr(err, "%s: corrupt host file", p.p);
			goto out;
		}
	xbuf_add(&ck->host, t.p, t.len - 1);
out:
	buf_free(&p);
	buf_free(&t);
	return r;
}

int
ckpt_load(struct ckpt *ck, char *err)
{
	struct buf p, t, tail;
	struct entry e;
	struct json j;
	long long lsize;
	int r, rc = DUO_EXIT_FAIL, lt;

	buf_init(&p);
	buf_init(&t);
	buf_init(&tail);
	entry_init(&e);
	json_init(&j);
	buf_reset(&ck->cursor);
	xbuf_adds(&ck->cursor, "{}");
	ck->seq = 0;
	ck->have_state = 0;
	if (load_host(ck, err) == -1)
		goto out;
	path(&p, ck->dir, ck->kind, ".cursor");
	if ((r = read_file(p.p, &t, CKPT_MAXSTATE, err)) == -1)
		goto out;
	if (r == 1) {
		if (state_parse(&t, &ck->seq, &ck->cursor, p.p, err) == -1) {
			size_t l = strlen(err);

			snprintf(err + l, DUO_ERRLEN - l, "; refusing to "
			    "start over: restore it or run duo-ckpt set %s "
			    "CURSOR", ck->kind);
			goto out;
		}
		ck->have_state = 1;
	}
	path(&p, ck->dir, ck->kind, ".ledger");
	if ((lt = ledger_tail(p.p, &tail, &lsize, err)) == -1)
		goto out;
	if (lt == 0 && ck->have_state && ck->seq > 0) {
		seterr(err, "%s: ledger missing or empty but %s.cursor holds "
		    "%llu entries; refusing", p.p, ck->kind, ck->seq);
		goto out;
	}
	if (lt == 1 && !ck->have_state) {
		seterr(err, "%s.cursor: state file missing but the ledger "
		    "has entries; refusing to start over (run duo-ckpt set "
		    "%s CURSOR with the ledger's last \"to\")", ck->kind,
		    ck->kind);
		goto out;
	}
	if (lt == 1) {
		if (entry_parse(&e, &j, tail.p, tail.len) == -1) {
			seterr(err, "%s: corrupt ledger (last line is not a "
			    "ledger entry)", p.p);
			goto out;
		}
		if ((unsigned long long)e.seq != ck->seq ||
		    strcmp(e.to.p, ck->cursor.p) != 0) {
			seterr(err, "%s: last entry (seq %lld) does not match "
			    "%s.cursor (seq %llu); state is inconsistent, "
			    "refusing", p.p, e.seq, ck->kind, ck->seq);
			goto out;
		}
	}
	rc = DUO_EXIT_OK;
out:
	buf_free(&p);
	buf_free(&t);
	buf_free(&tail);
	entry_free(&e);
	json_free(&j);
	return rc;
}

/* ---- apply an intent: publish, state, ledger, unintent ---- */

static int
publish_file(struct ckpt *ck, const struct intent *in, int recovery,
    char *err)
{
	struct stat st;
	char sha[SHA_HEX];
	struct buf dir;
	char *slash;
	int r = -1;

	buf_init(&dir);
	xbuf_add(&dir, in->file.p, in->file.len);
	if ((slash = strrchr(dir.p, '/')) != NULL) {
		*slash = '\0';
		dir.len = (size_t)(slash - dir.p);
	}
	if (lstat(in->file.p, &st) == 0) {
		/* Renamed already: check it is ours. */
		if (st.st_size != in->bytes ||
		    sha_file(in->file.p, 0, in->bytes, sha, err) == -1 ||
		    strcmp(sha, in->sha) != 0) {
			seterr(err, "%s: exists but differs from the commit "
			    "being recovered; refusing", in->file.p);
			goto out;
		}
		if (unlink(in->tmp.p) == -1 && errno != ENOENT) {
			seterr(err, "%s: %s", in->tmp.p, strerror(errno));
			goto out;
		}
	} else if (errno != ENOENT) {
		seterr(err, "%s: %s", in->file.p, strerror(errno));
		goto out;
	} else {
		if (recovery) {
			if (lstat(in->tmp.p, &st) == -1) {
				seterr(err, "%s: neither it nor its temporary "
				    "file %s exists; refusing to guess (check "
				    "the output directory)", in->file.p,
				    in->tmp.p);
				goto out;
			}
			if (st.st_size != in->bytes ||
			    sha_file(in->tmp.p, 0, in->bytes, sha, err) ==
			    -1 || strcmp(sha, in->sha) != 0) {
				seterr(err, "%s: temporary file differs from "
				    "the intent; refusing", in->tmp.p);
				goto out;
			}
		}
		if (compat_rename(in->tmp.p, in->file.p, err) == -1)
			goto out;
	}
	step(ck, CKPT_STEP_PUBMID);
	if (compat_fsync_dir(dir.p, err) == -1)
		goto out;
	r = 0;
out:
	buf_free(&dir);
	return r;
}

static int
publish_append(struct ckpt *ck, const struct intent *in, int recovery,
    char *err)
{
	struct stat st;
	char sha[SHA_HEX], tmp[65536];
	struct buf spool, dir;
	long long done, half;
	ssize_t r;
	size_t want;
	int fd = -1, sfd = -1, rc = -1, created = 0;
	char *slash;

	buf_init(&spool);
	buf_init(&dir);
	path(&spool, ck->dir, ck->kind, ".spool");
	xbuf_add(&dir, in->file.p, in->file.len);
	if ((slash = strrchr(dir.p, '/')) != NULL)
		*slash = '\0';
	if ((fd = open(in->file.p, O_WRONLY)) == -1) {
		if (errno != ENOENT || (fd = open(in->file.p,
		    O_WRONLY | O_CREAT | O_EXCL, 0644)) == -1) {
			seterr(err, "%s: %s", in->file.p, strerror(errno));
			goto out;
		}
		created = 1;
	}
	if (fstat(fd, &st) == -1) {
		seterr(err, "%s: %s", in->file.p, strerror(errno));
		goto out;
	}
	if (st.st_size == in->offset + in->bytes && recovery) {
		if (sha_file(in->file.p, in->offset, in->bytes, sha, err) ==
		    -1)
			goto out;
		if (strcmp(sha, in->sha) == 0) {
			rc = 0;		/* appended before the crash */
			goto synced;
		}
		/* Same size, other bytes: cut back and append again. */
	}
	if (st.st_size < in->offset || st.st_size > in->offset + in->bytes) {
		seterr(err, "%s: size %lld, expected %lld to %lld: another "
		    "program changed it; refusing", in->file.p,
		    (long long)st.st_size, in->offset, in->offset + in->bytes);
		goto out;
	}
	if ((sfd = open(spool.p, O_RDONLY)) == -1) {
		seterr(err, "%s: %s", spool.p, strerror(errno));
		goto out;
	}
	if (recovery && (sha_file(spool.p, 0, in->bytes, sha, err) == -1 ||
	    strcmp(sha, in->sha) != 0)) {
		seterr(err, "%s: spooled data differs from the intent; "
		    "refusing", spool.p);
		goto out;
	}
	/* Roll a torn append back to the last committed size. */
	if (st.st_size != in->offset &&
	    ftruncate(fd, (off_t)in->offset) == -1) {
		seterr(err, "%s: truncate: %s", in->file.p, strerror(errno));
		goto out;
	}
	half = in->bytes / 2;
	for (done = 0; done < in->bytes; ) {
		want = in->bytes - done > (long long)sizeof tmp ?
		    sizeof tmp : (size_t)(in->bytes - done);
		if (done < half && (long long)want > half - done)
			want = (size_t)(half - done);
		if ((r = pread(sfd, tmp, want, (off_t)done)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			seterr(err, "%s: short read", spool.p);
			goto out;
		}
		if (pwrite(fd, tmp, (size_t)r, (off_t)(in->offset + done)) !=
		    r) {
			seterr(err, "%s: write: %s", in->file.p,
			    strerror(errno));
			goto out;
		}
		done += r;
		if (done == half && half > 0)
			step(ck, CKPT_STEP_PUBMID);
	}
synced:
	if (fsync(fd) == -1) {
		seterr(err, "%s: fsync: %s", in->file.p, strerror(errno));
		rc = -1;
		goto out;
	}
	if (created && compat_fsync_dir(dir.p, err) == -1) {
		rc = -1;
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (sfd != -1)
		close(sfd);
	buf_free(&spool);
	buf_free(&dir);
	return rc;
}

static int
apply(struct ckpt *ck, const struct intent *in, int recovery, char *err)
{
	struct buf p, t, name;
	struct stat st;
	unsigned long long seq;
	long long half;
	int fd = -1, r, rc = -1;

	buf_init(&p);
	buf_init(&t);
	buf_init(&name);
	/* 1. The data. */
	step(ck, CKPT_STEP_PUBLISH);
	if (in->mode == MODE_FILE && publish_file(ck, in, recovery, err) == -1)
		goto out;
	if (in->mode == MODE_APPEND &&
	    publish_append(ck, in, recovery, err) == -1)
		goto out;
	/* 2. The state: written unless it already is the new one. */
	path(&p, ck->dir, ck->kind, ".cursor");
	if ((r = read_file(p.p, &t, CKPT_MAXSTATE, err)) == -1)
		goto out;
	seq = 0;
	if (r == 1 && state_parse(&t, &seq, &name, p.p, err) == -1)
		seq = 0;	/* a set over a corrupt state replaces it */
	if (r == 0 || seq != in->seq) {
		buf_reset(&t);
		xbuf_printf(&t, "{\"v\":1,\"seq\":%llu,\"cursor\":", in->seq);
		xbuf_add(&t, in->cursor.p, in->cursor.len);
		xbuf_adds(&t, "}\n");
		buf_reset(&name);
		xbuf_printf(&name, "%s.cursor", ck->kind);
		if (write_atomic(ck, ck->dir, name.p, t.p, t.len,
		    CKPT_STEP_STATETMP, CKPT_STEP_STATE, err) == -1)
			goto out;
	}
	/* 3. The ledger: cut back to its size before, append the entry. */
	step(ck, CKPT_STEP_LEDGER);
	path(&p, ck->dir, ck->kind, ".ledger");
	if ((fd = open(p.p, O_WRONLY | O_CREAT, 0644)) == -1 ||
	    fstat(fd, &st) == -1) {
		seterr(err, "%s: %s", p.p, strerror(errno));
		goto out;
	}
	if (st.st_size < in->ledger) {
		seterr(err, "%s: shorter than before the commit being "
		    "recovered; refusing", p.p);
		goto out;
	}
	if (st.st_size > in->ledger && ftruncate(fd, (off_t)in->ledger) ==
	    -1) {
		seterr(err, "%s: truncate: %s", p.p, strerror(errno));
		goto out;
	}
	buf_reset(&t);
	xbuf_add(&t, in->entry.p, in->entry.len);
	xbuf_addc(&t, '\n');
	half = (long long)t.len / 2;
	if (pwrite(fd, t.p, (size_t)half, (off_t)in->ledger) != half) {
		seterr(err, "%s: write: %s", p.p, strerror(errno));
		goto out;
	}
	step(ck, CKPT_STEP_LEDGERMID);
	if (pwrite(fd, t.p + half, t.len - (size_t)half,
	    (off_t)(in->ledger + half)) != (ssize_t)(t.len - (size_t)half) ||
	    fsync(fd) == -1) {
		seterr(err, "%s: write: %s", p.p, strerror(errno));
		goto out;
	}
	if (in->ledger == 0 && compat_fsync_dir(ck->dir, err) == -1)
		goto out;
	/* 4. Done: drop the spool (the sink is durable), then the intent. */
	if (in->mode == MODE_APPEND) {
		path(&p, ck->dir, ck->kind, ".spool");
		(void)unlink(p.p);
	}
	step(ck, CKPT_STEP_UNINTENT);
	path(&p, ck->dir, ck->kind, ".intent");
	if (unlink(p.p) == -1 && errno != ENOENT) {
		seterr(err, "%s: %s", p.p, strerror(errno));
		goto out;
	}
	if (compat_fsync_dir(ck->dir, err) == -1)
		goto out;
	step(ck, CKPT_STEP_DONE);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	buf_free(&p);
	buf_free(&t);
	buf_free(&name);
	return rc;
}

int
ckpt_recover(struct ckpt *ck, char *err)
{
	struct intent in;
	struct buf p, t;
	int r, rc = DUO_EXIT_FAIL;

	intent_init(&in);
	buf_init(&p);
	buf_init(&t);
	path(&p, ck->dir, ck->kind, ".intent");
	if ((r = read_file(p.p, &t, CKPT_MAXSTATE, err)) == -1)
		goto out;
	if (r == 0) {
		/* No commit under way: a spool is what a kill left. */
		path(&p, ck->dir, ck->kind, ".spool");
		(void)unlink(p.p);
		rc = DUO_EXIT_OK;
		goto out;
	}
	if (intent_parse(&in, ck->kind, &t, p.p, err) == -1) {
		size_t l = strlen(err);

		snprintf(err + l, DUO_ERRLEN - l, "; refusing: check %s.* "
		    "and the output, then remove it", ck->kind);
		goto out;
	}
	if (apply(ck, &in, 1, err) == -1)
		goto out;
	ck->recovered = 1;
	rc = DUO_EXIT_OK;
out:
	intent_free(&in);
	buf_free(&p);
	buf_free(&t);
	return rc;
}

/* ---- get, set ---- */

int
ckpt_get(struct ckpt *ck, char *err)
{
	int rc;

	if ((rc = ckpt_lock(ck, err)) != DUO_EXIT_OK)
		return rc;
	if ((rc = ckpt_recover(ck, err)) == DUO_EXIT_OK)
		rc = ckpt_load(ck, err);
	ckpt_unlock(ck);
	return rc;
}

static void
entry_format(struct buf *b, const char *op, unsigned long long seq,
    int64_t now, const char *from, const struct intent *in, long long n,
    int64_t newest)
{
	char ts[80];

	iso_utc(ts, sizeof ts, now);
	xbuf_printf(b, "{\"v\":1,\"op\":\"%s\",\"seq\":%llu,\"time\":\"%s\","
	    "\"from\":%s,\"to\":", op, seq, ts, from != NULL ? from : "null");
	xbuf_add(b, in->cursor.p, in->cursor.len);
	xbuf_printf(b, ",\"n\":%lld,\"mode\":\"%s\"", n, modenames[in->mode]);
	addstr(b, "file", &in->file);
	xbuf_printf(b, ",\"offset\":%lld,\"bytes\":%lld,\"sha256\":\"%s\","
	    "\"newest\":", in->offset, in->bytes, in->sha);
	if (newest >= 0)
		xbuf_printf(b, "%lld", (long long)newest);
	else
		xbuf_adds(b, "null");
	xbuf_addc(b, '}');
}

/* Write the intent and apply it. */
static int
run_intent(struct ckpt *ck, struct intent *in, char *err)
{
	struct buf t, name;
	int r = -1;

	buf_init(&t);
	buf_init(&name);
	intent_format(&t, ck->kind, in);
	xbuf_printf(&name, "%s.intent", ck->kind);
	if (write_atomic(ck, ck->dir, name.p, t.p, t.len, 0,
	    CKPT_STEP_INTENT, err) == -1)
		goto out;
	if (apply(ck, in, 0, err) == -1)
		goto out;
	buf_reset(&ck->cursor);
	xbuf_add(&ck->cursor, in->cursor.p, in->cursor.len);
	ck->seq = in->seq;
	ck->have_state = 1;
	ck->commits++;
	r = 0;
out:
	buf_free(&t);
	buf_free(&name);
	return r;
}

static int
ledger_len(struct ckpt *ck, long long *len, char *err)
{
	struct stat st;
	struct buf p;

	buf_init(&p);
	path(&p, ck->dir, ck->kind, ".ledger");
	*len = 0;
	if (stat(p.p, &st) == 0)
		*len = st.st_size;
	else if (errno != ENOENT) {
		seterr(err, "%s: %s", p.p, strerror(errno));
		buf_free(&p);
		return -1;
	}
	buf_free(&p);
	return 0;
}

int
ckpt_set(struct ckpt *ck, const char *cursor, char *err)
{
	struct intent in;
	struct json j;
	struct buf p, t, tail, from;
	struct entry e;
	unsigned long long seq = 0, s;
	long long lsize;
	char e2[DUO_ERRLEN];
	int rc, r, havefrom = 0;

	intent_init(&in);
	json_init(&j);
	entry_init(&e);
	buf_init(&p);
	buf_init(&t);
	buf_init(&tail);
	buf_init(&from);
	if (strlen(cursor) > CKPT_MAXLINE ||
	    json_parse(&j, cursor, strlen(cursor), e2) == -1 ||
	    !isobj(&j, 0)) {
		seterr(err, "%.64s: not a JSON object", cursor);
		rc = DUO_EXIT_USAGE;
		goto out;
	}
	compact_tok(&in.cursor, &j, 0);
	if ((rc = ckpt_lock(ck, err)) != DUO_EXIT_OK ||
	    (rc = ckpt_recover(ck, err)) != DUO_EXIT_OK)
		goto out;
	rc = DUO_EXIT_FAIL;
	/* The old state may be corrupt: set is the way out. */
	path(&p, ck->dir, ck->kind, ".cursor");
	if ((r = read_file(p.p, &t, CKPT_MAXSTATE, err)) == -1)
		goto out;
	if (r == 1 && state_parse(&t, &s, &from, p.p, err) == 0) {
		seq = s;
		havefrom = 1;
	}
	path(&p, ck->dir, ck->kind, ".ledger");
	if ((r = ledger_tail(p.p, &tail, &lsize, err)) == -1)
		goto out;
	if (r == 1) {
		if (entry_parse(&e, &j, tail.p, tail.len) == -1) {
			seterr(err, "%s: corrupt ledger (last line is not a "
			    "ledger entry); move it aside first", p.p);
			goto out;
		}
		if ((unsigned long long)e.seq > seq)
			seq = (unsigned long long)e.seq;
	}
	in.seq = seq + 1;
	in.mode = MODE_NONE;
	memcpy(in.sha, EMPTY_SHA, SHA_HEX);
	if (ledger_len(ck, &in.ledger, err) == -1)
		goto out;
	entry_format(&in.entry, "set", in.seq, now_ms(ck) / 1000,
	    havefrom ? from.p : NULL, &in, 0, -1);
	if (run_intent(ck, &in, err) == -1)
		goto out;
	rc = DUO_EXIT_OK;
out:
	ckpt_unlock(ck);
	intent_free(&in);
	json_free(&j);
	entry_free(&e);
	buf_free(&p);
	buf_free(&t);
	buf_free(&tail);
	buf_free(&from);
	return rc;
}

/* ---- commit ---- */

static void
pub_init(struct pub *pb)
{
	memset(pb, 0, sizeof *pb);
	pb->fd = -1;
	buf_init(&pb->path);
	pb->newest = pb->newconf = -1;
}

static void
pub_close(struct pub *pb, int remove)
{
	if (pb->fp != NULL)
		fclose(pb->fp);
	else if (pb->fd != -1)
		close(pb->fd);
	if (remove && pb->path.len > 0)
		(void)unlink(pb->path.p);
	EVP_MD_CTX_free(pb->cur);
	EVP_MD_CTX_free(pb->conf);
	buf_free(&pb->path);
	pub_init(pb);
}

static int
pub_open(struct ckpt *ck, struct pub *pb, const struct ckpt_opts *o,
    char *err)
{
	unsigned char rnd[8];
	char hex[17];
	int flags = O_RDWR | O_CREAT;

	buf_reset(&pb->path);
	if (o->append != NULL) {
		path(&pb->path, ck->dir, ck->kind, ".spool");
		flags |= O_TRUNC;
	} else {
		if (compat_random(rnd, sizeof rnd) == -1)
			return seterr(err, "no random bytes");
		hex_lower(hex, rnd, sizeof rnd);
		xbuf_printf(&pb->path, "%s/.duo-%s-%s.tmp", o->outdir,
		    ck->kind, hex);
		flags |= O_EXCL;
	}
	if ((pb->fd = open(pb->path.p, flags, o->append ? 0600 : 0644)) ==
	    -1)
		return seterr(err, "%s: %s", pb->path.p, strerror(errno));
	if ((pb->fp = fdopen(pb->fd, "w")) == NULL)
		return seterr(err, "%s: %s", pb->path.p, strerror(errno));
	if ((pb->cur = EVP_MD_CTX_new()) == NULL ||
	    (pb->conf = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(pb->cur, EVP_sha256(), NULL) != 1 ||
	    EVP_MD_CTX_copy_ex(pb->conf, pb->cur) != 1)
		return seterr(err, "SHA-256: cannot initialise");
	return 0;
}

/* Remove the hidden temp files an interrupted run left in outdir. */
static int
clean_temps(struct ckpt *ck, const char *outdir, char *err)
{
	struct buf pre, p;
	struct dirent *d;
	size_t n;
	DIR *dp;

	if ((dp = opendir(outdir)) == NULL)
		return seterr(err, "%s: %s", outdir, strerror(errno));
	buf_init(&pre);
	buf_init(&p);
	xbuf_printf(&pre, ".duo-%s-", ck->kind);
	while ((d = readdir(dp)) != NULL) {
		n = strlen(d->d_name);
		if (n != pre.len + 16 + 4 ||
		    strncmp(d->d_name, pre.p, pre.len) != 0 ||
		    strcmp(d->d_name + n - 4, ".tmp") != 0)
			continue;
		buf_reset(&p);
		xbuf_printf(&p, "%s/%s", outdir, d->d_name);
		(void)unlink(p.p);
	}
	closedir(dp);
	buf_free(&pre);
	buf_free(&p);
	return 0;
}

static int
retention(struct ckpt *ck, const char *outdir, long long days, char *err)
{
	struct buf p;
	struct dirent *d;
	int64_t t, limit;
	DIR *dp;
	int rc = 0;

	limit = now_ms(ck) / 1000 - days * 86400;
	if ((dp = opendir(outdir)) == NULL)
		return seterr(err, "%s: %s", outdir, strerror(errno));
	buf_init(&p);
	while ((d = readdir(dp)) != NULL) {
		if (ckpt_filename_time(d->d_name, ck->kind, &t) == -1 ||
		    t >= limit)
			continue;
		buf_reset(&p);
		xbuf_printf(&p, "%s/%s", outdir, d->d_name);
		if (unlink(p.p) == -1 && errno != ENOENT) {
			rc = seterr(err, "%s: %s", p.p, strerror(errno));
			break;
		}
		ck->deleted++;
	}
	closedir(dp);
	buf_free(&p);
	if (rc == 0 && ck->deleted > 0)
		rc = compat_fsync_dir(outdir, err);
	return rc;
}

/* Absolute form of a path whose last component may not exist yet. */
static int
abspath(struct buf *b, const char *p, char *err)
{
	char *dir, *r;
	const char *base, *slash;

	buf_reset(b);
	slash = strrchr(p, '/');
	dir = slash == NULL ? xstrdup(".") :
	    slash == p ? xstrdup("/") : xstrndup(p, (size_t)(slash - p));
	base = slash == NULL ? p : slash + 1;
	if ((r = realpath(dir, NULL)) == NULL) {
		seterr(err, "%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	xbuf_printf(b, "%s%s%s", r, strcmp(r, "/") == 0 ? "" : "/", base);
	free(r);
	free(dir);
	return 0;
}

/*
 * Publish what the marks so far confirmed: records, or at least a new
 * cursor.
 */
static int
publish(struct ckpt *ck, struct pub *pb, const struct ckpt_opts *o,
    const struct buf *to, char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	struct intent in;
	struct buf name, from;
	struct stat st;
	int64_t now;
	int r = -1, keep = 0;

	if (pb->nconf == 0 && strcmp(to->p, ck->cursor.p) == 0) {
		pub_close(pb, 1);
		return 0;
	}
	intent_init(&in);
	buf_init(&name);
	buf_init(&from);
	now = now_ms(ck) / 1000;
	in.seq = ck->seq + 1;
	xbuf_add(&in.cursor, to->p, to->len);
	xbuf_add(&from, ck->cursor.p, ck->cursor.len);
	if (pb->nconf == 0 || pb->fp == NULL) {
		in.mode = MODE_NONE;
		memcpy(in.sha, EMPTY_SHA, SHA_HEX);
		pub_close(pb, 1);
	} else {
		if (fflush(pb->fp) == EOF || ferror(pb->fp)) {
			seterr(err, "%s: write: %s", pb->path.p,
			    strerror(errno));
			goto out;
		}
		if (pb->len != pb->conflen &&
		    ftruncate(pb->fd, (off_t)pb->conflen) == -1) {
			seterr(err, "%s: truncate: %s", pb->path.p,
			    strerror(errno));
			goto out;
		}
		step(ck, CKPT_STEP_DATA);
		if (fsync(pb->fd) == -1) {
			seterr(err, "%s: fsync: %s", pb->path.p,
			    strerror(errno));
			goto out;
		}
		EVP_DigestFinal_ex(pb->conf, md, &mdlen);
		hex_lower(in.sha, md, mdlen);
		in.bytes = pb->conflen;
		if (o->append != NULL) {
			in.mode = MODE_APPEND;
			if (abspath(&in.file, o->append, err) == -1)
				goto out;
			if (stat(in.file.p, &st) == 0)
				in.offset = st.st_size;
			else if (errno != ENOENT) {
				seterr(err, "%s: %s", in.file.p,
				    strerror(errno));
				goto out;
			}
		} else {
			in.mode = MODE_FILE;
			if (abspath(&in.tmp, pb->path.p, err) == -1)
				goto out;
			ckpt_filename(&name, ck->kind, now, in.seq);
			buf_reset(&in.file);
			xbuf_add(&in.file, in.tmp.p,
			    (size_t)(strrchr(in.tmp.p, '/') - in.tmp.p + 1));
			xbuf_add(&in.file, name.p, name.len);
			if (lstat(in.file.p, &st) == 0) {
				seterr(err, "%s: exists already; refusing to "
				    "overwrite", in.file.p);
				goto out;
			}
		}
	}
	if (ledger_len(ck, &in.ledger, err) == -1)
		goto out;
	entry_format(&in.entry, "commit", in.seq, now, from.p, &in, pb->nconf,
	    pb->newconf);
	/*
	 * From here on the intent may exist: the spooled data must stay
	 * for recovery whatever happens.
	 */
	keep = 1;
	if (run_intent(ck, &in, err) == -1)
		goto out;
	ck->records += (unsigned long long)pb->nconf;
	if (in.mode != MODE_NONE)
		ck->files++;
	if (pb->fp != NULL) {
		/* Renamed (file) or copied (append): keep the name. */
		buf_reset(&pb->path);
		pub_close(pb, 0);
	}
	r = 0;
out:
	if (r == -1) {
		if (keep)
			buf_reset(&pb->path);
		pub_close(pb, 1);
	}
	intent_free(&in);
	buf_free(&name);
	buf_free(&from);
	return r;
}

static int
write_host(struct ckpt *ck, const struct buf *host, char *err)
{
	struct buf t;
	int r;

	buf_init(&t);
	xbuf_add(&t, host->p, host->len);
	xbuf_addc(&t, '\n');
	r = write_atomic(ck, ck->dir, "host", t.p, t.len, 0, 0, err);
	buf_free(&t);
	if (r == 0) {
		buf_reset(&ck->host);
		xbuf_add(&ck->host, host->p, host->len);
	}
	return r;
}

static int
host_ok(const struct buf *h)
{
	size_t i;

	if (h->len == 0 || h->len > 255)
		return 0;
	for (i = 0; i < h->len; i++)
		if (h->p[i] <= ' ' || h->p[i] > '~')
			return 0;
	return 1;
}

int
ckpt_commit(struct ckpt *ck, FILE *fp, const struct ckpt_opts *o, char *err)
{
	struct ckpt_ctl c;
	struct json j;
	struct pub pb;
	struct buf line, to;
	char e2[DUO_ERRLEN];
	unsigned long long lineno = 0;
	long long seg = 0;
	int64_t t, lastpub;
	int r, flags, rc = DUO_EXIT_FAIL, ended = 0, fail = 0;

	ckpt_ctl_init(&c);
	json_init(&j);
	pub_init(&pb);
	buf_init(&line);
	buf_init(&to);
	e2[0] = '\0';
	if (o->outdir != NULL && mkdir(o->outdir, 0755) == -1 &&
	    errno != EEXIST) {
		seterr(err, "%s: %s", o->outdir, strerror(errno));
		goto out;
	}
	/* The begin line: before the lock, so get can run meanwhile. */
	r = buf_getline(&line, fp, CKPT_MAXLINE, &flags);
	lineno++;
	if (r == -1) {
		seterr(err, "stdin: read error: %s", strerror(errno));
		goto out;
	}
	if (r == 0) {
		seterr(err, "stdin: empty stream, nothing committed (did "
		    "duo-get fail? it must run with -C)");
		rc = DUO_EXIT_TEMP;
		goto out;
	}
	if (!ckpt_ctl_is(line.p, line.len)) {
		seterr(err, "stdin: line 1: no begin line: run duo-get with "
		    "-C to write the stream protocol's control lines");
		goto out;
	}
	if (flags & (LINE_NOEOL | LINE_LONG)) {
		seterr(err, "stdin: line 1: incomplete begin line");
		rc = DUO_EXIT_TEMP;
		goto out;
	}
	if (ckpt_ctl_parse(&c, &j, line.p, line.len, e2) == -1) {
		seterr(err, "stdin: line 1: %s", e2);
		goto out;
	}
	if (c.type != CKPT_BEGIN) {
		seterr(err, "stdin: line 1: no begin line: run duo-get with "
		    "-C to write the stream protocol's control lines");
		goto out;
	}
	if (c.v != 1) {
		seterr(err, "stdin: line 1: stream protocol version %lld not "
		    "supported", c.v);
		goto out;
	}
	if (strcmp(c.kind.p, ck->kind) != 0) {
		seterr(err, "stdin: stream is for kind %.32s, not %s; nothing "
		    "committed", c.kind.p, ck->kind);
		goto out;
	}
	if (!host_ok(&c.host)) {
		seterr(err, "stdin: line 1: bad host in begin line");
		goto out;
	}
	if (ckpt_lock(ck, err) != DUO_EXIT_OK ||
	    ckpt_recover(ck, err) != DUO_EXIT_OK ||
	    ckpt_load(ck, err) != DUO_EXIT_OK)
		goto out;
	if (ck->host.len > 0 && strcmp(ck->host.p, c.host.p) != 0) {
		seterr(err, "stdin: stream is from host %.100s but %s belongs "
		    "to %.100s; nothing committed", c.host.p, ck->dir,
		    ck->host.p);
		goto out;
	}
	if (strcmp(c.cursor.p, ck->cursor.p) != 0) {
		seterr(err, "%s: stale cursor: the stream begins at a cursor "
		    "other than the stored one (another run committed "
		    "first?); nothing committed", ck->kind);
		goto out;
	}
	if (o->outdir != NULL && clean_temps(ck, o->outdir, err) == -1)
		goto out;
	if (ck->host.len == 0 && write_host(ck, &c.host, err) == -1)
		goto out;
	xbuf_add(&to, ck->cursor.p, ck->cursor.len);
	lastpub = now_ms(ck);
	for (;;) {
		r = buf_getline(&line, fp, CKPT_MAXLINE, &flags);
		lineno++;
		if (r == -1) {
			seterr(e2, "stdin: read error: %s", strerror(errno));
			fail = 1;
			break;
		}
		if (r == 0 || (flags & LINE_NOEOL))
			break;		/* a cut last line is dropped */
		if (flags & LINE_LONG) {
			seterr(e2, "stdin: line %llu: longer than %u bytes",
			    lineno, CKPT_MAXLINE);
			fail = 1;
			break;
		}
		if (ended) {
			seterr(e2, "stdin: line %llu: data after the end "
			    "line", lineno);
			fail = 1;
			break;
		}
		if (!ckpt_ctl_is(line.p, line.len)) {
			if (pb.fp == NULL && pub_open(ck, &pb, o, e2) == -1) {
				fail = 1;
				break;
			}
			if (fwrite(line.p, 1, line.len, pb.fp) != line.len ||
			    putc('\n', pb.fp) == EOF) {
				seterr(e2, "%s: write: %s", pb.path.p,
				    strerror(errno));
				fail = 1;
				break;
			}
			EVP_DigestUpdate(pb.cur, line.p, line.len);
			EVP_DigestUpdate(pb.cur, "\n", 1);
			pb.len += (long long)line.len + 1;
			seg++;
			if (ckpt_event_time(&j, line.p, line.len, &t) == 1 &&
			    t > pb.newest)
				pb.newest = t;
			continue;
		}
		if (ckpt_ctl_parse(&c, &j, line.p, line.len, e2) == -1) {
			char e3[DUO_ERRLEN];

			snprintf(e3, sizeof e3, "%s", e2);
			seterr(e2, "stdin: line %llu: %s", lineno, e3);
			fail = 1;
			break;
		}
		if (c.type == CKPT_BEGIN) {
			seterr(e2, "stdin: line %llu: a second begin line",
			    lineno);
			fail = 1;
			break;
		}
		if (c.n != seg) {
			seterr(e2, "stdin: line %llu: %s counts %lld lines "
			    "but %lld came since the previous control line; "
			    "nothing after the previous mark delivered",
			    lineno, c.type == CKPT_END ? "end" : "mark", c.n,
			    seg);
			fail = 1;
			break;
		}
		/* Confirm the segment. */
		if (pb.fp != NULL && EVP_MD_CTX_copy_ex(pb.conf, pb.cur) != 1) {
			seterr(e2, "SHA-256: copy failed");
			fail = 1;
			break;
		}
		pb.conflen = pb.len;
		pb.nconf += seg;
		pb.newconf = pb.newest;
		seg = 0;
		buf_reset(&to);
		xbuf_add(&to, c.cursor.p, c.cursor.len);
		if (c.type == CKPT_END) {
			ended = 1;
			continue;
		}
		if ((o->maxrec > 0 && pb.nconf >= o->maxrec) ||
		    (o->maxsec > 0 && now_ms(ck) - lastpub >=
		    o->maxsec * 1000)) {
			if (publish(ck, &pb, o, &to, err) == -1)
				goto out;
			lastpub = now_ms(ck);
		}
	}
	if (publish(ck, &pb, o, &to, err) == -1)
		goto out;
	if (o->outdir != NULL && o->keepdays > 0 &&
	    retention(ck, o->outdir, o->keepdays, err) == -1)
		goto out;
	if (fail) {
		seterr(err, "%s", e2);
		goto out;
	}
	if (!ended) {
		seterr(err, "stdin: stream ended without an end line: "
		    "published up to its last mark; run again");
		rc = DUO_EXIT_TEMP;
		goto out;
	}
	rc = DUO_EXIT_OK;
out:
	pub_close(&pb, 1);
	ckpt_unlock(ck);
	ckpt_ctl_free(&c);
	json_free(&j);
	buf_free(&line);
	buf_free(&to);
	return rc;
}

/* ---- status ---- */

static int
status_kind(const char *dir, const char *kind, int64_t now, struct buf *out,
    char *err)
{
	struct ckpt ck;
	struct entry e;
	struct json j;
	struct buf p, line, prev;
	struct stat st;
	unsigned long long lineno = 0, commits = 0, records = 0, files = 0;
	long long newest = -1;
	int64_t last = -1;
	char ts[80], nt[80];
	FILE *fp = NULL;
	int r, flags, rc = DUO_EXIT_FAIL, pending;

	memset(&ck, 0, sizeof ck);
	ck.lockfd = -1;
	ck.dir = xstrdup(dir);
	snprintf(ck.kind, sizeof ck.kind, "%s", kind);
	buf_init(&ck.cursor);
	buf_init(&ck.host);
	entry_init(&e);
	json_init(&j);
	buf_init(&p);
	buf_init(&line);
	buf_init(&prev);
	path(&p, dir, kind, ".intent");
	pending = stat(p.p, &st) == 0;
	if (!pending && ckpt_load(&ck, err) != DUO_EXIT_OK)
		goto out;
	if (pending && load_host(&ck, err) == -1)
		goto out;
	path(&p, dir, kind, ".ledger");
	if ((fp = fopen(p.p, "r")) == NULL && errno != ENOENT) {
		seterr(err, "%s: %s", p.p, strerror(errno));
		goto out;
	}
	while (fp != NULL && (r = buf_getline(&line, fp, CKPT_MAXSTATE,
	    &flags)) != 0) {
		lineno++;
		if (r == -1) {
			seterr(err, "%s: read error", p.p);
			goto out;
		}
		if (flags & LINE_NOEOL && pending)
			break;		/* the commit being recovered */
		if (flags || entry_parse(&e, &j, line.p, line.len) == -1) {
			seterr(err, "%s: line %llu: corrupt ledger entry",
			    p.p, lineno);
			goto out;
		}
		if ((unsigned long long)e.seq != lineno) {
			seterr(err, "%s: line %llu: sequence %lld out of "
			    "order", p.p, lineno, e.seq);
			goto out;
		}
		if (!e.set && lineno > 1 && strcmp(e.from.p, prev.p) != 0) {
			seterr(err, "%s: line %llu: coverage gap: from-cursor "
			    "differs from the previous to-cursor", p.p,
			    lineno);
			goto out;
		}
		buf_reset(&prev);
		xbuf_add(&prev, e.to.p, e.to.len);
		if (!e.set) {
			commits++;
			records += (unsigned long long)e.n;
			if (e.mode != MODE_NONE)
				files++;
			last = e.time;
		}
		if (e.newest > newest)
			newest = e.newest;
	}
	if (last >= 0)
		iso_utc(ts, sizeof ts, last);
	else
		snprintf(ts, sizeof ts, "-");
	if (newest >= 0)
		iso_utc(nt, sizeof nt, newest);
	else
		snprintf(nt, sizeof nt, "-");
	xbuf_printf(out, "%s host=%s last_commit=%s commits=%llu records=%llu "
	    "files=%llu newest=%s lag=", kind, ck.host.len ? ck.host.p : "-",
	    ts, commits, records, files, nt);
	if (newest >= 0)
		xbuf_printf(out, "%llds", (long long)(now / 1000 - newest));
	else
		xbuf_adds(out, "-");
	if (pending)
		xbuf_adds(out, " pending=interrupted-commit cursor=-\n");
	else
		xbuf_printf(out, " cursor=%s\n", ck.cursor.p);
	rc = DUO_EXIT_OK;
out:
	if (fp != NULL)
		fclose(fp);
	ckpt_close(&ck);
	entry_free(&e);
	json_free(&j);
	buf_free(&p);
	buf_free(&line);
	buf_free(&prev);
	return rc;
}

int
ckpt_status(const char *dir, const char *kind, int64_t now, struct buf *out,
    char *err)
{
	static const char *const sfx[] = {
		".cursor", ".ledger", ".intent", NULL
	};
	struct stat st;
	struct buf p;
	int i, k, rc;

	if (stat(dir, &st) == -1) {
		seterr(err, "%s: %s", dir, strerror(errno));
		return DUO_EXIT_FAIL;
	}
	if (kind != NULL) {
		if (!ckpt_kind_ok(kind)) {
			seterr(err, "%s: unknown kind", kind);
			return DUO_EXIT_USAGE;
		}
		return status_kind(dir, kind, now, out, err);
	}
	buf_init(&p);
	for (k = 0; kinds[k] != NULL; k++) {
		for (i = 0; sfx[i] != NULL; i++) {
			path(&p, dir, kinds[k], sfx[i]);
			if (stat(p.p, &st) == 0)
				break;
		}
		if (sfx[i] == NULL)
			continue;
		if ((rc = status_kind(dir, kinds[k], now, out, err)) !=
		    DUO_EXIT_OK) {
			buf_free(&p);
			return rc;
		}
	}
	buf_free(&p);
	return DUO_EXIT_OK;
}
