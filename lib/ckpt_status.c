/*
 * ckpt_status: the outcome of the last commit run (KIND.run) and the
 * status report.  status takes no lock; it reads the state file, the
 * run file and the ledger, which compaction keeps to at most about
 * 2 * CKPT_LEDGER_KEEP + 1 lines, so its cost does not grow with the
 * number of commits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_int.h"

static const char *const results[] = { "ok", "fail", "usage", "temp" };

/* Record a commit run's outcome: KIND.run, {"v":1,"time":T,...}. */
int
run_write(struct ckpt *ck, int status, int more)
{
	struct buf t, name;
	char ts[40], err[DUO_ERRLEN];
	int r;

	buf_init(&t);
	buf_init(&name);
	if (status < 0 || status > 3)
		status = DUO_EXIT_FAIL;
	ck_iso(ts, sizeof ts, ck_now_ms(ck) / 1000);
	xbuf_printf(&t, "{\"v\":1,\"time\":\"%s\",\"status\":%d,\"more\":%s,"
	    "\"records\":%llu}\n", ts, status, more ? "true" : "false",
	    ck->records);
	xbuf_printf(&name, "%s.run", ck->kind);
	r = ck_write_atomic(ck, ck->dir, name.p, t.p, t.len, 0, 0, 0, err);
	buf_free(&t);
	buf_free(&name);
	return r;
}

/* Read KIND.run: 1 with *status, *more and *time; 0 when missing. */
static int
run_read(const char *dir, const char *kind, int *status, int *more,
    int64_t *time, char *err)
{
	struct json j;
	struct buf p, t, ts;
	long long v, s;
	int i, r;

	json_init(&j);
	buf_init(&p);
	buf_init(&t);
	buf_init(&ts);
	ck_path(&p, dir, kind, ".run");
	if ((r = ck_read_file(p.p, &t, 4096, err)) <= 0)
		goto out;
	r = -1;
	if (t.len == 0 || t.p[t.len - 1] != '\n' ||
	    json_parse(&j, t.p, t.len - 1, err) == -1 || !ck_isobj(&j, 0) ||
	    ck_getint(&j, 0, "v", &v) == -1 || v != 1 ||
	    ck_getint(&j, 0, "status", &s) == -1 || s < 0 || s > 3 ||
	    ck_getstr(&j, 0, "time", &ts) == -1 ||
	    ckpt_parse_iso(ts.p, ts.len, time) == -1 ||
	    (i = json_get(&j, 0, "more")) < 0) {
		seterr(err, "%s: corrupt run file (remove it: the next run "
		    "writes it again)", p.p);
		goto out;
	}
	*status = (int)s;
	*more = j.s[j.tok[i].start] == 't';
	r = 1;
out:
	json_free(&j);
	buf_free(&p);
	buf_free(&t);
	buf_free(&ts);
	return r;
}

static void
addproblem(char *bad, const char *fmt, const char *kind, long long v)
{
	size_t l = strlen(bad);

	if (l + 2 >= DUO_ERRLEN)
		return;
	if (l > 0) {
		memcpy(bad + l, "; ", 3);
		l += 2;
	}
	snprintf(bad + l, DUO_ERRLEN - l, fmt, kind, v);
}

static int
status_kind(const char *dir, const char *kind, int64_t now, long long maxlag,
    struct buf *out, char *bad, char *err)
{
	struct ckpt ck;
	struct entry e;
	struct json j;
	struct compat_stat st;
	struct buf p, text, prev;
	unsigned long long lineno = 0, commits = 0, records = 0, files = 0;
	long long newest = -1, pseq = 0;
	int64_t last = -1, rtime = 0;
	char ts[80], nt[80], rt[80];
	const char *s, *nl;
	int r, rc = DUO_EXIT_FAIL, pending, rstat = -1, rmore = 0;

	memset(&ck, 0, sizeof ck);
	ck.lockfd = -1;
	ck.newest = -1;
	ck.dir = xstrdup(dir);
	snprintf(ck.kind, sizeof ck.kind, "%s", kind);
	buf_init(&ck.cursor);
	buf_init(&ck.host);
	ck_bstr(&ck.cursor);
	ck_bstr(&ck.host);
	entry_init(&e);
	json_init(&j);
	buf_init(&p);
	buf_init(&text);
	buf_init(&prev);
	ck_path(&p, dir, kind, ".intent");
	pending = compat_lstat(p.p, &st) == 0;
	if (!pending && ckpt_load(&ck, err) != DUO_EXIT_OK)
		goto out;
	if (pending && load_host(&ck, err) == -1)
		goto out;
	if (run_read(dir, kind, &rstat, &rmore, &rtime, err) == -1)
		goto out;
	ck_path(&p, dir, kind, ".ledger");
	if ((r = ck_read_file(p.p, &text, CKPT_MAXSTATE * 4u, err)) == -1)
		goto out;
	for (s = text.p; r == 1 && s < text.p + text.len; s = nl + 1) {
		lineno++;
		if ((nl = memchr(s, '\n', (size_t)(text.p + text.len - s))) ==
		    NULL) {
			if (pending)
				break;	/* the commit being recovered */
			seterr(err, "%s: line %llu: corrupt ledger entry",
			    p.p, lineno);
			goto out;
		}
		if (entry_parse(&e, &j, s, (size_t)(nl - s)) == -1) {
			seterr(err, "%s: line %llu: corrupt ledger entry",
			    p.p, lineno);
			goto out;
		}
		if (lineno > 1 && e.seq != pseq + 1) {
			seterr(err, "%s: line %llu: sequence %lld out of "
			    "order", p.p, lineno, e.seq);
			goto out;
		}
		if (e.op == OP_COMMIT && lineno > 1 &&
		    strcmp(e.from.p, prev.p) != 0) {
			seterr(err, "%s: line %llu: coverage gap: from-cursor "
			    "differs from the previous to-cursor", p.p,
			    lineno);
			goto out;
		}
		buf_reset(&prev);
		xbuf_add(&prev, e.to.p, e.to.len);
		pseq = e.seq;
		if (e.op == OP_SUMMARY) {
			commits += (unsigned long long)e.commits;
			files += (unsigned long long)e.files;
			if (e.commits > 0)
				last = e.time;
		} else if (e.op == OP_COMMIT) {
			commits++;
			if (e.mode != MODE_NONE)
				files++;
			last = e.time;
		}
		records += (unsigned long long)e.n;
		if (e.newest > newest)
			newest = e.newest;
	}
	if (last >= 0)
		ck_iso(ts, sizeof ts, last);
	else
		snprintf(ts, sizeof ts, "-");
	if (newest >= 0)
		ck_iso(nt, sizeof nt, newest);
	else
		snprintf(nt, sizeof nt, "-");
	if (rstat >= 0)
		ck_iso(rt, sizeof rt, rtime);
	else
		snprintf(rt, sizeof rt, "-");
	xbuf_printf(out, "%s host=%s last_commit=%s commits=%llu records=%llu "
	    "files=%llu newest=%s lag=", kind, ck.host.len ? ck.host.p : "-",
	    ts, commits, records, files, nt);
	if (newest >= 0)
		xbuf_printf(out, "%llds", (long long)(now / 1000 - newest));
	else
		xbuf_adds(out, "-");
	xbuf_printf(out, " last_run=%s result=%s", rt, rstat < 0 ? "-" :
	    rstat == 0 && rmore ? "more" : results[rstat]);
	if (pending)
		xbuf_adds(out, " pending=interrupted-commit cursor=-\n");
	else
		xbuf_printf(out, " cursor=%s\n", ck.cursor.p);
	if (maxlag >= 0 && newest >= 0 && now / 1000 - newest > maxlag)
		addproblem(bad, "%s: lag %llds exceeds the limit", kind,
		    (long long)(now / 1000 - newest));
	if (maxlag >= 0 && (rstat == DUO_EXIT_FAIL || rstat == DUO_EXIT_USAGE))
		addproblem(bad, "%s: the last run failed (status %lld)", kind,
		    rstat);
	rc = DUO_EXIT_OK;
out:
	ckpt_close(&ck);
	entry_free(&e);
	json_free(&j);
	buf_free(&p);
	buf_free(&text);
	buf_free(&prev);
	return rc;
}

int
ckpt_status(const char *dir, const char *kind, int64_t now, long long maxlag,
    struct buf *out, char *err)
{
	static const char *const sfx[] = {
		".cursor", ".ledger", ".intent", ".run", NULL
	};
	struct compat_stat st;
	struct buf p;
	char bad[DUO_ERRLEN];
	int i, k, rc = DUO_EXIT_OK;

	bad[0] = '\0';
	if (compat_lstat(dir, &st) == -1) {
		seterr(err, "%s: %s", dir, strerror(errno));
		return DUO_EXIT_FAIL;
	}
	if (kind != NULL && !ckpt_kind_ok(kind)) {
		seterr(err, "%s: unknown kind", kind);
		return DUO_EXIT_USAGE;
	}
	buf_init(&p);
	for (k = 0; ckpt_kinds[k] != NULL; k++) {
		if (kind != NULL && strcmp(kind, ckpt_kinds[k]) != 0)
			continue;
		for (i = 0; kind == NULL && sfx[i] != NULL; i++) {
			ck_path(&p, dir, ckpt_kinds[k], sfx[i]);
			if (compat_lstat(p.p, &st) == 0)
				break;
		}
		if (kind == NULL && sfx[i] == NULL)
			continue;
		if ((rc = status_kind(dir, ckpt_kinds[k], now, maxlag, out,
		    bad, err)) != DUO_EXIT_OK)
			break;
	}
	buf_free(&p);
	if (rc == DUO_EXIT_OK && bad[0] != '\0') {
		seterr(err, "%s", bad);
		rc = DUO_EXIT_FAIL;
	}
	return rc;
}
