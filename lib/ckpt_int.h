/*
 * ckpt_int.h: what the lib/ckpt_*.c files share.  Not for the tools.
 *
 *	ckpt_stream.c	control lines, cursors, event times, file names,
 *			the bounded line reader, the health line
 *	ckpt_file.c	file helpers, the state file, intents, ledger
 *			entries, the ledger's tail and compaction, the
 *			destination locks
 *	ckpt_apply.c	open, lock, load, apply and recover an intent,
 *			get, set
 *	ckpt_commit.c	the spool, publication, retention, commit
 *	ckpt_status.c	the run file and status
 */
#ifndef CKPT_INT_H
#define CKPT_INT_H

#include <openssl/evp.h>

#include "duo.h"

#define SHA_HEX		65
#define EMPTY_SHA \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SID_HEX		8	/* hex digits of a state directory's id */

extern const char *const ckpt_kinds[];

enum { MODE_NONE, MODE_FILE, MODE_APPEND };
extern const char *const ckpt_modenames[];

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
	long long		 newest;	/* over all time, or -1 */
	struct buf		 cursor;	/* new cursor */
	struct buf		 entry;		/* ledger line */
};

/* One ledger line. */
struct entry {
	long long	 seq, n, bytes, newest, commits, files;
	int64_t		 time;
	int		 op, mode;
	struct buf	 from, to, file;
};
enum { OP_COMMIT, OP_SET, OP_SUMMARY };

/* A shared destination's lock (and, for -a, its pending marker). */
struct dest {
	int		 fd;		/* -1 when not held */
	struct buf	 lock;		/* the lock file */
};

/* ckpt_stream.c */
void	 ck_step(struct ckpt *, int);
int64_t	 ck_now_ms(struct ckpt *);
void	 ck_iso(char *, size_t, int64_t);
void	 ck_path(struct buf *, const char *, const char *, const char *);
void	 ck_compact_tok(struct buf *, const struct json *, int);
int	 ck_isobj(const struct json *, int);
int	 ck_getint(const struct json *, int, const char *, long long *);
int	 ck_getstr(const struct json *, int, const char *, struct buf *);
int	 ck_optstr(const struct json *, const char *, struct buf *);
void	 ck_bstr(struct buf *);

/* ckpt_file.c */
int	 ck_read_file(const char *, struct buf *, size_t, char *);
int	 ck_write_atomic(struct ckpt *, const char *, const char *,
	    const char *, size_t, int, int, int, char *);
int	 ck_sha_fd(int, const char *, long long, long long, char *, char *);
int	 ck_sha_file(const char *, long long, long long, char *, char *);
void	 ck_sid(const char *, char *);
void	 ck_clean_state(struct ckpt *);
void	 intent_init(struct intent *);
void	 intent_free(struct intent *);
void	 intent_format(struct buf *, const char *, const struct intent *);
int	 intent_parse(struct intent *, const char *, const struct buf *,
	    const char *, char *);
int	 state_parse(const struct buf *, unsigned long long *, struct buf *,
	    long long *, const char *, char *);
void	 state_format(struct buf *, unsigned long long, const struct buf *,
	    long long);
void	 entry_init(struct entry *);
void	 entry_free(struct entry *);
int	 entry_parse(struct entry *, struct json *, const char *, size_t);
void	 entry_format(struct buf *, const char *, unsigned long long,
	    int64_t, const char *, const struct intent *, long long, int64_t);
int	 ledger_tail(const char *, struct buf *, long long *, char *);
int	 ledger_compact(struct ckpt *, char *);
void	 dest_init(struct dest *);
void	 dest_path(struct ckpt *, struct buf *, const char *, int);
int	 dest_lock(struct ckpt *, struct dest *, const char *, int, char *);
void	 dest_unlock(struct dest *);
int	 marker_read(struct dest *, struct buf *, struct buf *,
	    unsigned long long *, long long *, char *);
int	 marker_write(struct dest *, const char *, const char *,
	    unsigned long long, long long, char *);
int	 marker_clear(struct dest *, char *);
int	 pending_read(struct dest *, const char *, const char *, struct buf *,
	    struct buf *, char *);
int	 pending_has(const struct buf *, const char *);
int	 pending_write(struct dest *, const struct buf *, const char *,
	    const char *, unsigned long long, const char *, char *);

/* ckpt_apply.c */
int	 load_host(struct ckpt *, char *);
int	 ck_run_intent(struct ckpt *, struct intent *, struct dest *, char *);
int	 ck_ledger_len(struct ckpt *, long long *, char *);

/* ckpt_status.c */
int	 run_write(struct ckpt *, int, int);

#endif /* CKPT_INT_H */
