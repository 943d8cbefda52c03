/*
 * ckpt_apply: the state directory and exactly-once publication: open,
 * lock, load, apply an intent, recover, get and set.
 *
 * State directory layout (one set of files per kind):
 *	host		the Duo host of the first commit, one line
 *	KIND.cursor	{"v":1,"seq":N,"cursor":{...},"newest":T} and LF
 *	KIND.ledger	one JSON line per commit or set (append-only,
 *			older entries compacted into one summary line)
 *	KIND.intent	only while a commit is under way
 *	KIND.lock	the kind's lock, held by the one commit or get
 *	KIND.spool	append mode: the data of the commit under way
 *	KIND.run	the outcome of the last commit run
 *	.KIND.*.tmp	temporary files of atomic rewrites
 *
 * A commit spools its data (a hidden temp file in the output directory,
 * or KIND.spool), fsyncs it, then writes the intent (what is about to be
 * published, its size and SHA-256, the ledger entry and new cursor) and
 * only then publishes, writes the cursor, appends the ledger entry and
 * removes the intent.  Every step after the intent is idempotent, so
 * recovery replays the intent: an interrupted commit is completed,
 * never published twice.  A torn append is first cut back to the size
 * the intent recorded.  When the output itself vanished before the
 * cursor moved (the output directory deleted or replaced), recovery
 * undoes the commit instead: its records are fetched again.
 *
 * Shared destinations: publication takes the destination's own lock
 * (-o: DIR/.duo-KIND.lock; -a: .duo-lock-HASH beside the file, which
 * also holds a pending-append marker while an append may be torn), so
 * two kinds appending to one file, or two state directories publishing
 * one kind into one directory, never overwrite or cut back each other's
 * committed data.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_int.h"

#define CK_ROLLBACK	(-2)	/* apply: the output vanished; undo */

/* ---- open, lock ---- */

int
ckpt_open(struct ckpt *ck, const char *dir, const char *kind, char *err)
{
	memset(ck, 0, sizeof *ck);
	ck->lockfd = -1;
	ck->newest = -1;
	buf_init(&ck->cursor);
	buf_init(&ck->host);
	xbuf_adds(&ck->cursor, "{}");
	ck_bstr(&ck->host);
	if (kind != NULL && !ckpt_kind_ok(kind)) {
		seterr(err, "%s: unknown kind", kind);
		return DUO_EXIT_USAGE;
	}
	if (kind != NULL)
		snprintf(ck->kind, sizeof ck->kind, "%s", kind);
	ck->dir = xstrdup(dir);
	if (compat_mkdir(dir, err) == -1 || compat_dir_private(dir, err) == -1)
		return DUO_EXIT_USAGE;
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
	struct buf p;
	int fd, r;

	buf_init(&p);
	ck_path(&p, ck->dir, ck->kind, ".lock");
	if ((fd = compat_open(p.p, COMPAT_RDWR | COMPAT_CREAT, err)) == -1) {
		buf_free(&p);
		return DUO_EXIT_FAIL;
	}
	if ((r = compat_lock(fd)) != 0) {
		if (r == 1)
			seterr(err, "%s: busy: another run holds %s.lock",
			    ck->kind, ck->kind);
		else
			seterr(err, "%s: lock: %s", p.p, strerror(errno));
		compat_close(fd);
		buf_free(&p);
		return r == 1 ? DUO_EXIT_TEMP : DUO_EXIT_FAIL;
	}
	buf_free(&p);
	ck->lockfd = fd;
	return DUO_EXIT_OK;
}

void
ckpt_unlock(struct ckpt *ck)
{
	if (ck->lockfd != -1) {
		compat_close(ck->lockfd);
		ck->lockfd = -1;
	}
}

/* ---- load ---- */

int
load_host(struct ckpt *ck, char *err)
{
	struct buf p, t;
	size_t i;
	int r;

	buf_init(&p);
	buf_init(&t);
	ck_path(&p, ck->dir, NULL, "host");
	buf_reset(&ck->host);
	ck_bstr(&ck->host);
	if ((r = ck_read_file(p.p, &t, 1024, err)) <= 0)
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
	long long lsize, nw;
	int r, rc = DUO_EXIT_FAIL, lt;

	buf_init(&p);
	buf_init(&t);
	buf_init(&tail);
	entry_init(&e);
	json_init(&j);
	buf_reset(&ck->cursor);
	xbuf_adds(&ck->cursor, "{}");
	ck->seq = 0;
	ck->newest = -1;
	ck->have_state = 0;
	if (load_host(ck, err) == -1)
		goto out;
	ck_path(&p, ck->dir, ck->kind, ".cursor");
	if ((r = ck_read_file(p.p, &t, CKPT_MAXSTATE, err)) == -1)
		goto out;
	if (r == 1) {
		if (state_parse(&t, &ck->seq, &ck->cursor, &nw, p.p,
		    err) == -1) {
			size_t l = strlen(err);

			snprintf(err + l, DUO_ERRLEN - l, "; refusing to "
			    "start over: restore it or run duo-ckpt set %s "
			    "CURSOR", ck->kind);
			goto out;
		}
		ck->have_state = 1;
		ck->newest = nw;
	}
	ck_path(&p, ck->dir, ck->kind, ".ledger");
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

static void
dirname_of(struct buf *dir, const char *file)
{
	const char *slash = strrchr(file, '/');

	buf_reset(dir);
	if (slash == NULL)
		xbuf_adds(dir, ".");
	else if (slash == file)
		xbuf_adds(dir, "/");
	else
		xbuf_add(dir, file, (size_t)(slash - file));
}

/* Do the files at a and b hold the same bytes as the intent? */
static int
matches(const char *name, const struct intent *in, long long off, char *err)
{
	char sha[SHA_HEX];

	return ck_sha_file(name, off, in->bytes, sha, err) == 0 &&
	    strcmp(sha, in->sha) == 0;
}

static int
publish_file(struct ckpt *ck, const struct intent *in, int recovery,
    struct dest *d, char *err)
{
	struct compat_stat st;
	struct dest own;
	struct buf dir, sdir, keep, resv;
	char e2[DUO_ERRLEN];
	int r = DUO_EXIT_FAIL;

	buf_init(&dir);
	buf_init(&sdir);
	buf_init(&keep);
	buf_init(&resv);
	dest_init(&own);
	dirname_of(&dir, in->file.p);
	if (d == NULL) {
		d = &own;
		if ((r = dest_lock(ck, d, dir.p, 0, err)) != DUO_EXIT_OK) {
			if (r == DUO_EXIT_FAIL && errno == ENOENT) {
				seterr(err, "output directory %s is gone",
				    dir.p);
				r = CK_ROLLBACK;
			}
			goto out;
		}
		r = DUO_EXIT_FAIL;
	}
	if (compat_lstat(in->file.p, &st) == 0) {
		/* Renamed already: check it is ours. */
		if (st.type != COMPAT_FILE || st.size != in->bytes ||
		    !matches(in->file.p, in, 0, e2)) {
			seterr(err, "%s: exists but differs from the commit "
			    "being recovered; refusing (another program wrote "
			    "it? move it aside)", in->file.p);
			goto out;
		}
		if (compat_unlink(in->tmp.p, err) == -1)
			goto out;
	} else if (errno != ENOENT) {
		seterr(err, "%s: %s", in->file.p, strerror(errno));
		goto out;
	} else {
		if (recovery) {
			if (compat_lstat(in->tmp.p, &st) == -1) {
				if (errno != ENOENT) {
					seterr(err, "%s: %s", in->tmp.p,
					    strerror(errno));
					goto out;
				}
				seterr(err, "%s and its temporary file are "
				    "gone (output directory deleted or "
				    "replaced?)", in->file.p);
				r = CK_ROLLBACK;
				goto out;
			}
			if (st.type != COMPAT_FILE || st.size != in->bytes ||
			    !matches(in->tmp.p, in, 0, e2)) {
				seterr(err, "%s: temporary file differs from "
				    "the intent; refusing", in->tmp.p);
				goto out;
			}
		}
		if (compat_rename_new(in->tmp.p, in->file.p, err) == -1)
			goto out;
	}
	ck_step(ck, CKPT_STEP_PUBMID);
	if (compat_fsync_dir(dir.p, err) == -1)
		goto out;
	/* The name is taken now: drop our pending entry (stale if not). */
	if (compat_abspath(ck->dir, &sdir, e2) == 0 &&
	    pending_read(d, sdir.p, ck->kind, &keep, &resv, e2) == 0)
		(void)pending_write(d, &keep, sdir.p, ck->kind, 0, NULL, e2);
	r = DUO_EXIT_OK;
out:
	dest_unlock(&own);
	buf_free(&dir);
	buf_free(&sdir);
	buf_free(&keep);
	buf_free(&resv);
	return r;
}

/* Copy bytes of the spool to the file at offset; PUBMID at half. */
static int
copy_spool(struct ckpt *ck, int sfd, const char *spool, int fd,
    const struct intent *in, char *err)
{
	char tmp[65536];
	long long done, half;
	ssize_t r;
	size_t want;

	half = in->bytes / 2;
	for (done = 0; done < in->bytes; done += r) {
		want = in->bytes - done > (long long)sizeof tmp ?
		    sizeof tmp : (size_t)(in->bytes - done);
		if (done < half && (long long)want > half - done)
			want = (size_t)(half - done);
		if ((r = compat_pread(sfd, tmp, want, done)) <= 0)
			return seterr(err, "%s: short read", spool);
		if (compat_pwrite(fd, tmp, (size_t)r, in->offset + done) == -1)
			return seterr(err, "%s: write: %s", in->file.p,
			    strerror(errno));
		if (done + r == half && half > 0)
			ck_step(ck, CKPT_STEP_PUBMID);
	}
	return 0;
}

static int
publish_append(struct ckpt *ck, const struct intent *in, int recovery,
    struct dest *d, char *err)
{
	struct compat_stat st;
	struct dest own;
	struct buf spool, dir, mstate, mkind, sdir;
	unsigned long long mseq = 0;
	long long moff = 0;
	char sha[SHA_HEX], e2[DUO_ERRLEN];
	int fd = -1, sfd = -1, rc = DUO_EXIT_FAIL, created, m;

	buf_init(&spool);
	buf_init(&dir);
	buf_init(&mstate);
	buf_init(&mkind);
	buf_init(&sdir);
	dest_init(&own);
	ck_path(&spool, ck->dir, ck->kind, ".spool");
	dirname_of(&dir, in->file.p);
	if (d == NULL) {
		d = &own;
		if ((rc = dest_lock(ck, d, in->file.p, 1, err)) !=
		    DUO_EXIT_OK) {
			if (rc == DUO_EXIT_FAIL && errno == ENOENT) {
				seterr(err, "the directory of %s is gone",
				    in->file.p);
				rc = CK_ROLLBACK;
			}
			goto out;
		}
		rc = DUO_EXIT_FAIL;
	}
	if ((m = marker_read(d, &mstate, &mkind, &mseq, &moff, err)) == -1)
		goto out;
	if (compat_abspath(ck->dir, &sdir, err) == -1)
		goto out;
	if (m == 0 || strcmp(mstate.p, sdir.p) != 0 ||
	    strcmp(mkind.p, ck->kind) != 0 || mseq != in->seq) {
		/* The marker went after the append was durable. */
		if (recovery) {
			rc = DUO_EXIT_OK;
			goto out;
		}
		seterr(err, "%s: the pending-append marker is gone", d->lock.p);
		goto out;
	}
	created = compat_lstat(in->file.p, &st) == -1 && errno == ENOENT;
	if ((fd = compat_open(in->file.p, COMPAT_RDWR | COMPAT_CREAT, err)) ==
	    -1)
		goto out;
	if (compat_fstat(fd, &st) == -1) {
		seterr(err, "%s: %s", in->file.p, strerror(errno));
		goto out;
	}
	if (st.size < in->offset) {
		seterr(err, "%s is shorter than before the commit (rotated, "
		    "truncated or replaced?)", in->file.p);
		rc = marker_clear(d, e2) == 0 ? CK_ROLLBACK : DUO_EXIT_FAIL;
		goto out;
	}
	if (recovery && st.size >= in->offset + in->bytes &&
	    ck_sha_fd(fd, in->file.p, in->offset, in->bytes, sha, err) == 0 &&
	    strcmp(sha, in->sha) == 0)
		goto synced;	/* appended before the crash */
	if (st.size > in->offset + in->bytes) {
		seterr(err, "%s: size %lld, expected %lld to %lld: another "
		    "program changed it; refusing", in->file.p,
		    (long long)st.size, in->offset, in->offset + in->bytes);
		goto out;
	}
	if ((sfd = compat_open(spool.p, COMPAT_RD, err)) == -1) {
		if (recovery && errno == ENOENT) {
			/* Lost (a power cut before its entry was synced):
			 * nothing after the offset is committed. */
			seterr(err, "%s is gone", spool.p);
			if (compat_ftruncate(fd, in->offset) == 0 &&
			    compat_fsync(fd) == 0 && marker_clear(d, e2) == 0)
				rc = CK_ROLLBACK;
		}
		goto out;
	}
	if (recovery && (ck_sha_fd(sfd, spool.p, 0, in->bytes, sha, err) ==
	    -1 || strcmp(sha, in->sha) != 0)) {
		seterr(err, "%s: spooled data differs from the intent; "
		    "refusing", spool.p);
		goto out;
	}
	/* Roll a torn append back to the last committed size. */
	if (st.size != in->offset && compat_ftruncate(fd, in->offset) == -1) {
		seterr(err, "%s: truncate: %s", in->file.p, strerror(errno));
		goto out;
	}
	/* Room first: a full disk must not show tailers a torn line. */
	if (compat_reserve(fd, in->offset, in->bytes) == -1) {
		seterr(err, "%s: no room for %lld more bytes: %s; nothing "
		    "appended", in->file.p, in->bytes, strerror(errno));
		goto out;
	}
	if (copy_spool(ck, sfd, spool.p, fd, in, err) == -1) {
		/* Take back what was written, at once. */
		if (compat_ftruncate(fd, in->offset) == 0)
			(void)compat_fsync(fd);
		goto out;
	}
synced:
	if (compat_fsync(fd) == -1) {
		seterr(err, "%s: fsync: %s", in->file.p, strerror(errno));
		goto out;
	}
	if (created && compat_fsync_dir(dir.p, err) == -1)
		goto out;
	if (marker_clear(d, err) == -1)
		goto out;
	rc = DUO_EXIT_OK;
out:
	if (fd != -1)
		compat_close(fd);
	if (sfd != -1)
		compat_close(sfd);
	dest_unlock(&own);
	buf_free(&spool);
	buf_free(&dir);
	buf_free(&mstate);
	buf_free(&mkind);
	buf_free(&sdir);
	return rc;
}

/* Undo an intent whose output vanished before the cursor moved. */
static int
rollback(struct ckpt *ck, const struct intent *in, const char *why,
    char *err)
{
	struct compat_stat st;
	struct buf p;
	int fd, rc = -1;

	buf_init(&p);
	ck_path(&p, ck->dir, ck->kind, ".ledger");
	if ((fd = compat_open(p.p, COMPAT_RDWR, err)) != -1) {
		if (compat_fstat(fd, &st) == 0 && st.size > in->ledger &&
		    (compat_ftruncate(fd, in->ledger) == -1 ||
		    compat_fsync(fd) == -1)) {
			seterr(err, "%s: truncate: %s", p.p, strerror(errno));
			compat_close(fd);
			goto out;
		}
		compat_close(fd);
	} else if (errno != ENOENT)
		goto out;
	if (in->mode == MODE_FILE)
		(void)compat_unlink(in->tmp.p, NULL);
	ck_path(&p, ck->dir, ck->kind, ".spool");
	(void)compat_unlink(p.p, NULL);
	ck_path(&p, ck->dir, ck->kind, ".intent");
	if (compat_unlink(p.p, err) == -1 ||
	    compat_fsync_dir(ck->dir, err) == -1)
		goto out;
	ck->rolledback = 1;
	seterr(ck->note, "%s: %.150s: undid the interrupted "
	    "commit %llu; its records will be fetched again", ck->kind, why,
	    in->seq);
	rc = 0;
out:
	buf_free(&p);
	return rc;
}

/*
 * Apply an intent from step 3 on.  d is the destination's lock when
 * the caller holds it (a commit), NULL in recovery.  Returns a
 * DUO_EXIT_* code, or CK_ROLLBACK when the intent was undone.
 */
static int
apply(struct ckpt *ck, const struct intent *in, int recovery,
    struct dest *d, char *err)
{
	struct compat_stat st;
	struct buf p, t, name;
	unsigned long long seq;
	long long half, newest;
	int fd = -1, r, rc = DUO_EXIT_FAIL;

	buf_init(&p);
	buf_init(&t);
	buf_init(&name);
	/* Is the state written already?  Then the data is published. */
	ck_path(&p, ck->dir, ck->kind, ".cursor");
	if ((r = ck_read_file(p.p, &t, CKPT_MAXSTATE, err)) == -1)
		goto out;
	seq = 0;
	if (r == 1 && state_parse(&t, &seq, &name, &newest, p.p, err) == -1)
		seq = 0;	/* a set over a corrupt state replaces it */
	/* 1. The data. */
	ck_step(ck, CKPT_STEP_PUBLISH);
	r = DUO_EXIT_OK;
	if (seq != in->seq && in->mode == MODE_FILE)
		r = publish_file(ck, in, recovery, d, err);
	else if (seq != in->seq && in->mode == MODE_APPEND)
		r = publish_append(ck, in, recovery, d, err);
	else if (in->mode == MODE_FILE && compat_lstat(in->file.p, &st) == 0)
		(void)compat_unlink(in->tmp.p, NULL);
	if (r == CK_ROLLBACK) {
		char why[DUO_ERRLEN];

		snprintf(why, sizeof why, "%s", err);
		rc = rollback(ck, in, why, err) == 0 ? CK_ROLLBACK :
		    DUO_EXIT_FAIL;
		goto out;
	}
	if (r != DUO_EXIT_OK) {
		rc = r;
		goto out;
	}
	/* 2. The state: written unless it already is the new one. */
	if (seq != in->seq) {
		buf_reset(&t);
		state_format(&t, in->seq, &in->cursor, in->newest);
		buf_reset(&name);
		xbuf_printf(&name, "%s.cursor", ck->kind);
		if (ck_write_atomic(ck, ck->dir, name.p, t.p, t.len,
		    CKPT_STEP_STATETMP, CKPT_STEP_STATE, 0, err) == -1)
			goto out;
	}
	/* 3. The ledger: cut back to its size before, append the entry. */
	ck_step(ck, CKPT_STEP_LEDGER);
	ck_path(&p, ck->dir, ck->kind, ".ledger");
	if ((fd = compat_open(p.p, COMPAT_RDWR | COMPAT_CREAT, err)) == -1)
		goto out;
	if (compat_fstat(fd, &st) == -1) {
		seterr(err, "%s: %s", p.p, strerror(errno));
		goto out;
	}
	if (st.size < in->ledger) {
		seterr(err, "%s: shorter than before the commit being "
		    "recovered; refusing", p.p);
		goto out;
	}
	if (st.size > in->ledger && compat_ftruncate(fd, in->ledger) == -1) {
		seterr(err, "%s: truncate: %s", p.p, strerror(errno));
		goto out;
	}
	buf_reset(&t);
	xbuf_add(&t, in->entry.p, in->entry.len);
	xbuf_addc(&t, '\n');
	half = (long long)t.len / 2;
	if (compat_pwrite(fd, t.p, (size_t)half, in->ledger) == -1) {
		seterr(err, "%s: write: %s", p.p, strerror(errno));
		goto out;
	}
	ck_step(ck, CKPT_STEP_LEDGERMID);
	if (compat_pwrite(fd, t.p + half, t.len - (size_t)half,
	    in->ledger + half) == -1 || compat_fsync(fd) == -1) {
		seterr(err, "%s: write: %s", p.p, strerror(errno));
		goto out;
	}
	if (in->ledger == 0 && compat_fsync_dir(ck->dir, err) == -1)
		goto out;
	/* 4. Done: drop the spool (the sink is durable), then the intent. */
	if (in->mode == MODE_APPEND) {
		ck_path(&p, ck->dir, ck->kind, ".spool");
		(void)compat_unlink(p.p, NULL);
	}
	ck_step(ck, CKPT_STEP_UNINTENT);
	ck_path(&p, ck->dir, ck->kind, ".intent");
	if (compat_unlink(p.p, err) == -1)
		goto out;
	/*
	 * The commit is complete.  Should this sync fail, a power cut may
	 * bring the intent back; recovery then replays it, harmlessly.
	 */
	(void)compat_fsync_dir(ck->dir, NULL);
	ck_step(ck, CKPT_STEP_DONE);
	rc = DUO_EXIT_OK;
out:
	if (fd != -1)
		compat_close(fd);
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
	ck_clean_state(ck);
	ck_path(&p, ck->dir, ck->kind, ".intent");
	if ((r = ck_read_file(p.p, &t, CKPT_MAXSTATE, err)) == -1) {
		size_t l = strlen(err);

		snprintf(err + l, DUO_ERRLEN - l, "; refusing: check %s.* and "
		    "the output, then remove it", ck->kind);
		goto out;
	}
	if (r == 0) {
		/* No commit under way: a spool is what a kill left. */
		ck_path(&p, ck->dir, ck->kind, ".spool");
		(void)compat_unlink(p.p, NULL);
		rc = DUO_EXIT_OK;
		goto out;
	}
	if (intent_parse(&in, ck->kind, &t, p.p, err) == -1) {
		size_t l = strlen(err);

		snprintf(err + l, DUO_ERRLEN - l, "; refusing: check %s.* "
		    "and the output, then remove it", ck->kind);
		goto out;
	}
	if ((r = apply(ck, &in, 1, NULL, err)) == CK_ROLLBACK)
		r = DUO_EXIT_OK;
	else if (r == DUO_EXIT_OK)
		ck->recovered = 1;
	rc = r;
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

/* Write the intent and apply it. */
int
ck_run_intent(struct ckpt *ck, struct intent *in, struct dest *d, char *err)
{
	struct buf t, name;
	int r;

	buf_init(&t);
	buf_init(&name);
	intent_format(&t, ck->kind, in);
	xbuf_printf(&name, "%s.intent", ck->kind);
	r = DUO_EXIT_FAIL;
	if (ck_write_atomic(ck, ck->dir, name.p, t.p, t.len, 0,
	    CKPT_STEP_INTENT, 0, err) == -1)
		goto out;
	if ((r = apply(ck, in, 0, d, err)) == CK_ROLLBACK) {
		seterr(err, "%s; nothing published, run again", ck->note);
		r = DUO_EXIT_TEMP;
	}
	if (r != DUO_EXIT_OK)
		goto out;
	buf_reset(&ck->cursor);
	xbuf_add(&ck->cursor, in->cursor.p, in->cursor.len);
	ck->seq = in->seq;
	ck->newest = in->newest;
	ck->have_state = 1;
	ck->commits++;
out:
	buf_free(&t);
	buf_free(&name);
	return r;
}

int
ck_ledger_len(struct ckpt *ck, long long *len, char *err)
{
	struct compat_stat st;
	struct buf p;
	int r = 0;

	buf_init(&p);
	ck_path(&p, ck->dir, ck->kind, ".ledger");
	*len = 0;
	if (compat_lstat(p.p, &st) == 0) {
		if (st.type != COMPAT_FILE)
			r = seterr(err, "%s: not a regular file", p.p);
		*len = st.size;
	} else if (errno != ENOENT)
		r = seterr(err, "%s: %s", p.p, strerror(errno));
	buf_free(&p);
	return r;
}

int
ckpt_set(struct ckpt *ck, const char *cursor, char *err)
{
	struct intent in;
	struct json j;
	struct buf p, t, tail, from;
	struct entry e;
	unsigned long long seq = 0, s;
	long long lsize, newest = -1, nw;
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
	    !ck_isobj(&j, 0)) {
		seterr(err, "%.64s: not a JSON object", cursor);
		rc = DUO_EXIT_USAGE;
		goto out;
	}
	ck_compact_tok(&in.cursor, &j, 0);
	if (ckpt_cursor_check(ck->kind, in.cursor.p, in.cursor.len, 1,
	    ck_now_ms(ck), e2) == -1) {
		seterr(err, "%s: %.64s: %s", ck->kind, in.cursor.p, e2);
		rc = DUO_EXIT_USAGE;
		goto out;
	}
	if ((rc = ckpt_lock(ck, err)) != DUO_EXIT_OK ||
	    (rc = ckpt_recover(ck, err)) != DUO_EXIT_OK)
		goto out;
	rc = DUO_EXIT_FAIL;
	/* The old state may be corrupt: set is the way out. */
	ck_path(&p, ck->dir, ck->kind, ".cursor");
	if ((r = ck_read_file(p.p, &t, CKPT_MAXSTATE, err)) == -1) {
		size_t l = strlen(err);

		snprintf(err + l, DUO_ERRLEN - l, "; remove it first");
		goto out;
	}
	if (r == 1 && state_parse(&t, &s, &from, &nw, p.p, e2) == 0) {
		seq = s;
		newest = nw;
		havefrom = 1;
	}
	ck_path(&p, ck->dir, ck->kind, ".ledger");
	if ((r = ledger_tail(p.p, &tail, &lsize, err)) == -1) {
		size_t l = strlen(err);

		snprintf(err + l, DUO_ERRLEN - l, "; move it aside first");
		goto out;
	}
	if (r == 1) {
		if (entry_parse(&e, &j, tail.p, tail.len) == -1) {
			seterr(err, "%s: corrupt ledger (last line is not a "
			    "ledger entry); move it aside first", p.p);
			goto out;
		}
		if ((unsigned long long)e.seq > seq)
			seq = (unsigned long long)e.seq;
		if (e.newest > newest)
			newest = e.newest;
	}
	in.seq = seq + 1;
	in.mode = MODE_NONE;
	in.newest = newest;
	memcpy(in.sha, EMPTY_SHA, SHA_HEX);
	if (ck_ledger_len(ck, &in.ledger, err) == -1)
		goto out;
	entry_format(&in.entry, "set", in.seq, ck_now_ms(ck) / 1000,
	    havefrom ? from.p : NULL, &in, 0, -1);
	rc = ck_run_intent(ck, &in, NULL, err);
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

