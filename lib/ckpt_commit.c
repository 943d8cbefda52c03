/*
 * ckpt_commit: duo-ckpt commit.  Reads the stream with bounded memory,
 * spools what the marks confirm, and publishes it through an intent
 * (see ckpt_apply.c): into a new file of the output directory or
 * appended to one file, under that destination's own lock.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_int.h"

/* ---- commit ---- */

/* The data of the publication being gathered. */
struct pub {
	int		 fd;
	struct buf	 path;		/* absolute */
	struct buf	 w;		/* not yet written */
	long long	 wpos;		/* bytes written to fd */
	long long	 len, conflen;
	long long	 n, nconf;
	int64_t		 newest, newconf;	/* -1: none */
	EVP_MD_CTX	*cur, *conf;
};

/* What a commit publishes to. */
struct target {
	struct buf	 outdir;	/* -o, absolute */
	struct buf	 file;		/* -a, absolute */
	struct buf	 sdir;		/* the state directory, absolute */
	char		 sid[SID_HEX + 1];
};

static void
pub_init(struct pub *pb)
{
	memset(pb, 0, sizeof *pb);
	pb->fd = -1;
	buf_init(&pb->path);
	buf_init(&pb->w);
	pb->newest = pb->newconf = -1;
}

static void
pub_close(struct pub *pb, int remove)
{
	if (pb->fd != -1)
		compat_close(pb->fd);
	if (remove && pb->path.len > 0)
		(void)compat_unlink(pb->path.p, NULL);
	EVP_MD_CTX_free(pb->cur);
	EVP_MD_CTX_free(pb->conf);
	buf_free(&pb->path);
	buf_free(&pb->w);
	pub_init(pb);
}

static int
pub_open(struct ckpt *ck, struct pub *pb, const struct target *tg,
    char *err)
{
	char hex[17];
	unsigned char rnd[8];
	int flags = COMPAT_RDWR | COMPAT_CREAT;

	buf_reset(&pb->path);
	if (tg->outdir.len == 0) {
		ck_path(&pb->path, tg->sdir.p, ck->kind, ".spool");
		flags |= COMPAT_TRUNC | COMPAT_PRIVATE;
	} else {
		if (compat_random(rnd, sizeof rnd) == -1)
			return seterr(err, "no random bytes");
		hex_lower(hex, rnd, sizeof rnd);
		xbuf_printf(&pb->path, "%s/.duo-%s-%s-%s.tmp", tg->outdir.p,
		    ck->kind, tg->sid, hex);
		flags |= COMPAT_EXCL;
	}
	if ((pb->fd = compat_open(pb->path.p, flags, err)) == -1) {
		buf_reset(&pb->path);
		return -1;
	}
	if ((pb->cur = EVP_MD_CTX_new()) == NULL ||
	    (pb->conf = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(pb->cur, EVP_sha256(), NULL) != 1 ||
	    EVP_MD_CTX_copy_ex(pb->conf, pb->cur) != 1)
		return seterr(err, "SHA-256: cannot initialise");
	return 0;
}

static int
pub_flush(struct pub *pb, char *err)
{
	if (pb->w.len > 0) {
		if (compat_pwrite(pb->fd, pb->w.p, pb->w.len, pb->wpos) == -1)
			return seterr(err, "%s: write: %s", pb->path.p,
			    strerror(errno));
		pb->wpos += (long long)pb->w.len;
		buf_reset(&pb->w);
	}
	return 0;
}

static int
pub_add(struct pub *pb, const char *p, size_t n, char *err)
{
	xbuf_add(&pb->w, p, n);
	xbuf_addc(&pb->w, '\n');
	EVP_DigestUpdate(pb->cur, p, n);
	EVP_DigestUpdate(pb->cur, "\n", 1);
	pb->len += (long long)n + 1;
	return pb->w.len >= 256 * 1024 ? pub_flush(pb, err) : 0;
}

/* Remove the hidden temp files an interrupted run of this kind and
 * state directory left in the output directory. */
static void
clean_temps(struct ckpt *ck, const struct target *tg)
{
	struct compat_dir *d;
	struct buf pre, p;
	const char *name;
	size_t n;

	if (compat_dir_open(&d, tg->outdir.p, NULL) == -1)
		return;
	buf_init(&pre);
	buf_init(&p);
	xbuf_printf(&pre, ".duo-%s-%s-", ck->kind, tg->sid);
	while ((name = compat_dir_next(d)) != NULL) {
		n = strlen(name);
		if (n != pre.len + 16 + 4 ||
		    strncmp(name, pre.p, pre.len) != 0 ||
		    strcmp(name + n - 4, ".tmp") != 0)
			continue;
		ck_path(&p, tg->outdir.p, NULL, name);
		(void)compat_unlink(p.p, NULL);
	}
	compat_dir_close(d);
	buf_free(&pre);
	buf_free(&p);
}

static int
retention(struct ckpt *ck, const char *outdir, long long days, char *err)
{
	struct compat_dir *d;
	struct buf p;
	const char *name;
	int64_t t, limit;
	int rc = 0;

	limit = ck_now_ms(ck) / 1000 - days * 86400;
	if (compat_dir_open(&d, outdir, err) == -1)
		return -1;
	buf_init(&p);
	while ((name = compat_dir_next(d)) != NULL) {
		if (ckpt_filename_time(name, ck->kind, &t) == -1 || t >= limit)
			continue;
		ck_path(&p, outdir, NULL, name);
		if (compat_unlink(p.p, err) == -1) {
			rc = -1;
			break;
		}
		ck->deleted++;
	}
	compat_dir_close(d);
	buf_free(&p);
	if (rc == 0 && ck->deleted > 0)
		rc = compat_fsync_dir(outdir, err);
	return rc;
}

/*
 * Before appending: a pending-append marker left by a killed run.  Our
 * own (no intent of ours is pending: recovery ran) or one whose owner
 * has no intent any more is stale: whatever it covers was never
 * committed, and is cut back.  Another run's, with its intent still
 * there, must be completed by that run first.
 */
static int
check_marker(struct ckpt *ck, struct dest *d, const struct target *tg,
    char *err)
{
	struct compat_stat st;
	struct buf mstate, mkind, p;
	unsigned long long mseq;
	long long moff;
	int m, fd, rc = DUO_EXIT_FAIL;

	buf_init(&mstate);
	buf_init(&mkind);
	buf_init(&p);
	if ((m = marker_read(d, &mstate, &mkind, &mseq, &moff, err)) == -1)
		goto out;
	if (m == 0) {
		rc = DUO_EXIT_OK;
		goto out;
	}
	if (strcmp(mstate.p, tg->sdir.p) != 0 ||
	    strcmp(mkind.p, ck->kind) != 0) {
		ck_path(&p, mstate.p, mkind.p, ".intent");
		if (compat_lstat(p.p, &st) == 0 || errno != ENOENT) {
			seterr(err, "%s: an interrupted append of %s (state "
			    "%.80s) is pending; its next run completes it "
			    "(duo-ckpt -d %.80s get %s)", tg->file.p, mkind.p,
			    mstate.p, mstate.p, mkind.p);
			rc = DUO_EXIT_TEMP;
			goto out;
		}
	}
	if ((fd = compat_open(tg->file.p, COMPAT_RDWR, err)) != -1) {
		if (compat_fstat(fd, &st) == 0 && st.size > moff &&
		    (compat_ftruncate(fd, moff) == -1 ||
		    compat_fsync(fd) == -1)) {
			seterr(err, "%s: truncate: %s", tg->file.p,
			    strerror(errno));
			compat_close(fd);
			goto out;
		}
		compat_close(fd);
	} else if (errno != ENOENT)
		goto out;
	if (marker_clear(d, err) == -1)
		goto out;
	rc = DUO_EXIT_OK;
out:
	buf_free(&mstate);
	buf_free(&mkind);
	buf_free(&p);
	return rc;
}

/*
 * Publish what the marks so far confirmed: records, the health line
 * (when not NULL), or at least a new cursor.  A DUO_EXIT_* code.
 */
static int
publish(struct ckpt *ck, struct pub *pb, const struct target *tg,
    const struct buf *to, const struct buf *health, char *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	struct compat_stat st;
	struct intent in;
	struct dest d;
	struct buf name, keep, resv;
	int64_t now;
	int rc = DUO_EXIT_FAIL, spooled = 0, r, k;

	if (health == NULL && pb->nconf == 0 &&
	    strcmp(to->p, ck->cursor.p) == 0) {
		pub_close(pb, 1);
		return DUO_EXIT_OK;
	}
	intent_init(&in);
	dest_init(&d);
	buf_init(&name);
	buf_init(&keep);
	buf_init(&resv);
	now = ck_now_ms(ck) / 1000;
	in.seq = ck->seq + 1;
	xbuf_add(&in.cursor, to->p, to->len);
	in.newest = pb->newconf > ck->newest ? pb->newconf : ck->newest;
	if (pb->fd != -1) {
		/* Only what the marks confirmed. */
		if (pub_flush(pb, err) == -1)
			goto out;
		if (pb->wpos != pb->conflen &&
		    compat_ftruncate(pb->fd, pb->conflen) == -1) {
			seterr(err, "%s: truncate: %s", pb->path.p,
			    strerror(errno));
			goto out;
		}
		pb->wpos = pb->len = pb->conflen;
	}
	if (health != NULL) {
		if (pb->fd == -1 && pub_open(ck, pb, tg, err) == -1)
			goto out;
		if (compat_pwrite(pb->fd, health->p, health->len,
		    pb->conflen) == -1) {
			seterr(err, "%s: write: %s", pb->path.p,
			    strerror(errno));
			goto out;
		}
		EVP_DigestUpdate(pb->conf, health->p, health->len);
		pb->conflen += (long long)health->len;
		pb->wpos = pb->len = pb->conflen;
	}
	if (pb->conflen == 0) {
		in.mode = MODE_NONE;
		memcpy(in.sha, EMPTY_SHA, SHA_HEX);
		pub_close(pb, 1);
	} else {
		if ((r = dest_lock(ck, &d, tg->outdir.len ? tg->outdir.p :
		    tg->file.p, tg->outdir.len == 0, err)) != DUO_EXIT_OK) {
			rc = r;
			goto out;
		}
		if (tg->outdir.len == 0 &&
		    (r = check_marker(ck, &d, tg, err)) != DUO_EXIT_OK) {
			rc = r;
			goto out;
		}
		ck_step(ck, CKPT_STEP_DATA);
		if (compat_fsync(pb->fd) == -1) {
			seterr(err, "%s: fsync: %s", pb->path.p,
			    strerror(errno));
			goto out;
		}
		/* The spool's own entry, before the intent refers to it. */
		if (compat_fsync_dir(tg->outdir.len ? tg->outdir.p :
		    tg->sdir.p, err) == -1)
			goto out;
		EVP_DigestFinal_ex(pb->conf, md, &mdlen);
		hex_lower(in.sha, md, mdlen);
		in.bytes = pb->conflen;
		if (tg->outdir.len == 0) {
			in.mode = MODE_APPEND;
			xbuf_add(&in.file, tg->file.p, tg->file.len);
			if (compat_lstat(in.file.p, &st) == 0) {
				if (st.type != COMPAT_FILE) {
					seterr(err, "%s: not a regular file; "
					    "refusing", in.file.p);
					goto out;
				}
				in.offset = st.size;
			} else if (errno != ENOENT) {
				seterr(err, "%s: %s", in.file.p,
				    strerror(errno));
				goto out;
			}
			if (marker_write(&d, tg->sdir.p, ck->kind, in.seq,
			    in.offset, err) == -1)
				goto out;
		} else {
			in.mode = MODE_FILE;
			xbuf_add(&in.tmp, pb->path.p, pb->path.len);
			if (pending_read(&d, tg->sdir.p, ck->kind, &keep, &resv,
			    err) == -1)
				goto out;
			/* A name neither there nor promised to another. */
			for (k = 0;; k++) {
				buf_reset(&name);
				ckpt_filename(&name, ck->kind, now + k, in.seq);
				buf_reset(&in.file);
				xbuf_printf(&in.file, "%s/%s", tg->outdir.p,
				    name.p);
				if (compat_lstat(in.file.p, &st) == -1 &&
				    errno == ENOENT && !pending_has(&resv,
				    name.p))
					break;
				if (k == 60) {
					seterr(err, "%s: exists already; "
					    "nothing published, run again",
					    in.file.p);
					rc = DUO_EXIT_TEMP;
					goto out;
				}
			}
			if (pending_write(&d, &keep, tg->sdir.p, ck->kind,
			    in.seq, name.p, err) == -1)
				goto out;
		}
	}
	if (ck_ledger_len(ck, &in.ledger, err) == -1)
		goto out;
	entry_format(&in.entry, "commit", in.seq, now, ck->cursor.p, &in,
	    pb->nconf, pb->newconf);
	/*
	 * From here on the intent may exist: the spooled data must stay
	 * for recovery whatever happens.
	 */
	spooled = 1;
	if ((rc = ck_run_intent(ck, &in, &d, err)) != DUO_EXIT_OK)
		goto out;
	ck->records += (unsigned long long)pb->nconf;
	if (in.mode != MODE_NONE)
		ck->files++;
	if (pb->fd != -1) {
		/* Renamed (file) or copied and removed (append). */
		buf_reset(&pb->path);
		pub_close(pb, 0);
	}
	rc = DUO_EXIT_OK;
out:
	if (rc != DUO_EXIT_OK) {
		if (spooled)
			buf_reset(&pb->path);
		pub_close(pb, 1);
	}
	dest_unlock(&d);
	intent_free(&in);
	buf_free(&name);
	buf_free(&keep);
	buf_free(&resv);
	return rc;
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

/* Remember the host of the first commit; never replace another's. */
static int
write_host(struct ckpt *ck, const struct buf *host, char *err)
{
	struct buf t;
	int r;

	buf_init(&t);
	xbuf_add(&t, host->p, host->len);
	xbuf_addc(&t, '\n');
	r = ck_write_atomic(ck, ck->dir, "host", t.p, t.len, 0, 0, 1, err);
	buf_free(&t);
	if (r == -1)
		return -1;
	if (r == 1) {
		/* Another kind's first commit was first: same host? */
		if (load_host(ck, err) == -1)
			return -1;
		if (strcmp(ck->host.p, host->p) != 0)
			return seterr(err, "stdin: stream is from host %.100s "
			    "but %s belongs to %.100s; nothing committed",
			    host->p, ck->dir, ck->host.p);
		return 0;
	}
	buf_reset(&ck->host);
	xbuf_add(&ck->host, host->p, host->len);
	return 0;
}

/* Check the destination: a configuration error (2) when unusable. */
static int
target_init(struct ckpt *ck, struct target *tg, const struct ckpt_opts *o,
    char *err)
{
	struct compat_stat st;
	struct buf t;
	char e2[DUO_ERRLEN];
	size_t n;
	int fd, rc = DUO_EXIT_USAGE;

	buf_init(&tg->outdir);
	buf_init(&tg->file);
	buf_init(&tg->sdir);
	buf_init(&t);
	ck_bstr(&tg->outdir);
	ck_bstr(&tg->file);
	ck_sid(ck->dir, tg->sid);
	if (compat_abspath(ck->dir, &tg->sdir, err) == -1)
		goto out;
	if (o->outdir == NULL && o->append == NULL) {
		seterr(err, "no output: give -o dir or -a file");
		goto out;
	}
	if (o->outdir != NULL) {
		xbuf_adds(&t, o->outdir);
		for (n = t.len; n > 1 && t.p[n - 1] == '/'; n--)
			t.p[n - 1] = '\0';
		t.len = n;
		if (compat_mkdir(t.p, e2) == -1) {
			seterr(err, "output directory %s", e2);
			goto out;
		}
		if (compat_abspath(t.p, &tg->outdir, e2) == -1) {
			seterr(err, "output directory %s", e2);
			goto out;
		}
	} else {
		if (compat_abspath(o->append, &tg->file, e2) == -1) {
			seterr(err, "-a %s: %s", o->append, e2);
			goto out;
		}
		if (compat_lstat(tg->file.p, &st) == 0 &&
		    st.type != COMPAT_FILE) {
			seterr(err, "-a %s: %s; refusing", tg->file.p,
			    st.type == COMPAT_LINK ? "is a symbolic link (give "
			    "the file it points to)" : "not a regular file");
			goto out;
		}
	}
	/* Can we create our lock file there? */
	dest_path(ck, &t, o->outdir != NULL ? tg->outdir.p : tg->file.p,
	    o->outdir == NULL);
	if (compat_lstat(t.p, &st) == -1 && errno == ENOENT) {
		if ((fd = compat_open(t.p, COMPAT_RDWR | COMPAT_CREAT, e2)) ==
		    -1) {
			seterr(err, "%s: cannot create a lock file there: %s",
			    o->outdir != NULL ? "output directory" : "-a", e2);
			goto out;
		}
		compat_close(fd);
		/* Its entry must survive a power cut: it will hold the
		 * pending-append marker or the promised names. */
		buf_reset(&t);
		if (o->outdir != NULL)
			xbuf_add(&t, tg->outdir.p, tg->outdir.len);
		else
			xbuf_add(&t, tg->file.p, (size_t)(strrchr(tg->file.p,
			    '/') - tg->file.p));
		if (compat_fsync_dir(t.len > 0 ? t.p : "/", err) == -1)
			goto out;
	}
	rc = DUO_EXIT_OK;
out:
	buf_free(&t);
	return rc;
}

static void
target_free(struct target *tg)
{
	buf_free(&tg->outdir);
	buf_free(&tg->file);
	buf_free(&tg->sdir);
}

/* The local time's offset from UTC at t (s), through fmt's engine. */
static long
local_utcoff(int64_t t)
{
	struct fmt f;
	char e[DUO_ERRLEN];
	long off;
	int utc;

	if ((utc = fmt_zone("local", e)) == -1)
		return 0;
	fmt_init(&f, FMT_MPE, 0, utc);
	off = fmt_utcoff(&f, t);
	fmt_free(&f);
	return off;
}

int
ckpt_commit(struct ckpt *ck, int fd, const struct ckpt_opts *o, char *err)
{
	struct ckpt_ctl c;
	struct ckpt_in rd;
	struct target tg;
	struct json j;
	struct pub pb;
	struct buf to, health;
	const char *line;
	char e2[DUO_ERRLEN];
	unsigned long long lineno = 0;
	long long seg = 0;
	size_t n;
	int64_t t, lastpub;
	int r, flags, rc = DUO_EXIT_FAIL, ended = 0, fail = 0, own;
	int got_exit = 0, exitst = 0, more = 0, locked = 0, sig = 0;

	ckpt_ctl_init(&c);
	json_init(&j);
	pub_init(&pb);
	buf_init(&to);
	buf_init(&health);
	ckpt_in_init(&rd, fd, ck->sig, ck->grace_ms);
	e2[0] = '\0';
	if ((rc = target_init(ck, &tg, o, err)) != DUO_EXIT_OK)
		goto out;
	rc = DUO_EXIT_FAIL;
	/* The begin line: before the lock, so get can run meanwhile. */
	r = ckpt_in_line(&rd, &line, &n, &flags);
	lineno++;
	if (r == -1) {
		seterr(err, "stdin: read error: %s", strerror(errno));
		goto out;
	}
	if (r == 0 || r == -2) {
		seterr(err, "stdin: empty stream, nothing committed (did "
		    "duo-get fail? it must run with -C)");
		rc = DUO_EXIT_TEMP;
		goto out;
	}
	if (!ckpt_ctl_is(line, n)) {
		seterr(err, "stdin: line 1: no begin line: run duo-get with "
		    "-C to write the stream protocol's control lines");
		goto out;
	}
	if (flags & (LINE_NOEOL | LINE_LONG)) {
		seterr(err, "stdin: line 1: incomplete begin line");
		rc = DUO_EXIT_TEMP;
		goto out;
	}
	if (ckpt_ctl_parse(&c, &j, line, n, e2) == -1) {
		seterr(err, "stdin: line 1: %s", e2);
		goto out;
	}
	if (c.type == CKPT_EXIT) {
		/* duo-get failed before it could begin: its status is the
		 * chain's, and there is nothing to commit. */
		seterr(err, "%s: upstream exited with status %d before its "
		    "begin line; nothing committed", ck->kind, (int)c.status);
		rc = c.status == 0 ? DUO_EXIT_FAIL : (int)c.status;
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
	if (ckpt_cursor_check(ck->kind, c.cursor.p, c.cursor.len, 1,
	    ck_now_ms(ck), e2) == -1) {
		seterr(err, "stdin: line 1: %s; nothing committed", e2);
		goto out;
	}
	if ((rc = ckpt_lock(ck, err)) != DUO_EXIT_OK)
		goto out;
	locked = 1;
	if ((rc = ckpt_recover(ck, err)) != DUO_EXIT_OK ||
	    (rc = ckpt_load(ck, err)) != DUO_EXIT_OK)
		goto out;
	rc = DUO_EXIT_FAIL;
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
	if (ledger_compact(ck, err) == -1)
		goto out;
	if (tg.outdir.len > 0)
		clean_temps(ck, &tg);
	if (ck->host.len == 0 && write_host(ck, &c.host, err) == -1)
		goto out;
	xbuf_add(&to, ck->cursor.p, ck->cursor.len);
	lastpub = ck_now_ms(ck);
	for (;;) {
		r = ckpt_in_line(&rd, &line, &n, &flags);
		lineno++;
		if (r == -2) {
			sig = 1;
			break;
		}
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
		if (got_exit) {
			seterr(e2, "stdin: line %llu: a line after the exit "
			    "line", lineno);
			fail = 1;
			break;
		}
		if (!ckpt_ctl_is(line, n)) {
			if (ended) {
				seterr(e2, "stdin: line %llu: data after the "
				    "end line", lineno);
				fail = 1;
				break;
			}
			if (pb.fd == -1 && pub_open(ck, &pb, &tg, e2) == -1) {
				fail = 1;
				break;
			}
			if (pub_add(&pb, line, n, e2) == -1) {
				fail = 1;
				break;
			}
			seg++;
			if (ckpt_event_time(&j, line, n, &t) == 1 &&
			    t > pb.newest)
				pb.newest = t;
			continue;
		}
		if (ckpt_ctl_parse(&c, &j, line, n, e2) == -1) {
			char e3[DUO_ERRLEN];

			snprintf(e3, sizeof e3, "%s", e2);
			seterr(e2, "stdin: line %llu: %s", lineno, e3);
			fail = 1;
			break;
		}
		if (c.type == CKPT_EXIT) {
			got_exit = 1;
			exitst = c.status;
			more = c.more;
			continue;
		}
		if (ended) {
			seterr(e2, "stdin: line %llu: a control line after the "
			    "end line", lineno);
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
		if (ckpt_cursor_check(ck->kind, c.cursor.p, c.cursor.len, 0,
		    ck_now_ms(ck), e2) == -1) {
			char e3[DUO_ERRLEN];

			snprintf(e3, sizeof e3, "%s", e2);
			seterr(e2, "stdin: line %llu: %s line with a %s; "
			    "nothing after the previous mark delivered",
			    lineno, c.type == CKPT_END ? "end" : "mark", e3);
			fail = 1;
			break;
		}
		/* Confirm the segment. */
		if (pb.fd != -1 && EVP_MD_CTX_copy_ex(pb.conf, pb.cur) != 1) {
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
		    (o->maxsec > 0 && ck_now_ms(ck) - lastpub >=
		    o->maxsec * 1000)) {
			if ((rc = publish(ck, &pb, &tg, &to, NULL, err)) !=
			    DUO_EXIT_OK)
				goto out;
			lastpub = ck_now_ms(ck);
		}
	}
	if (ck->sig != NULL && *ck->sig != 0)
		sig = 1;
	ck->signalled = sig;
	/* The run's outcome: ours and the exit line's. */
	own = DUO_EXIT_OK;
	if (fail)
		own = DUO_EXIT_FAIL;
	else if (sig) {
		seterr(e2, "%s: interrupted by a signal: published up to the "
		    "last mark", ck->kind);
		own = DUO_EXIT_TEMP;
	} else if (!got_exit) {
		seterr(e2, "%s: stream ended without an exit line (upstream "
		    "killed?)", ck->kind);
		own = DUO_EXIT_TEMP;
	}
	rc = got_exit ? ckpt_worse(own, exitst) : own;
	if (o->health)
		ckpt_health(&health, ck->kind, ck_now_ms(ck) / 1000,
		    local_utcoff(ck_now_ms(ck) / 1000), rc, more,
		    ck->records + (unsigned long long)pb.nconf,
		    pb.newconf > ck->newest ? pb.newconf : ck->newest,
		    c.host.len > 0 ? c.host.p : ck->host.p);
	if ((r = publish(ck, &pb, &tg, &to, o->health ? &health : NULL,
	    err)) != DUO_EXIT_OK) {
		rc = r;
		goto out;
	}
	if (o->outdir != NULL && o->keepdays > 0 &&
	    retention(ck, tg.outdir.p, o->keepdays, err) == -1) {
		rc = DUO_EXIT_FAIL;
		goto out;
	}
	if (own != DUO_EXIT_OK)
		seterr(err, "%s", e2);
	else if (rc != DUO_EXIT_OK)
		seterr(err, "%s: upstream exited with status %d; published up "
		    "to its last mark", ck->kind, exitst);
out:
	if (locked)
		(void)run_write(ck, rc, more);
	pub_close(&pb, 1);
	ckpt_unlock(ck);
	ckpt_ctl_free(&c);
	ckpt_in_free(&rd);
	target_free(&tg);
	json_free(&j);
	buf_free(&to);
	buf_free(&health);
	return rc;
}
