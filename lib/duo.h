/*
 * libduo: the code shared by the duopipe tools.  Never installed.
 *
 * Conventions (see ../shared/STYLE.md): nothing in lib/ prints or exits,
 * except the x-prefixed helpers, which exit on out-of-memory only.
 * Functions that can fail return 0 on success and -1 on failure, and
 * write a one-line reason into the caller's error buffer, which is
 * DUO_ERRLEN bytes long.
 */
#ifndef DUO_H
#define DUO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "json.h"

#define DUO_ERRLEN	256

/* mingw's own printf attribute means MS printf; ours go through
 * vsnprintf, which -D__USE_MINGW_ANSI_STDIO=1 makes C99 (%zu, %lld). */
#ifdef __MINGW_PRINTF_FORMAT
#define DUO_PRINTF	__MINGW_PRINTF_FORMAT
#else
#define DUO_PRINTF	printf
#endif

/* Exit status shared by every tool (DESIGN.md). */
#define DUO_EXIT_OK	0
#define DUO_EXIT_FAIL	1
#define DUO_EXIT_USAGE	2
#define DUO_EXIT_TEMP	3

/* ---- util: buffers, x-helpers, error buffers, line input ---- */

struct buf {
	char	*p;	/* always NUL-terminated when cap > 0 */
	size_t	 len;
	size_t	 cap;
};

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_wipe(struct buf *);	/* OPENSSL_cleanse, then free */
void	 buf_reset(struct buf *);	/* len = 0, keeps memory */
void	 xbuf_grow(struct buf *, size_t);	/* room for n more bytes */
void	 xbuf_add(struct buf *, const void *, size_t);
void	 xbuf_adds(struct buf *, const char *);
void	 xbuf_addc(struct buf *, int);
void	 xbuf_printf(struct buf *, const char *, ...)
	    __attribute__((format(DUO_PRINTF, 2, 3)));

/* Fill an error buffer of DUO_ERRLEN bytes; returns -1 for tail calls. */
int	 seterr(char *, const char *, ...)
	    __attribute__((format(DUO_PRINTF, 2, 3)));

/*
 * Read one line into b, without its LF.  At most max bytes are kept; the
 * rest of an over-long line is read and discarded (the line is read
 * whole first, so memory peaks at its length).  Returns 1 when a line
 * was read, 0 at end of input, -1 on a read error.  *flags gets
 * LINE_LONG when bytes were discarded and LINE_NOEOL when the line ended
 * at EOF without LF.
 */
#define LINE_LONG	0x1
#define LINE_NOEOL	0x2
int	 buf_getline(struct buf *, FILE *, size_t, int *);

/* Flush and check a stream we wrote to; -1 with reason on failure. */
int	 out_flush(FILE *, const char *, char *);

/*
 * An ISO 8601 time, "YYYY-MM-DD[T ]HH:MM:SS[.frac](Z|+HH:MM|+HHMM)", as
 * milliseconds since the epoch (fractions past ms are dropped).  With
 * ISO_LENIENT, for times a user types, also "YYYY-MM-DD",
 * "YYYY-MM-DDTHH:MM" and no zone, all read as UTC.  -1 if malformed.
 */
#define ISO_LENIENT	0x1
int	 iso8601_ms(const char *, size_t, int, int64_t *);

/*
 * The proleptic Gregorian calendar, for any year: days from 1970-01-01
 * to y-m-d (m 1-12), and back.  The one copy of this arithmetic.
 */
int64_t	 days_from_civil(int64_t, int, int);
void	 civil_from_days(int64_t, int64_t *, int *, int *);

/* Value of one hex digit, either case, or -1. */
int	 hex_val(int);
/* Lower-case hex of n bytes into out (2n+1 bytes). */
void	 hex_lower(char *, const unsigned char *, size_t);

/* ---- compat: the few calls that differ between POSIX and Windows ---- */

int64_t	 compat_now_ms(void);		/* wall clock, ms since epoch */
void	 compat_sleep_ms(long);
int	 compat_random(void *, size_t);	/* CSPRNG bytes; -1 on failure */
time_t	 compat_timegm(struct tm *);
int	 compat_gmtime(time_t, struct tm *);
int	 compat_localtime(time_t, struct tm *);
/*
 * Windows: the system zone's UTC offset in seconds at t, by that year's
 * rules (for fmt's -z local; the CRT knows only this year's rules).
 * POSIX: not used (the TZif engine reads the system zone), always -1.
 */
#ifdef _WIN32
int	 compat_sys_utcoff(int64_t, long *);
#else
static inline int
compat_sys_utcoff(int64_t t, long *off)
{
	(void)t;
	(void)off;
	return -1;
}
#endif
/* Is the file readable or writable by group or others?  1 yes, 0 no. */
int	 compat_file_is_shared(int fd);
#ifdef _WIN32
/* The icacls command that makes path private: into buf of len bytes. */
void	 compat_file_fixhint(const char *, char *, size_t);
#endif
int	 compat_fsync_dir(const char *, char *);
int	 compat_rename(const char *, const char *, char *);
/*
 * Process set-up, first thing in every main: on Windows, argv becomes
 * UTF-8 (from the UTF-16 command line) and stdin, stdout and stderr
 * binary; a no-op on POSIX.
 */
void	 compat_init(int *, char ***);
/* Core dumps off (RLIMIT_CORE 0, not dumpable): for tools holding the
 * skey.  -1 when it could not be done. */
int	 compat_nodump(void);
/* Overwrite the environment variable's value in place, then remove it. */
void	 compat_env_wipe(const char *);
/*
 * SIGINT, SIGTERM and SIGHUP (Windows: Ctrl-C, Ctrl-Break, console
 * close) set *flag to the signal number instead of ending the process;
 * blocking calls are not restarted (they fail with EINTR).  A second
 * signal of the same kind after the first restores the default action,
 * so a user who insists still stops the process.
 */
void	 compat_catch_signals(volatile int *);

/*
 * File operations for duo-ckpt (the state directory and the output).
 * Every one is small and fd or path based.  Unless said otherwise they
 * return 0 on success and -1 on failure with errno set (Windows maps
 * its error codes to the nearest errno: ENOENT, EEXIST, EACCES, ENOSPC,
 * EFBIG, ELOOP, EISDIR, EBUSY, EIO for the rest), and the ones taking
 * an err buffer also fill it with "PATH: why".  Descriptors are the C
 * library's (Windows: _open_osfhandle, binary); they are not inherited
 * by child processes.
 */
#define COMPAT_RD	0x01	/* read */
#define COMPAT_RDWR	0x02	/* read and write */
#define COMPAT_CREAT	0x04	/* create when missing */
#define COMPAT_EXCL	0x08	/* with CREAT: fail with EEXIST if it exists */
#define COMPAT_TRUNC	0x10	/* cut to 0 bytes (with RDWR) */
#define COMPAT_PRIVATE	0x20	/* a file created is for the owner only
				 * (0600; else 0644, both less the umask) */
/*
 * Open a regular file, never following a symbolic link in the last
 * component (ELOOP, "PATH: is a symbolic link; refusing"; Windows: a
 * symbolic link, junction or mount point, any reparse point that stands
 * for another name) and never blocking on a FIFO or device: anything but
 * a regular file fails (EISDIR for a directory, else EINVAL) with
 * "PATH: is a directory (or FIFO, ...), not a regular file" and nothing
 * is truncated.  Binary, shareable for reading, writing, renaming and
 * deleting while open.  Returns the descriptor or -1.
 */
int	 compat_open(const char *, int, char *);
int	 compat_close(int);
/* One read at the file position; -1 with EINTR when a signal came. */
ssize_t	 compat_read(int, void *, size_t);
/*
 * Wait at most ms milliseconds until fd (a pipe, terminal or file) has
 * data or is at end of input: 1 ready, 0 timed out or interrupted by a
 * signal, -1 error.
 */
int	 compat_wait_readable(int, long);
/* Read n bytes at offset off; fewer only at end of file.  Returns the
 * count or -1 (EINTR is retried). */
ssize_t	 compat_pread(int, void *, size_t, int64_t);
/* Write all n bytes at offset off (never appending mode); 0 or -1. */
int	 compat_pwrite(int, const void *, size_t, int64_t);
/* Data and size of the file durable on disk (fsync; FlushFileBuffers). */
int	 compat_fsync(int);
int	 compat_ftruncate(int, int64_t);
/*
 * Make sure n more bytes can be written at offset off without running
 * out of space or over the file size limit: reserves the blocks without
 * changing the file's size or content where the system can (Linux
 * fallocate KEEP_SIZE), checks RLIMIT_FSIZE.  0 when they can (or when
 * the system cannot tell), -1 with ENOSPC or EFBIG.
 */
int	 compat_reserve(int, int64_t, int64_t);

#define COMPAT_FILE	1
#define COMPAT_DIR	2
#define COMPAT_LINK	3	/* symbolic link (Windows: reparse point) */
#define COMPAT_OTHER	4	/* FIFO, socket, device */
struct compat_stat {
	int	 type;		/* COMPAT_FILE ... */
	int64_t	 size;		/* bytes, for files */
	int64_t	 mtime;		/* seconds since the epoch */
};
int	 compat_fstat(int, struct compat_stat *);
/* Information on path itself, not following a link; -1/ENOENT if none. */
int	 compat_lstat(const char *, struct compat_stat *);
/*
 * Create directory path (mode 0755 less the umask; one level) and make
 * its entry durable by syncing the parent directory.  Returns 1 when
 * created, 0 when a directory (or a link to one) is there already, -1
 * otherwise (err: "PATH: why", "PATH: not a directory").
 */
int	 compat_mkdir(const char *, char *);
/* Remove a file (not a directory): 0 removed, 1 it was not there, -1. */
int	 compat_unlink(const char *, char *);
/*
 * compat_rename (above) replaces to atomically: afterwards to is either
 * the old or the new file, never missing (Windows: MoveFileEx with
 * REPLACE_EXISTING and WRITE_THROUGH).  compat_rename_new never
 * replaces: it fails with EEXIST ("TO: exists already") when to exists.
 * A crash may leave both names on the same file (POSIX: link, then
 * unlink from); callers must accept that on recovery.  Both need
 * compat_fsync_dir of the directory to be durable.
 */
int	 compat_rename_new(const char *, const char *, char *);
/*
 * Take an exclusive lock on the open file without waiting: 0 taken, 1
 * another process (or another descriptor) holds it, -1 error.  The lock
 * goes with the descriptor: compat_close releases it, and so does the
 * process's end, however it ends.  It must not stop others reading or
 * writing the file's data (Windows: lock one byte far past any real
 * size, at offset 2^62).
 */
int	 compat_lock(int);
/* Directory listing: names other than "." and "..", in no order. */
struct compat_dir;
int	 compat_dir_open(struct compat_dir **, const char *, char *);
const char *compat_dir_next(struct compat_dir *);	/* NULL at the end */
void	 compat_dir_close(struct compat_dir *);
/*
 * The absolute form of path, appended to b: its directory part made
 * absolute with links resolved (it must exist), its last component kept
 * as given (it need not exist).  "-1" with err when the directory does
 * not exist.  Windows: with '/' between components (C:/dir/name,
 * //server/share/name), which every Windows call takes, so that callers
 * split and join paths at '/' on both systems.
 */
int	 compat_abspath(const char *, struct buf *, char *);
/* Is the path absolute: "/..." (Windows: "C:/...", "C:\...", "//...",
 * "\\..."). */
static inline int
compat_path_abs(const char *p)
{
#ifdef _WIN32
	if (((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) &&
	    p[1] == ':' && (p[2] == '/' || p[2] == '\\'))
		return 1;
	return (p[0] == '/' || p[0] == '\\') && (p[1] == '/' || p[1] == '\\');
#else
	return p[0] == '/';
#endif
}
/*
 * Is the directory safe to keep state in: owned by the effective user
 * and not writable by group or others?  0 yes; -1 no, with err saying why and how to fix it
 * ("PATH: writable by group or others: run chmod go-w PATH", "PATH:
 * owned by uid N, not by uid M who runs this: run chown M PATH").
 * Windows: the ACL gives write access to no one but the owner, SYSTEM
 * and Administrators, with an icacls hint.
 */
int	 compat_dir_private(const char *, char *);
#ifdef _WIN32
/* The folder holding the running .exe, UTF-8, into dir of size bytes
 * (for the zoneinfo shipped beside it).  -1 when it does not fit. */
int	 compat_exe_dir(char *, size_t);
/* End the process at once, as SIGKILL would (no flush, no atexit), with
 * exit status 137, what sh reports for SIGKILL (crash tests). */
void	 compat_kill_self(void);
/* What mingw's CRT lacks, under the POSIX names (compat_win.c). */
ssize_t	 getdelim(char **, size_t *, int, FILE *);
/* getenv in UTF-8 (the CRT's is in the ANSI code page). */
char	*compat_getenv(const char *);
#define getenv(name)	compat_getenv(name)
#endif

/* ---- urlenc: Duo's percent-encoding ---- */

/* Append s[0..n) with every byte outside A-Za-z0-9-._~ as %XX (upper). */
void	 urlenc_add(struct buf *, const char *, size_t);
/* Is byte c one that stays literal (A-Za-z0-9-._~)? */
int	 urlenc_unreserved(int);
/*
 * Append s[0..n) as a double-quoted string of a curl config file (curl
 * -K): " and \ escaped, TAB CR LF VT as \t \r \n \v.  No NUL bytes.
 */
void	 urlenc_curlq(struct buf *, const char *, size_t);

/* ---- conf: duo.conf ---- */

struct duo_conf {
	char	*path;		/* file read, or NULL */
	char	*ikey;
	char	*skey;		/* the one heap copy; conf_free wipes it */
	char	*host;		/* as configured, may end in :port */
	char	*http_proxy;	/* NULL when unset */
	char	*cafile;	/* NULL: system trust store */
	char	*user_agent;	/* NULL: default */
	long	 timeout;	/* seconds per request; 0: default */
};

/*
 * Load the configuration: path if not NULL, else $DUO_CONF, else
 * ./duo.conf; then DUO_IKEY, DUO_SKEY and DUO_HOST override.  Refuses a
 * file holding an skey that group or others may read.  DUO_SKEY is
 * copied and then wiped from the environment (compat_env_wipe), on
 * success and failure alike.  Every failure is a configuration error
 * (exit 2 in the tools).
 */
int	 conf_load(struct duo_conf *, const char *, char *);
/*
 * Parse INI text (no file, no environment, no permission check, no
 * check that the required keys are there).  Initializes the struct;
 * errors read "line N: reason" and leave nothing allocated.
 */
int	 conf_parse(struct duo_conf *, const char *, size_t, char *);
/* Are ikey, skey and host present and well-formed?  (conf_load does.) */
int	 conf_check(const struct duo_conf *, char *);
/* Wipe the skey (and ikey), free everything, zero the struct. */
void	 conf_free(struct duo_conf *);

/* ---- sign: Duo request signing ---- */

struct sign_param {
	const char	*name;		/* raw, not encoded */
	const char	*value;
};

struct sign_req {
	int			 version;	/* 1, 2, 4 or 5 */
	int			 sha512;	/* v1/v2 only: 1 SHA-512, 0 SHA-1 */
	const char		*method;
	const char		*host;
	const char		*path;
	const char		*date;		/* RFC 2822; unused by v1 */
	const struct sign_param	*params;
	size_t			 nparams;
	const char		*body;		/* v4/v5 POST body, or NULL */
	size_t			 bodylen;
	const struct sign_param	*xduo;		/* v5 X-Duo-* headers */
	size_t			 nxduo;
};

/*
 * Canonical parameter line (appended): names and values encoded with
 * urlenc_add, pairs sorted by encoded name, then encoded value.  This is
 * also the query string (GET) and the v2 form body (POST).
 */
void	 sign_params(struct buf *, const struct sign_param *, size_t);
/*
 * The canonical string, without trailing newline (appended).  Line 5 is
 * always built from params: callers sending a v4/v5 JSON body pass
 * nparams 0 and the body.  v4/v5 always use SHA-512.
 */
int	 sign_canon(const struct sign_req *, struct buf *, char *);
/* "Basic base64(ikey:hexhmac)" (appended). args: req, ikey, skey. */
int	 sign_auth(const struct sign_req *, const char *, const char *,
	    struct buf *, char *);
/*
 * 0 when the Authorization value is right for the request, else -1.
 * args: req, ikey, skey, value.  Hex in either case; constant-time.
 */
int	 sign_verify(const struct sign_req *, const char *, const char *,
	    const char *, char *);
/* RFC 2822 date with English names in UTC ("Tue, 21 Aug 2012 ... -0000"). */
#define SIGN_DATELEN	40
void	 sign_date(char *, size_t, time_t);
/*
 * The v4/v5 JSON body for params, byte for byte as Duo's Python client
 * sends it (json.dumps, sort_keys, separators ',' ':', ensure_ascii): keys
 * sorted, a repeated name becomes an array of its values in the order
 * given.  -1 when a name or value is not valid UTF-8.
 */
int	 sign_body_json(struct buf *, const struct sign_param *, size_t,
	    char *);

/* ---- json: strict validation and walking over jsmn ---- */

struct json {
	const char	*s;
	size_t		 len;
	jsmntok_t	*tok;
	int		*next;	/* next[i]: index past the subtree of i */
	int		 ntok;
	int		 cap;
};

#define JSON_MAXLEN	(64u * 1024 * 1024)	/* bytes of one document */
#define JSON_MAXTOK	(4 * 1024 * 1024)	/* tokens of one document */
#define JSON_MAXDEPTH	512

void	 json_init(struct json *);
void	 json_free(struct json *);
/*
 * Tokenize s[0..len) and validate it: one root value spanning the whole
 * input (surrounding whitespace allowed), every object key a string with
 * exactly one value, valid escapes, valid literals and numbers, UTF-8
 * string contents, nesting at most JSON_MAXDEPTH.  Token memory is
 * reused across calls.
 */
int	 json_parse(struct json *, const char *, size_t, char *);
/*
 * One pass over the JSON value at s[pos] (whitespace before it skipped),
 * without tokens: json_parse's checks, with depth containers already
 * open around it (the nesting limit counts them).  When out is not NULL
 * the value is appended with the whitespace between its tokens left
 * out (json_compact's result).  Returns the offset just past the value,
 * or 0 with err set (out->len then unchanged).  args: s, len, pos,
 * depth, out, err.
 */
size_t	 json_value(const char *, size_t, size_t, int, struct buf *, char *);
/* Index of the token after the subtree rooted at token i. */
int	 json_skip(const struct json *, int);
/* Value token of member key in object token obj, or -1. */
int	 json_get(const struct json *, int, const char *);
/* Walk "a.b.c" through nested objects from obj; -1 if absent. */
int	 json_path(const struct json *, int, const char *);
/* Is token i the literal null (or i < 0)? */
int	 json_isnull(const struct json *, int);
/* Does string token i equal s after unescaping? */
int	 json_streq(const struct json *, int, const char *);
/*
 * Append the value of token i: a string unescaped to UTF-8, any other
 * token as its raw text.  -1 on a malformed escape.
 */
int	 json_str(const struct json *, int, struct buf *);
/* Integer value of a number token (or a string holding digits). */
int	 json_int(const struct json *, int, long long *);
/* Append s[0..n) with whitespace outside strings removed. */
void	 json_compact(struct buf *, const char *, size_t);
/* Append s[0..n) as the inside of a JSON string (escaped). */
void	 json_escape(struct buf *, const char *, size_t);

/* ---- http: the one libcurl handle (http.c owns every curl call) ---- */

#define HTTP_MAXBODY	(64L * 1024 * 1024)	/* bytes of one response */
#define HTTP_TIMEOUT	60L		/* seconds per request by default */
#define HTTP_CONNECT_TIMEOUT 10L	/* seconds to connect, at most */
#define HTTP_RETRY_BASE	1000L		/* ms: first backoff step */
#define HTTP_RETRY_CAP	32		/* backoff cap, in base steps */
#define HTTP_RETRY_SPAN	120		/* base steps of backoff per request
					 * without a run budget */
#define HTTP_RATE_SPAN	1800		/* base steps of 429s per request
					 * without a run budget */
#define HTTP_PACE_GUESS	60		/* base steps: the wait after a 429
					 * while the interval is unknown */
#define HTTP_PACE_TIGHT	20		/* per mille: probe while the
					 * interval's bracket is wider */
#define HTTP_PACE_MARGIN 5		/* per mille added to the interval */
#define HTTP_PACE_REBUILD 30		/* per mille above a failed spacing */
#define HTTP_PACE_REPROBE 100		/* successes between probes once the
					 * interval is known */

/* http_get outcomes besides 0 and the DUO_EXIT_* codes. */
#define HTTP_BUDGET	10	/* nothing done: past the run budget */
#define HTTP_INTERRUPTED 11	/* a signal: the request was abandoned */

/* Events reported through http_opts.on_event. */
#define HTTP_EV_PACE	1	/* waiting ms to keep the rate limit */
#define HTTP_EV_RATE	2	/* a 429: waiting ms before the next try */
#define HTTP_EV_RETRY	3	/* a temporary failure: backoff of ms */
#define HTTP_EV_CONNFAIL 4	/* the first lost connection of the run */
#define HTTP_EV_PACEFILE 5	/* the -R file is unusable (why) */

struct http_event {
	int		 type;		/* HTTP_EV_* */
	long		 ms;		/* the wait, if any */
	const char	*why;		/* the failure, escaped, or NULL */
};

struct http;

struct http_opts {
	long		 retry_base_ms;	/* 0: DUO_RETRY_BASE_MS or 1000 */
	int		 retry_max;	/* 0: DUO_RETRY_MAX, else no count */
	int64_t		 deadline;	/* wall ms no request may end after;
					 * 0: no run budget */
	const char	*pace_file;	/* pacer state (-R), or NULL */
	volatile int	*stop;		/* non-zero: abandon (signal) */
	void		(*on_event)(void *, const struct http_event *);
	void		*arg;
	/*
	 * The one validating pass over a 200 body, when not NULL (duo-get
	 * takes its page here): 0 accepts it; -1 means the body is not
	 * valid JSON (cut or garbled: retried as a temporary failure); -2
	 * means valid JSON but no "stat":"OK" page (reported with Duo's
	 * code and message, not retried); -3 means a page of Duo's that
	 * the reader refused (wrong shape, an injected control line: its
	 * reason in err, not retried).  err gets the reason.  When NULL, http_get checks the
	 * envelope itself (cursor_envelope).
	 */
	int		(*accept)(void *, const char *, size_t, char *);
};

/*
 * One easy handle for the whole run: HTTPS only, TLS 1.2 at least, no
 * redirects, peer and host always verified (against cafile alone when
 * set), conf cafile/http_proxy/timeout/user_agent.  Returns 0,
 * DUO_EXIT_USAGE for a malformed http_proxy, else DUO_EXIT_FAIL.  The
 * handle keeps pointers to conf and opts->pace_file, which must outlive
 * it.  http_free saves the pacer state.
 */
int	 http_new(struct http **, const struct duo_conf *,
	    const struct http_opts *, char *);
void	 http_free(struct http *);
/*
 * Signed (v5) GET of https://host/path?params, paced and retried.  On
 * success (HTTP 200, and opts->accept took the body, or without it
 * structurally valid JSON with "stat":"OK" and "response") *body and
 * *len hold the body, valid until the next call, and 0 is returned.  Otherwise DUO_EXIT_FAIL (API error, refused
 * certificate or handshake, oversized body), DUO_EXIT_TEMP (gave up;
 * the host could not be reached), HTTP_BUDGET (the request would end
 * past the deadline, or rate limited up to it) or HTTP_INTERRUPTED,
 * with the reason in err (network text escaped, proxy secrets
 * redacted).
 */
int	 http_get(struct http *, const char *, const struct sign_param *,
	    size_t, const char **, size_t *, char *);
long	 http_requests(const struct http *);	/* attempts made so far */
long	 http_rate_limited(const struct http *);	/* 429s so far */
int64_t	 http_interval(const struct http *);	/* learned ms, 0 none */
/*
 * Append s[0..n) for a message: printable ASCII and well-formed UTF-8
 * (but C1 controls and U+2028/9) as they are, backslash doubled, \n \r
 * \t, every other byte \xHH.
 */
void	 http_escape_text(struct buf *, const char *, size_t);

/* ---- cursor: duo-get's paging state and time arguments ---- */

enum cursor_kind {
	KIND_AUTH, KIND_ADMIN, KIND_TELEPHONY, KIND_ACTIVITY, KIND_OFFLINE,
	KIND_TRUSTMONITOR, KIND_COUNT
};

#define CURSOR_MAXAGE	(180LL * 86400 * 1000 - 3600 * 1000) /* ms, 180d-1h */
#define CURSOR_HASHLEN	16		/* hex digits of a v1 record id */
#define CURSOR_V1PAGE	1000		/* records Duo returns per v1 call */
#define CURSOR_MAXSEEN	1000000		/* ids kept for one second */

struct cursor {
	int	 kind;
	long	 page;		/* not saved: cursor_page calls so far */
	int	 fresh;		/* parsed from {}: starts at since */
	int	 done;		/* the last page drained the bound */
	/* v2-style kinds, ms: window [min, max], max 0 when none is open */
	int64_t	 min;
	int64_t	 max;
	char	*next;		/* next_offset as compact JSON, or NULL */
	struct buf nextval;	/* next_offset as sent */
	/* v1-style kinds: second sec, ids of its records delivered */
	int64_t	 sec;
	int64_t	 hop;		/* not saved: ask from here, not from sec */
	char	(*seen)[CURSOR_HASHLEN + 1];
	size_t	 nseen;
	size_t	 capseen;
};

struct cursor_req {
	const char		*path;
	struct sign_param	 params[6];
	size_t			 nparams;
	char			 val[4][24];
};

/* Page outcome flags from cursor_page. */
#define CURSOR_NOPROGRESS	0x1	/* a full page held nothing new */

int	 cursor_kind(const char *);		/* KIND_* or -1 */
const char *cursor_kindname(int);
int	 cursor_isv1(int);
void	 cursor_init(struct cursor *, int);
void	 cursor_free(struct cursor *);
/* Parse a cursor of kind; "{}" is a fresh cursor.  -1: malformed or of
 * another kind. */
int	 cursor_parse(struct cursor *, int, const char *, size_t, char *);
/* Append the cursor as one-line compact JSON ({} while fresh). */
void	 cursor_format(const struct cursor *, struct buf *);
/* A fresh cursor starts at since (ms). */
void	 cursor_since(struct cursor *, int64_t);
/*
 * Move a start older than now - CURSOR_MAXAGE up to that limit; returns
 * 1 and the skipped range [*from, *to] (ms) when it did, else 0.
 */
int	 cursor_clamp(struct cursor *, int64_t, int64_t *, int64_t *);
/*
 * Prepare the next request for records up to bound (ms, inclusive);
 * limit is the page size (0: the kind's maximum).  Returns 1 with req
 * filled, 0 when nothing is left to fetch.
 */
int	 cursor_request(struct cursor *, int64_t, long, struct cursor_req *);
/*
 * Take one page, the whole response body s[0..len).  Appends each new
 * record, compacted, plus LF to out, counts them in *n, advances the
 * cursor and sets *flags.  -1 when the response has the wrong shape or
 * is not valid JSON (json_parse's rules, the whole body nested at most
 * JSON_MAXDEPTH deep), or when a record's compact text starts with the
 * control prefix {"@duo": (the message names the kind and c->page);
 * then neither out nor the cursor changed.  One pass over the body, no
 * tokens: memory stays at the body plus the output.
 */
int	 cursor_page(struct cursor *, const char *, size_t, int64_t, long,
	    struct buf *, size_t *, int *, char *);
/* Is s[0..len) one JSON value, structurally (brackets, strings)?  0/-1 */
int	 cursor_scan(const char *, size_t);
/*
 * cursor_scan and the check for "stat":"OK" and a "response" member in
 * one pass, for a 200 body: -1 when s[0..len) is not one JSON value
 * structurally, 1 when it is an object with both, else 0.
 */
int	 cursor_envelope(const char *, size_t);
/* Span [*vs, *ve) of member key of the object starting at s[obj]. */
int	 cursor_member(const char *, size_t, size_t, const char *, size_t *,
	    size_t *);
/* Time arguments (ms): a duration before now (90m, 12h, 7d, 1h30m),
 * ISO 8601 (UTC unless a zone is given) or epoch seconds. */
int	 cursor_time(const char *, int64_t, int64_t *, char *);
/* A duration (plain digits are seconds) in ms. */
int	 cursor_duration(const char *, int64_t *, char *);

/* ---- tz: time zones, one engine on every platform ---- */

/*
 * A zone is a TZif file (RFC 8536 v1-v4; the 64-bit data, and its POSIX
 * TZ footer for instants after the last transition), a POSIX TZ string
 * ("EST5EDT,M3.2.0,M11.1.0", "<+0330>-3:30", RFC 8536's hours -167..167
 * in rule times), UTC, or on Windows the system zone.  The C library's
 * TZ and localtime are never used.  Lookups are O(log transitions), no
 * system calls (except the Windows system zone: compat_sys_utcoff).
 */
#define TZ_FILEMAX	(256 * 1024)	/* larger TZif files are refused */

struct tz;

/* What holds at an instant, and the span [lo, hi) it holds for. */
struct tz_info {
	long		 off;		/* seconds east of UTC */
	int		 isdst;
	const char	*abbr;		/* "CEST", "" if unknown; lives
					 * as long as the tz */
	int64_t		 lo;		/* INT64_MIN: since ever */
	int64_t		 hi;		/* INT64_MAX: for ever */
};

/*
 * Open a zone by name:
 *   "utc", "UTC"	UTC;
 *   "local"	on POSIX TZ as the C library reads it (":Area/City",
 *		"Area/City", a POSIX TZ string, an absolute path; ""
 *		is UTC), or /etc/localtime when TZ is unset (UTC when
 *		that is missing); on Windows the same when TZ is set,
 *		else the system zone with its per-year rules;
 *   ":Area/City", "Area/City"	the TZif file of that name in the
 *		zoneinfo folder: $TZDIR, else /usr/share/zoneinfo (POSIX)
 *		or the "zoneinfo" folder beside the program (Windows);
 *		names must pass tz_name_ok (no absolute paths, no "..");
 *   anything else	a POSIX TZ string.
 * 0, or -1 with "NAME: unknown time zone" (or why the file is bad).
 */
int	 tz_open(struct tz **, const char *, char *);
/* A zone from TZif bytes in memory (at most TZ_FILEMAX); strictly
 * checked, never reads out of bounds.  0 or -1 with err. */
int	 tz_load(struct tz **, const void *, size_t, char *);
/* A zone from a POSIX TZ string alone.  0 or -1 with err. */
int	 tz_posix(struct tz **, const char *, char *);
void	 tz_lookup(const struct tz *, int64_t, struct tz_info *);
long	 tz_utcoff(const struct tz *, int64_t);	/* seconds east of UTC */
int	 tz_isutc(const struct tz *);	/* 1 when the offset is always 0 */
/* Is the string a safe zone name: relative components of A-Za-z0-9._+-,
 * none empty or starting with a dot, at most 255 bytes?  1 yes, 0 no. */
int	 tz_name_ok(const char *);
void	 tz_free(struct tz *);

/* ---- fmt: record to SIEM line ---- */

/* Output formats (-f). */
#define FMT_MPE		0
#define FMT_JSON	1
#define FMT_KV		2
#define FMT_CEF		3
#define FMT_LEGACY	4

/* Record kinds (-k, the begin line's "kind"); 0 means unknown. */
#define FMT_AUTH	1
#define FMT_ADMIN	2
#define FMT_TELEPHONY	3
#define FMT_ACTIVITY	4
#define FMT_OFFLINE	5
#define FMT_TRUSTMONITOR 6
#define FMT_NKIND	7

#define FMT_LINEMAX	(4u * 1024 * 1024)	/* input bytes kept per line */
#define FMT_OUTMAX	65535	/* no mpe line, LF included, is longer */
#define FMT_VALMAX	1024	/* output bytes of one ordinary value */
#define FMT_TAILMAX	8192	/* output bytes of one free-text value */
#define FMT_RAWMAX	32768	/* output bytes of an UNPARSED line's raw */
#define FMT_MAXFIELD	64
#define FMT_MAXNODE	256	/* member paths read, all kinds together */

/* One field's value: into the record, or into b when built from parts. */
struct fmt_val {
	const char	*p;
	size_t		 n;
	struct buf	 b;
};

struct fmt {
	int		 format;	/* FMT_MPE ... */
	int		 kind;		/* from -k, or 0 */
	int		 bkind;		/* from the last begin line, or 0 */
	int		 utc;		/* zone is UTC: no localtime calls */
	int		 esc;		/* the record holds a backslash */
	int		 status;	/* the tool's exit status so far (exit lines) */
	const char	*ip_p;		/* the IP text split last (this line), or NULL */
	size_t		 ip_n, ip_a, ip_an, ip_pp, ip_pn;
	int		 ip_r;
	char		 host[256];	/* the begin line's host */
	struct json	 js;		/* the record */
	struct json	 sub;		/* JSON held inside a string member */
	const char	*subpath;	/* member that sub holds, or NULL */
	struct buf	 subtext;
	int		 slot[FMT_MAXNODE];	/* value token per path, or -1 */
	struct fmt_val	 val[FMT_MAXFIELD];
	struct buf	 tmp;
	struct buf	 raw;
	int64_t		 c_lo;		/* [c_lo, c_hi) has offset c_off */
	int64_t		 c_hi;
	long		 c_off;		/* c_off seconds east of UTC */
	int		 c_ok;
};

/*
 * Time zone for every fmt (one per process; call it before fmt_init):
 * any name tz_open takes, "local", "utc", "Europe/Berlin", a POSIX TZ
 * string.  Returns 1 when it is UTC, 0 for another zone, -1 (err set)
 * for an unknown or bad zone.
 */
int	 fmt_zone(const char *, char *);
void	 fmt_init(struct fmt *, int format, int kind, int utc);
void	 fmt_free(struct fmt *);
/* New input stream: forget the begin line's kind and host. */
void	 fmt_reset(struct fmt *);
int	 fmt_format_byname(const char *);	/* -1 if unknown */
int	 fmt_kind_byname(const char *);		/* 0 if unknown */
const char *fmt_kind_name(int);
/* Kind told by a record's fields (root object token 0), or 0. */
int	 fmt_kind_infer(const struct json *);
/* Member paths the kinds read; below FMT_MAXNODE when all fit. */
int	 fmt_nodes(void);
/*
 * ISO 8601 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM|+HHMM)" (a space
 * for T is accepted) to milliseconds since the epoch.
 */
/* Offset east of UTC in seconds of the fmt's zone at time t. */
long	 fmt_utcoff(struct fmt *, int64_t);
/*
 * Format one input line (without its LF; flags are buf_getline's) and
 * append exactly one LF-terminated output line to out: the formatted
 * record, the control line unchanged, or an UNPARSED line.  name and
 * lineno go into UNPARSED lines; now_ms stamps them.  Returns 0, or 1
 * when the line was written as UNPARSED (err holds the reason), 2 when
 * it was formatted but err holds a warning (a bad time field, another
 * one used).  A control line is copied, but an exit line's "status"
 * becomes fmt_worse(it, f->status).
 */
int	 fmt_line(struct fmt *, const char *, size_t, int, const char *,
	    unsigned long, int64_t, struct buf *, char *);
/* The worse of two exit statuses: 0 < 3 < 1 < 2. */
int	 fmt_worse(int, int);

/* A fast line reader on a file descriptor with constant memory. */
struct fmt_in {
	int		 fd;
	char		*p;
	size_t		 cap;
	size_t		 off;		/* start of unread data */
	size_t		 len;		/* end of data */
	int		 eof;
	volatile int	*intr;		/* a signal flag, or NULL */
};

void	 fmt_in_init(struct fmt_in *, int);
void	 fmt_in_free(struct fmt_in *);
/*
 * Next line without its LF, at most FMT_LINEMAX bytes kept (the rest is
 * read and dropped, *flags |= LINE_LONG; LINE_NOEOL for a last line
 * without LF).  The line stays valid until the next call.  Returns 1, 0
 * at end of input, -1 on a read error, 2 when a read was interrupted
 * with *intr set (no line; call again to go on).
 */
int	 fmt_in_line(struct fmt_in *, const char **, size_t *, int *, char *);

/* ---- ckpt: state directory, exactly-once publication ---- */

#define CKPT_MAXLINE	(4u * 1024 * 1024)	/* a stream line */
#define CKPT_MAXSTATE	(16u * 1024 * 1024)	/* a state file */
#define CKPT_CTL	"{\"@duo\":"		/* control lines */
#define CKPT_SKEW_MS	(300 * 1000LL)	/* a cursor may lie this far ahead */
#define CKPT_GRACE_MS	5000	/* reading on after a signal */
#define CKPT_DESTWAIT_MS 30000	/* waiting for a shared destination */
#define CKPT_LEDGER_KEEP 512	/* ledger entries kept by a compaction */

/*
 * Steps of the commit protocol, for the test hook (DUO_CKPT_CRASH_AT).
 * The hook is called with the step number just before the step's
 * action, so a hook that kills the process leaves the state of
 * "everything before step N done".
 */
#define CKPT_STEP_DATA		1	/* fsync of the spool */
#define CKPT_STEP_INTENT	2	/* rename of the intent */
#define CKPT_STEP_PUBLISH	3	/* rename or append */
#define CKPT_STEP_PUBMID	4	/* half appended; dir fsync */
#define CKPT_STEP_STATETMP	5	/* new state temp file */
#define CKPT_STEP_STATE		6	/* its rename */
#define CKPT_STEP_LEDGER	7	/* ledger append */
#define CKPT_STEP_LEDGERMID	8	/* half the ledger line */
#define CKPT_STEP_UNINTENT	9	/* intent removal */
#define CKPT_STEP_DONE		10	/* commit complete */
#define CKPT_NSTEPS		10

enum ckpt_ctltype { CKPT_BEGIN = 1, CKPT_MARK, CKPT_END, CKPT_EXIT };

struct ckpt_ctl {
	int		 type;		/* enum ckpt_ctltype */
	long long	 v;		/* begin: protocol version */
	long long	 n;		/* mark, end: lines counted */
	int		 status;	/* exit: upstream status 0..3 */
	int		 more;		/* exit: "more":true */
	struct buf	 kind;		/* begin */
	struct buf	 host;		/* begin, lower-cased */
	struct buf	 cursor;	/* begin, mark, end: compact object */
};

struct ckpt {
	char		*dir;		/* state directory */
	char		 kind[16];
	int		 lockfd;	/* -1 when not locked */
	int64_t		(*clock)(void);	/* ms since the epoch */
	void		(*hook)(int, void *);	/* before each step */
	void		*hookarg;
	volatile int	*sig;		/* set by a signal: wind down */
	long		 destwait_ms;	/* 0: CKPT_DESTWAIT_MS */
	long		 grace_ms;	/* 0: CKPT_GRACE_MS */
	int		 ledger_keep;	/* 0: CKPT_LEDGER_KEEP */
	/* Loaded by ckpt_load. */
	int		 have_state;	/* KIND.cursor exists */
	unsigned long long seq;		/* ledger entries so far */
	int64_t		 newest;	/* newest event delivered, s; -1 */
	struct buf	 cursor;	/* compact; "{}" if none */
	struct buf	 host;		/* empty when not yet known */
	/* Out: what this run did. */
	int		 recovered;	/* finished an old commit */
	int		 rolledback;	/* undid one (its output vanished) */
	char		 note[DUO_ERRLEN];	/* why, when rolledback */
	int		 signalled;	/* commit ended early by a signal */
	unsigned long long records, files, commits, deleted;
};

struct ckpt_opts {
	const char	*outdir;	/* -o; NULL with -a */
	const char	*append;	/* -a file */
	long long	 maxrec;	/* -n; 0 off */
	long long	 maxsec;	/* -t; 0 off */
	long long	 keepdays;	/* -k; 0 off */
	int		 health;	/* -H: a health line per run */
};

/* Is s one of the six kinds? */
int	 ckpt_kind_ok(const char *);
/* Does line[0..n) start with CKPT_CTL? */
int	 ckpt_ctl_is(const char *, size_t);
void	 ckpt_ctl_init(struct ckpt_ctl *);
void	 ckpt_ctl_free(struct ckpt_ctl *);
/* Parse and check the form of a control line (not its cursor). */
int	 ckpt_ctl_parse(struct ckpt_ctl *, struct json *, const char *,
	    size_t, char *);
/*
 * Check a cursor s[0..n) for kind with lib/cursor: well formed, of this
 * kind, and not later than now_ms + CKPT_SKEW_MS (v2 kinds: max, else
 * min; v1 kinds: sec).  "{}" passes only when fresh_ok.  0 or -1.
 */
int	 ckpt_cursor_check(const char *, const char *, size_t, int, int64_t,
	    char *);
/* Worse of two exit statuses: 0 < 3 < 1 < 2. */
int	 ckpt_worse(int, int);
/*
 * The -H health line (with its LF) for a run: local time (utcoff
 * seconds east), kind, worst status, more, records this run, newest
 * event over all time (s, -1 none), host.  Layout in duo-ckpt(1).
 */
void	 ckpt_health(struct buf *, const char *, int64_t, long, int, int,
	    unsigned long long, int64_t, const char *);
/*
 * Newest event time of one data line, in seconds: the utc= field of a
 * duo-fmt line, or duo_time, isotimestamp, ts, timestamp (s or ms) or
 * surfaced_timestamp (ms) of a JSON line, or a leading epoch.  Returns
 * 1 and sets *t when found, 0 when the line carries no time.
 */
int	 ckpt_event_time(struct json *, const char *, size_t, int64_t *);
/* ISO 8601 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" to seconds. */
int	 ckpt_parse_iso(const char *, size_t, int64_t *);
/* "duo-KIND-YYYYMMDDTHHMMSSZ-SEQ.log" for the time (seconds) and seq. */
void	 ckpt_filename(struct buf *, const char *, int64_t,
	    unsigned long long);
/* The time of a published file's name for this kind; -1 if not ours. */
int	 ckpt_filename_time(const char *, const char *, int64_t *);

/*
 * A line reader on a descriptor with bounded memory: at most
 * CKPT_MAXLINE bytes of a line are kept, the rest is read and dropped
 * (LINE_LONG).  With sig set, a signal starts a grace period of
 * grace_ms after which reading stops.
 */
struct ckpt_in {
	int		 fd;
	char		*p;
	size_t		 cap, off, len, scan;
	int		 eof, drop;
	volatile int	*sig;
	long		 grace_ms;
	int64_t		 deadline;	/* 0: no signal yet */
};
void	 ckpt_in_init(struct ckpt_in *, int, volatile int *, long);
void	 ckpt_in_free(struct ckpt_in *);
/* 1 a line (valid until the next call), 0 end of input, -1 read error,
 * -2 the grace period after a signal ran out. */
int	 ckpt_in_line(struct ckpt_in *, const char **, size_t *, int *);

/*
 * A state directory for one kind.  ckpt_open creates the directory when
 * it is missing (syncing its parent) and refuses one that others may
 * write to.  Every ckpt_* call below that returns an int returns a
 * DUO_EXIT_* code and fills err unless it returns DUO_EXIT_OK.
 */
int	 ckpt_open(struct ckpt *, const char *, const char *, char *);
void	 ckpt_close(struct ckpt *);
/* Take KIND.lock without waiting; DUO_EXIT_TEMP ("busy") when another
 * run has it. */
int	 ckpt_lock(struct ckpt *, char *);
void	 ckpt_unlock(struct ckpt *);
/* Finish (or, when its output vanished, undo) an interrupted commit
 * (KIND.intent).  Needs the lock. */
int	 ckpt_recover(struct ckpt *, char *);
/* Read and cross-check host, KIND.cursor and the ledger's last entry. */
int	 ckpt_load(struct ckpt *, char *);
/* Lock, recover, load, unlock: ck->cursor is then the stored cursor. */
int	 ckpt_get(struct ckpt *, char *);
/* Store a cursor by hand (a ledger entry with op "set"). */
int	 ckpt_set(struct ckpt *, const char *, char *);
/* Read a stream from fd and publish it (see duo-ckpt(1)).  0 to 3. */
int	 ckpt_commit(struct ckpt *, int, const struct ckpt_opts *, char *);
/*
 * Append a status report of one kind (or every kind when NULL).  With
 * maxlag >= 0, DUO_EXIT_FAIL (err says which) when a kind's lag
 * exceeds maxlag seconds or its last run failed (status 1 or 2).
 */
int	 ckpt_status(const char *, const char *, int64_t, long long,
	    struct buf *, char *);

#endif /* DUO_H */
