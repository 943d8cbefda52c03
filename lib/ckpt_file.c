/*
 * ckpt_file: the files of the state directory and the locks of shared
 * destinations.  Every open goes through compat_open, which refuses
 * symbolic links and anything but a regular file, so a FIFO or a link
 * planted in place of a state file is an error, never a hang or a
 * write elsewhere.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_int.h"

/* ---- files ---- */

/*
 * Read a whole file of at most max bytes.  Returns 1 when read, 0 when
 * the file does not exist, -1 on error (a FIFO, link or directory in
 * its place included).
 */
int
ck_read_file(const char *name, struct buf *b, size_t max, char *err)
{
	char tmp[8192];
	ssize_t r;
	int fd;

	buf_reset(b);
	ck_bstr(b);
	if ((fd = compat_open(name, COMPAT_RD, err)) == -1)
		return errno == ENOENT ? 0 : -1;
	for (;;) {
		if ((r = compat_read(fd, tmp, sizeof tmp)) == -1) {
			if (errno == EINTR)
				continue;
			seterr(err, "%s: read: %s", name, strerror(errno));
			compat_close(fd);
			return -1;
		}
		if (r == 0)
			break;
		if (b->len + (size_t)r > max) {
			seterr(err, "%s: larger than %zu bytes", name, max);
			compat_close(fd);
			return -1;
		}
		xbuf_add(b, tmp, (size_t)r);
	}
	compat_close(fd);
	return 1;
}

static void
hex_random(char *hex)
{
	unsigned char rnd[8];
	int64_t t;

	if (compat_random(rnd, sizeof rnd) == -1) {
		t = compat_now_ms();
		memcpy(rnd, &t, sizeof rnd);
	}
	hex_lower(hex, rnd, sizeof rnd);
}

/*
 * Replace dir/name by data: write dir/.name.RANDOM.tmp (created
 * exclusively: concurrent writers never share a temporary), fsync,
 * rename, fsync the directory.  hook is the step run between fsync and
 * rename (0 for none), pre the step run before the temp file is
 * written (0 for none).  With noreplace an existing dir/name is kept:
 * returns 1 then.
 */
int
ck_write_atomic(struct ckpt *ck, const char *dir, const char *name,
    const char *data, size_t n, int pre, int hook, int noreplace, char *err)
{
	struct buf tmp, dst;
	char hex[17];
	int fd, r = -1;

	buf_init(&tmp);
	buf_init(&dst);
	hex_random(hex);
	xbuf_printf(&tmp, "%s/.%s.%s.tmp", dir, name, hex);
	xbuf_printf(&dst, "%s/%s", dir, name);
	if (pre)
		ck_step(ck, pre);
	if ((fd = compat_open(tmp.p, COMPAT_RDWR | COMPAT_CREAT | COMPAT_EXCL,
	    err)) == -1)
		goto out;
	if (compat_pwrite(fd, data, n, 0) == -1) {
		seterr(err, "%s: write: %s", tmp.p, strerror(errno));
		compat_close(fd);
		goto fail;
	}
	if (compat_fsync(fd) == -1) {
		seterr(err, "%s: fsync: %s", tmp.p, strerror(errno));
		compat_close(fd);
		goto fail;
	}
	if (compat_close(fd) == -1) {
		seterr(err, "%s: close: %s", tmp.p, strerror(errno));
		goto fail;
	}
	if (hook)
		ck_step(ck, hook);
	if (noreplace) {
		if (compat_rename_new(tmp.p, dst.p, err) == -1) {
			if (errno != EEXIST)
				goto fail;
			r = 1;
			goto fail;
		}
	} else if (compat_rename(tmp.p, dst.p, err) == -1)
		goto fail;
	if (compat_fsync_dir(dir, err) == -1)
		goto out;
	r = 0;
	goto out;
fail:
	(void)compat_unlink(tmp.p, NULL);
out:
	buf_free(&tmp);
	buf_free(&dst);
	return r;
}

/* SHA-256 of bytes [off, off+len) of an open file; -1 if short. */
int
ck_sha_fd(int fd, const char *name, long long off, long long len, char *hex,
    char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE], tmp[65536];
	unsigned int mdlen;
	EVP_MD_CTX *ctx;
	ssize_t r;
	size_t want;
	int rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		seterr(err, "SHA-256: cannot initialise");
		goto out;
	}
	while (len > 0) {
		want = len > (long long)sizeof tmp ? sizeof tmp : (size_t)len;
		if ((r = compat_pread(fd, tmp, want, off)) == -1) {
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
	return rc;
}

int
ck_sha_file(const char *name, long long off, long long len, char *hex,
    char *err)
{
	int fd, r;

	if ((fd = compat_open(name, COMPAT_RD, err)) == -1)
		return -1;
	r = ck_sha_fd(fd, name, off, len, hex, err);
	compat_close(fd);
	return r;
}

/* The id of a state directory: hex of SHA-256 of its absolute path. */
void
ck_sid(const char *dir, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char err[DUO_ERRLEN], hex[2 * EVP_MAX_MD_SIZE + 1];
	struct buf b;

	buf_init(&b);
	if (compat_abspath(dir, &b, err) == -1) {
		buf_reset(&b);
		xbuf_adds(&b, dir);
	}
	EVP_Digest(b.p, b.len, md, &mdlen, EVP_sha256(), NULL);
	hex_lower(hex, md, mdlen);
	memcpy(out, hex, SID_HEX);
	out[SID_HEX] = '\0';
	buf_free(&b);
}

static int
has_suffix(const char *s, const char *sfx)
{
	size_t n = strlen(s), k = strlen(sfx);

	return n >= k && strcmp(s + n - k, sfx) == 0;
}

/*
 * Remove the temporary files a killed run of this kind left in the
 * state directory (with the lock held), and those of host older than
 * ten minutes (host is written without a kind's lock).
 */
void
ck_clean_state(struct ckpt *ck)
{
	struct compat_dir *d;
	struct compat_stat st;
	struct buf pre, p;
	const char *name;
	int64_t now = compat_now_ms() / 1000;

	if (compat_dir_open(&d, ck->dir, NULL) == -1)
		return;
	buf_init(&pre);
	buf_init(&p);
	xbuf_printf(&pre, ".%s.", ck->kind);
	while ((name = compat_dir_next(d)) != NULL) {
		if (!has_suffix(name, ".tmp"))
			continue;
		ck_path(&p, ck->dir, NULL, name);
		if (strncmp(name, pre.p, pre.len) == 0)
			(void)compat_unlink(p.p, NULL);
		else if (strncmp(name, ".host.", 6) == 0 &&
		    compat_lstat(p.p, &st) == 0 && st.mtime < now - 600)
			(void)compat_unlink(p.p, NULL);
	}
	compat_dir_close(d);
	buf_free(&pre);
	buf_free(&p);
}

/* ---- intent ---- */

void
intent_init(struct intent *in)
{
	memset(in, 0, sizeof *in);
	buf_init(&in->tmp);
	buf_init(&in->file);
	buf_init(&in->cursor);
	buf_init(&in->entry);
	ck_bstr(&in->tmp);
	ck_bstr(&in->file);
	ck_bstr(&in->cursor);
	ck_bstr(&in->entry);
	in->newest = -1;
}

void
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

void
intent_format(struct buf *b, const char *kind, const struct intent *in)
{
	xbuf_printf(b, "{\"v\":1,\"kind\":\"%s\",\"seq\":%llu,\"mode\":\"%s\"",
	    kind, in->seq, ckpt_modenames[in->mode]);
	addstr(b, "tmp", &in->tmp);
	addstr(b, "file", &in->file);
	xbuf_printf(b, ",\"offset\":%lld,\"bytes\":%lld,\"sha256\":\"%s\""
	    ",\"ledger\":%lld", in->offset, in->bytes, in->sha, in->ledger);
	if (in->newest >= 0)
		xbuf_printf(b, ",\"newest\":%lld", in->newest);
	xbuf_adds(b, ",\"cursor\":");
	xbuf_add(b, in->cursor.p, in->cursor.len);
	xbuf_adds(b, ",\"entry\":");
	xbuf_add(b, in->entry.p, in->entry.len);
	xbuf_adds(b, "}\n");
}

static int
one_line(const struct buf *text)
{
	return text->len > 0 && text->p[text->len - 1] == '\n' &&
	    memchr(text->p, '\n', text->len) == text->p + text->len - 1;
}

static int
is_hex64(const struct buf *b)
{
	size_t i;

	if (b->len != 64)
		return 0;
	for (i = 0; i < 64; i++)
		if (hex_val((unsigned char)b->p[i]) < 0)
			return 0;
	return 1;
}

int
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
	if (!one_line(text)) {
		seterr(err, "%s: corrupt intent file (truncated or not one "
		    "line)", name);
		goto out;
	}
	if (json_parse(&j, text->p, text->len - 1, err) == -1 ||
	    !ck_isobj(&j, 0) || ck_getint(&j, 0, "v", &v) == -1 || v != 1 ||
	    ck_getstr(&j, 0, "kind", &k) == -1 || strcmp(k.p, kind) != 0 ||
	    ck_getint(&j, 0, "seq", &seq) == -1 || seq < 1 ||
	    ck_getstr(&j, 0, "mode", &mode) == -1 ||
	    ck_optstr(&j, "tmp", &in->tmp) == -1 ||
	    ck_optstr(&j, "file", &in->file) == -1 ||
	    ck_getint(&j, 0, "offset", &in->offset) == -1 || in->offset < 0 ||
	    ck_getint(&j, 0, "bytes", &in->bytes) == -1 || in->bytes < 0 ||
	    ck_getstr(&j, 0, "sha256", &sha) == -1 || !is_hex64(&sha) ||
	    ck_getint(&j, 0, "ledger", &in->ledger) == -1 || in->ledger < 0 ||
	    !ck_isobj(&j, i = json_get(&j, 0, "cursor"))) {
		seterr(err, "%s: corrupt intent file", name);
		goto out;
	}
	in->newest = -1;
	if (json_get(&j, 0, "newest") >= 0 &&
	    (ck_getint(&j, 0, "newest", &in->newest) == -1 ||
	    in->newest < 0)) {
		seterr(err, "%s: corrupt intent file (newest)", name);
		goto out;
	}
	in->seq = (unsigned long long)seq;
	ck_compact_tok(&in->cursor, &j, i);
	if (!ck_isobj(&j, i = json_get(&j, 0, "entry"))) {
		seterr(err, "%s: corrupt intent file (no entry)", name);
		goto out;
	}
	ck_compact_tok(&in->entry, &j, i);
	memcpy(in->sha, sha.p, SHA_HEX);
	for (in->mode = 0; in->mode < 3; in->mode++)
		if (strcmp(mode.p, ckpt_modenames[in->mode]) == 0)
			break;
	if (in->mode == 3 || (in->mode != MODE_NONE && in->file.len == 0) ||
	    (in->mode == MODE_FILE && in->tmp.len == 0) ||
	    (in->mode != MODE_NONE && !compat_path_abs(in->file.p))) {
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

/* ---- state file ---- */

/*
 * KIND.cursor: {"v":1,"seq":N,"cursor":{...}[,"newest":T]} and one LF.
 */
int
state_parse(const struct buf *text, unsigned long long *seq,
    struct buf *cursor, long long *newest, const char *name, char *err)
{
	struct json j;
	long long v, s;
	int i, r = -1;

	json_init(&j);
	if (!one_line(text)) {
		seterr(err, "%s: corrupt state file (truncated or not one "
		    "line)", name);
		goto out;
	}
	if (json_parse(&j, text->p, text->len - 1, err) == -1 ||
	    !ck_isobj(&j, 0) || ck_getint(&j, 0, "v", &v) == -1 || v != 1 ||
	    ck_getint(&j, 0, "seq", &s) == -1 || s < 0 ||
	    !ck_isobj(&j, i = json_get(&j, 0, "cursor"))) {
		seterr(err, "%s: corrupt state file", name);
		goto out;
	}
	*newest = -1;
	if (json_get(&j, 0, "newest") >= 0 &&
	    (ck_getint(&j, 0, "newest", newest) == -1 || *newest < 0)) {
		seterr(err, "%s: corrupt state file (newest)", name);
		goto out;
	}
	*seq = (unsigned long long)s;
	ck_compact_tok(cursor, &j, i);
	r = 0;
out:
	json_free(&j);
	return r;
}

void
state_format(struct buf *b, unsigned long long seq, const struct buf *cursor,
    long long newest)
{
	xbuf_printf(b, "{\"v\":1,\"seq\":%llu,\"cursor\":", seq);
	xbuf_add(b, cursor->p, cursor->len);
	if (newest >= 0)
		xbuf_printf(b, ",\"newest\":%lld", newest);
	xbuf_adds(b, "}\n");
}

/* ---- ledger ---- */

void
entry_init(struct entry *e)
{
	memset(e, 0, sizeof *e);
	buf_init(&e->from);
	buf_init(&e->to);
	buf_init(&e->file);
	ck_bstr(&e->from);
	ck_bstr(&e->to);
	ck_bstr(&e->file);
}

void
entry_free(struct entry *e)
{
	buf_free(&e->from);
	buf_free(&e->to);
	buf_free(&e->file);
}

/* Parse one ledger line; -1 when it is not one.  A "from" of null
 * leaves e->from empty. */
int
entry_parse(struct entry *e, struct json *j, const char *s, size_t n)
{
	char err[DUO_ERRLEN];
	struct buf t;
	long long v;
	int i, r = -1;

	buf_init(&t);
	buf_reset(&e->from);
	buf_reset(&e->to);
	ck_bstr(&e->from);
	ck_bstr(&e->to);
	e->commits = e->files = 0;
	if (json_parse(j, s, n, err) == -1 || !ck_isobj(j, 0) ||
	    ck_getint(j, 0, "v", &v) == -1 || v != 1 ||
	    ck_getstr(j, 0, "op", &t) == -1)
		goto out;
	if (strcmp(t.p, "commit") == 0)
		e->op = OP_COMMIT;
	else if (strcmp(t.p, "set") == 0)
		e->op = OP_SET;
	else if (strcmp(t.p, "summary") == 0)
		e->op = OP_SUMMARY;
	else
		goto out;
	if (ck_getstr(j, 0, "mode", &t) == -1)
		goto out;
	for (e->mode = 0; e->mode < 3; e->mode++)
		if (strcmp(t.p, ckpt_modenames[e->mode]) == 0)
			break;
	if (e->mode == 3 ||
	    ck_getint(j, 0, "seq", &e->seq) == -1 || e->seq < 1 ||
	    ck_getint(j, 0, "n", &e->n) == -1 || e->n < 0 ||
	    ck_getint(j, 0, "bytes", &e->bytes) == -1 || e->bytes < 0 ||
	    ck_optstr(j, "file", &e->file) == -1 ||
	    ck_getstr(j, 0, "time", &t) == -1 ||
	    ckpt_parse_iso(t.p, t.len, &e->time) == -1)
		goto out;
	if (e->op == OP_SUMMARY &&
	    (ck_getint(j, 0, "commits", &e->commits) == -1 || e->commits < 0 ||
	    ck_getint(j, 0, "files", &e->files) == -1 || e->files < 0))
		goto out;
	if ((i = json_get(j, 0, "from")) < 0)
		goto out;
	if (ck_isobj(j, i))
		ck_compact_tok(&e->from, j, i);
	else if (!json_isnull(j, i) || e->op == OP_COMMIT)
		goto out;
	if (!ck_isobj(j, i = json_get(j, 0, "to")))
		goto out;
	ck_compact_tok(&e->to, j, i);
	e->newest = -1;
	if ((i = json_get(j, 0, "newest")) < 0 ||
	    (!json_isnull(j, i) && (json_int(j, i, &e->newest) == -1 ||
	    e->newest < 0)))
		goto out;
	r = 0;
out:
	buf_free(&t);
	return r;
}

void
entry_format(struct buf *b, const char *op, unsigned long long seq,
    int64_t now, const char *from, const struct intent *in, long long n,
    int64_t newest)
{
	char ts[80];

	ck_iso(ts, sizeof ts, now);
	xbuf_printf(b, "{\"v\":1,\"op\":\"%s\",\"seq\":%llu,\"time\":\"%s\","
	    "\"from\":%s,\"to\":", op, seq, ts, from != NULL ? from : "null");
	xbuf_add(b, in->cursor.p, in->cursor.len);
	xbuf_printf(b, ",\"n\":%lld,\"mode\":\"%s\"", n,
	    ckpt_modenames[in->mode]);
	addstr(b, "file", &in->file);
	xbuf_printf(b, ",\"offset\":%lld,\"bytes\":%lld,\"sha256\":\"%s\","
	    "\"newest\":", in->offset, in->bytes, in->sha);
	if (newest >= 0)
		xbuf_printf(b, "%lld", (long long)newest);
	else
		xbuf_adds(b, "null");
	xbuf_addc(b, '}');
}

/*
 * Read the last line of the ledger (without its LF) into b.  Returns 1
 * when there is one, 0 when the ledger is missing or empty, -1 on an
 * error or when the ledger does not end in LF.  *size gets its size.
 */
int
ledger_tail(const char *name, struct buf *b, long long *size, char *err)
{
	struct compat_stat st;
	char tmp[65536];
	int64_t end, pos;
	ssize_t r;
	size_t want;
	int fd, rc = -1;
	char *nl;

	buf_reset(b);
	ck_bstr(b);
	*size = 0;
	if ((fd = compat_open(name, COMPAT_RD, err)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (compat_fstat(fd, &st) == -1) {
		seterr(err, "%s: %s", name, strerror(errno));
		goto out;
	}
	*size = st.size;
	if (st.size == 0) {
		rc = 0;
		goto out;
	}
	if (compat_pread(fd, tmp, 1, st.size - 1) != 1 || tmp[0] != '\n') {
		seterr(err, "%s: corrupt ledger (last line is not complete)",
		    name);
		goto out;
	}
	end = st.size - 1;
	pos = end;
	for (;;) {
		want = pos > (int64_t)sizeof tmp ? sizeof tmp : (size_t)pos;
		if (want == 0)
			break;
		if ((r = compat_pread(fd, tmp, want, pos - (int64_t)want)) !=
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
			pos -= (int64_t)want - (nl - tmp) - 1;
			break;
		}
		pos -= (int64_t)want;
		if (end - pos > (int64_t)CKPT_MAXSTATE) {
			seterr(err, "%s: corrupt ledger (line too long)", name);
			goto out;
		}
	}
	xbuf_grow(b, (size_t)(end - pos));
	if (compat_pread(fd, b->p, (size_t)(end - pos), pos) != end - pos) {
		seterr(err, "%s: read error", name);
		goto out;
	}
	b->len = (size_t)(end - pos);
	b->p[b->len] = '\0';
	rc = 1;
out:
	compat_close(fd);
	return rc;
}

/*
 * Keep the ledger bounded: when it holds more than twice the entries
 * to keep, replace all but the last ledger_keep of them by one
 * "summary" entry (its from is the first dropped entry's from, its to
 * the last one's to, with their totals), after checking the chain of
 * every entry.  The last line and the seq numbers do not change, so
 * KIND.cursor still matches.  Called with the lock held and no intent.
 */
int
ledger_compact(struct ckpt *ck, char *err)
{
	struct buf p, text, out, prev, first;
	struct entry e;
	struct json j;
	long long keep = ck->ledger_keep > 0 ? ck->ledger_keep :
	    CKPT_LEDGER_KEEP;
	long long nlines, drop, k, commits = 0, records = 0, files = 0;
	long long bytes = 0, newest = -1, seq = 0;
	int64_t last = 0;
	const char *s, *nl;
	char name[64];
	int r, rc = -1, havefrom = 0;

	buf_init(&p);
	buf_init(&text);
	buf_init(&out);
	buf_init(&prev);
	buf_init(&first);
	entry_init(&e);
	json_init(&j);
	ck_path(&p, ck->dir, ck->kind, ".ledger");
	/* Cheap test first: the first line's seq against ck->seq. */
	if (ck->seq <= (unsigned long long)(2 * keep)) {
		rc = 0;
		goto out;
	}
	if ((r = ck_read_file(p.p, &text, CKPT_MAXSTATE * 4u, err)) <= 0) {
		rc = r == 0 ? 0 : -1;
		goto out;
	}
	for (nlines = 0, s = text.p; (nl = memchr(s, '\n', (size_t)(text.p +
	    text.len - s))) != NULL; s = nl + 1)
		nlines++;
	if (nlines <= 2 * keep) {
		rc = 0;
		goto out;
	}
	drop = nlines - keep;
	for (k = 0, s = text.p; k < nlines; k++, s = nl + 1) {
		nl = memchr(s, '\n', (size_t)(text.p + text.len - s));
		if (entry_parse(&e, &j, s, (size_t)(nl - s)) == -1) {
			seterr(err, "%s: line %lld: corrupt ledger entry", p.p,
			    k + 1);
			goto out;
		}
		if (k > 0 && (unsigned long long)e.seq != (unsigned long long)
		    seq + 1) {
			seterr(err, "%s: line %lld: sequence %lld out of order",
			    p.p, k + 1, e.seq);
			goto out;
		}
		if (k > 0 && e.op == OP_COMMIT && strcmp(e.from.p, prev.p)) {
			seterr(err, "%s: line %lld: coverage gap: from-cursor "
			    "differs from the previous to-cursor", p.p, k + 1);
			goto out;
		}
		seq = e.seq;
		buf_reset(&prev);
		xbuf_add(&prev, e.to.p, e.to.len);
		if (k >= drop)
			continue;
		if (k == 0) {
			havefrom = e.from.len > 0;
			xbuf_add(&first, e.from.p, e.from.len);
		}
		if (e.op == OP_SUMMARY) {
			commits += e.commits;
			files += e.files;
		} else if (e.op == OP_COMMIT) {
			commits++;
			if (e.mode != MODE_NONE)
				files++;
		}
		if (e.op != OP_SET || k == 0)
			last = e.time;
		records += e.n;
		bytes += e.bytes;
		if (e.newest > newest)
			newest = e.newest;
		if (k == drop - 1) {
			char ts[40];

			ck_iso(ts, sizeof ts, last);
			xbuf_printf(&out, "{\"v\":1,\"op\":\"summary\","
			    "\"seq\":%lld,\"time\":\"%s\",\"from\":%s,\"to\":",
			    e.seq, ts, havefrom ? first.p : "null");
			xbuf_add(&out, e.to.p, e.to.len);
			xbuf_printf(&out, ",\"n\":%lld,\"commits\":%lld,"
			    "\"files\":%lld,\"mode\":\"none\",\"file\":null,"
			    "\"offset\":0,\"bytes\":%lld,\"newest\":", records,
			    commits, files, bytes);
			if (newest >= 0)
				xbuf_printf(&out, "%lld}\n", newest);
			else
				xbuf_adds(&out, "null}\n");
			xbuf_add(&out, nl + 1, (size_t)(text.p + text.len -
			    nl - 1));
		}
	}
	if ((unsigned long long)seq != ck->seq) {
		seterr(err, "%s: last entry (seq %lld) does not match %s.cursor "
		    "(seq %llu); refusing", p.p, seq, ck->kind, ck->seq);
		goto out;
	}
	snprintf(name, sizeof name, "%s.ledger", ck->kind);
	if (ck_write_atomic(ck, ck->dir, name, out.p, out.len, 0, 0, 0, err)
	    == -1)
		goto out;
	rc = 0;
out:
	buf_free(&p);
	buf_free(&text);
	buf_free(&out);
	buf_free(&prev);
	buf_free(&first);
	entry_free(&e);
	json_free(&j);
	return rc;
}

/* ---- shared destinations ---- */

void
dest_init(struct dest *d)
{
	d->fd = -1;
	buf_init(&d->lock);
}

/* The lock file of a destination (see dest_lock), into b. */
void
dest_path(struct ckpt *ck, struct buf *b, const char *target, int append)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	const char *base;

	buf_reset(b);
	if (append) {
		base = strrchr(target, '/');
		base = base != NULL ? base + 1 : target;
		EVP_Digest(base, strlen(base), md, &mdlen, EVP_sha256(), NULL);
		hex_lower(hex, md, mdlen);
		xbuf_add(b, target, (size_t)(base - target));
		xbuf_printf(b, ".duo-lock-%.16s", hex);
	} else
		xbuf_printf(b, "%s/.duo-%s.lock", target, ck->kind);
}

/*
 * Lock a destination: for -o (append 0) the directory dir, with
 * dir/.duo-KIND.lock; for -a the file target, with .duo-lock-HASH in
 * its directory (HASH from its name: a name of ours that no *.log or
 * *.log* pattern matches).  Waits up to destwait_ms, for the lock is
 * held only while publishing.  DUO_EXIT_OK, DUO_EXIT_TEMP when busy,
 * DUO_EXIT_FAIL (errno kept) when the lock file cannot be opened.
 */
int
dest_lock(struct ckpt *ck, struct dest *d, const char *target, int append,
    char *err)
{
	struct compat_stat st;
	struct buf dir;
	long waited = 0, max;
	int r, e, created;

	dest_path(ck, &d->lock, target, append);
	created = compat_lstat(d->lock.p, &st) == -1 && errno == ENOENT;
	if ((d->fd = compat_open(d->lock.p, COMPAT_RDWR | COMPAT_CREAT, err))
	    == -1)
		return DUO_EXIT_FAIL;
	if (created) {
		/* The marker it will hold must survive a power cut. */
		buf_init(&dir);
		xbuf_add(&dir, d->lock.p, (size_t)(strrchr(d->lock.p, '/') -
		    d->lock.p));
		r = compat_fsync_dir(dir.len > 0 ? dir.p : "/", err);
		buf_free(&dir);
		if (r == -1) {
			compat_close(d->fd);
			d->fd = -1;
			return DUO_EXIT_FAIL;
		}
	}
	max = ck->destwait_ms > 0 ? ck->destwait_ms : CKPT_DESTWAIT_MS;
	while ((r = compat_lock(d->fd)) == 1 && waited < max &&
	    (ck->sig == NULL || *ck->sig == 0)) {
		compat_sleep_ms(50);
		waited += 50;
	}
	if (r != 0) {
		e = errno;
		if (r == 1)
			seterr(err, "%s: busy: another run publishes to %s "
			    "(it holds %s)", ck->kind, target, d->lock.p);
		else
			seterr(err, "%s: lock: %s", d->lock.p, strerror(e));
		compat_close(d->fd);
		d->fd = -1;
		return r == 1 ? DUO_EXIT_TEMP : DUO_EXIT_FAIL;
	}
	return DUO_EXIT_OK;
}

void
dest_unlock(struct dest *d)
{
	if (d->fd != -1)
		compat_close(d->fd);
	d->fd = -1;
	buf_free(&d->lock);
}

/*
 * The pending-append marker in an -a destination's lock file: one line
 * {"v":1,"state":DIR,"kind":K,"seq":N,"offset":O} while an append may
 * be under way, empty otherwise.  Returns 1 with the fields, 0 when
 * empty, -1 when corrupt.
 */
int
marker_read(struct dest *d, struct buf *state, struct buf *kind,
    unsigned long long *seq, long long *offset, char *err)
{
	struct compat_stat st;
	struct json j;
	struct buf t;
	long long v, s;
	int r = -1;

	json_init(&j);
	buf_init(&t);
	buf_reset(state);
	buf_reset(kind);
	ck_bstr(state);
	ck_bstr(kind);
	if (compat_fstat(d->fd, &st) == -1) {
		seterr(err, "%s: %s", d->lock.p, strerror(errno));
		goto out;
	}
	if (st.size == 0) {
		r = 0;
		goto out;
	}
	if (st.size > 65536) {
		seterr(err, "%s: corrupt lock file (too large)", d->lock.p);
		goto out;
	}
	xbuf_grow(&t, (size_t)st.size);
	if (compat_pread(d->fd, t.p, (size_t)st.size, 0) != st.size) {
		seterr(err, "%s: read error", d->lock.p);
		goto out;
	}
	t.len = (size_t)st.size;
	t.p[t.len] = '\0';
	if (!one_line(&t) || json_parse(&j, t.p, t.len - 1, err) == -1 ||
	    !ck_isobj(&j, 0) || ck_getint(&j, 0, "v", &v) == -1 || v != 1 ||
	    ck_getstr(&j, 0, "state", state) == -1 || state->len == 0 ||
	    ck_getstr(&j, 0, "kind", kind) == -1 || !ckpt_kind_ok(kind->p) ||
	    ck_getint(&j, 0, "seq", &s) == -1 || s < 1 ||
	    ck_getint(&j, 0, "offset", offset) == -1 || *offset < 0) {
		seterr(err, "%s: corrupt lock file (pending-append marker)",
		    d->lock.p);
		goto out;
	}
	*seq = (unsigned long long)s;
	r = 1;
out:
	json_free(&j);
	buf_free(&t);
	return r;
}

int
marker_write(struct dest *d, const char *state, const char *kind,
    unsigned long long seq, long long offset, char *err)
{
	struct buf t;
	int r = -1;

	buf_init(&t);
	xbuf_adds(&t, "{\"v\":1,\"state\":\"");
	json_escape(&t, state, strlen(state));
	xbuf_printf(&t, "\",\"kind\":\"%s\",\"seq\":%llu,\"offset\":%lld}\n",
	    kind, seq, offset);
	if (compat_ftruncate(d->fd, 0) == -1 ||
	    compat_pwrite(d->fd, t.p, t.len, 0) == -1 ||
	    compat_fsync(d->fd) == -1)
		seterr(err, "%s: write: %s", d->lock.p, strerror(errno));
	else
		r = 0;
	buf_free(&t);
	return r;
}

int
marker_clear(struct dest *d, char *err)
{
	if (compat_ftruncate(d->fd, 0) == -1 || compat_fsync(d->fd) == -1)
		return seterr(err, "%s: %s", d->lock.p, strerror(errno));
	return 0;
}

/*
 * -o: the names of commits pending in a shared output directory, one
 * line each in its lock file: {"v":1,"state":DIR,"kind":K,"seq":N,
 * "name":NAME}.  A run that picks a name avoids those of other state
 * directories whose intent is still there, so that their recovery
 * finds its own file; entries of its own state directory, or of one
 * without an intent, are stale and dropped.  keep gets the entries to
 * keep (lines), reserved their names (each followed by NUL).
 */
int
pending_read(struct dest *d, const char *sdir, const char *kind,
    struct buf *keep, struct buf *reserved, char *err)
{
	struct compat_stat st;
	struct json j;
	struct buf t, s, k, nm, p;
	const char *l, *nl;
	long long v, seq;
	int64_t t64;
	int r = -1;

	json_init(&j);
	buf_init(&t);
	buf_init(&s);
	buf_init(&k);
	buf_init(&nm);
	buf_init(&p);
	buf_reset(keep);
	buf_reset(reserved);
	ck_bstr(keep);
	ck_bstr(reserved);
	if (compat_fstat(d->fd, &st) == -1) {
		seterr(err, "%s: %s", d->lock.p, strerror(errno));
		goto out;
	}
	if (st.size > 1024 * 1024) {
		seterr(err, "%s: corrupt lock file (too large); remove it",
		    d->lock.p);
		goto out;
	}
	xbuf_grow(&t, (size_t)st.size);
	if (compat_pread(d->fd, t.p, (size_t)st.size, 0) != st.size) {
		seterr(err, "%s: read error", d->lock.p);
		goto out;
	}
	t.len = (size_t)st.size;
	t.p[t.len] = '\0';
	if (t.len > 0 && t.p[t.len - 1] != '\n') {
		seterr(err, "%s: corrupt lock file (pending names); check the "
		    "directory, then remove it", d->lock.p);
		goto out;
	}
	for (l = t.p; l < t.p + t.len; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(t.p + t.len - l));
		if (json_parse(&j, l, (size_t)(nl - l), err) == -1 ||
		    !ck_isobj(&j, 0) || ck_getint(&j, 0, "v", &v) == -1 ||
		    v != 1 || ck_getstr(&j, 0, "state", &s) == -1 ||
		    s.len == 0 || ck_getstr(&j, 0, "kind", &k) == -1 ||
		    !ckpt_kind_ok(k.p) || ck_getint(&j, 0, "seq", &seq) == -1 ||
		    ck_getstr(&j, 0, "name", &nm) == -1 ||
		    ckpt_filename_time(nm.p, k.p, &t64) == -1) {
			seterr(err, "%s: corrupt lock file (pending names); "
			    "check the directory, then remove it", d->lock.p);
			goto out;
		}
		if (strcmp(s.p, sdir) == 0 && strcmp(k.p, kind) == 0)
			continue;	/* ours: recovery has run */
		ck_path(&p, s.p, k.p, ".intent");
		if (compat_lstat(p.p, &st) == -1 && errno == ENOENT)
			continue;	/* its owner gave it up */
		xbuf_add(keep, l, (size_t)(nl - l) + 1);
		xbuf_add(reserved, nm.p, nm.len + 1);
	}
	r = 0;
out:
	json_free(&j);
	buf_free(&t);
	buf_free(&s);
	buf_free(&k);
	buf_free(&nm);
	buf_free(&p);
	return r;
}

/* Is name among the reserved ones? */
int
pending_has(const struct buf *reserved, const char *name)
{
	const char *s;

	for (s = reserved->p; s < reserved->p + reserved->len;
	    s += strlen(s) + 1)
		if (strcmp(s, name) == 0)
			return 1;
	return 0;
}

/* Rewrite the lock file: keep, then our entry when name is not NULL. */
int
pending_write(struct dest *d, const struct buf *keep, const char *sdir,
    const char *kind, unsigned long long seq, const char *name, char *err)
{
	struct buf t;
	int r = -1;

	buf_init(&t);
	xbuf_add(&t, keep->p, keep->len);
	if (name != NULL) {
		xbuf_adds(&t, "{\"v\":1,\"state\":\"");
		json_escape(&t, sdir, strlen(sdir));
		xbuf_printf(&t, "\",\"kind\":\"%s\",\"seq\":%llu,\"name\":\"%s\""
		    "}\n", kind, seq, name);
	}
	if (compat_ftruncate(d->fd, 0) == -1 ||
	    (t.len > 0 && compat_pwrite(d->fd, t.p, t.len, 0) == -1) ||
	    compat_fsync(d->fd) == -1)
		seterr(err, "%s: write: %s", d->lock.p, strerror(errno));
	else
		r = 0;
	buf_free(&t);
	return r;
}
