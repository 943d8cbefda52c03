/*
 * compat: the calls that differ between POSIX and Windows.  Only the
 * POSIX side is built today; every caller goes through here so that a
 * Windows port replaces this file alone.
 */
#ifdef __linux__
#define _GNU_SOURCE	/* fallocate */
#endif
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#ifdef __linux__
#include <linux/falloc.h>
#include <sys/prctl.h>
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "duo.h"

int64_t
compat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
compat_sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int
compat_random(void *p, size_t n)
{
	return RAND_bytes(p, (int)n) == 1 ? 0 : -1;
}

time_t
compat_timegm(struct tm *tm)
{
	return timegm(tm);
}

int
compat_gmtime(time_t t, struct tm *tm)
{
	return gmtime_r(&t, tm) == NULL ? -1 : 0;
}

int
compat_localtime(time_t t, struct tm *tm)
{
	return localtime_r(&t, tm) == NULL ? -1 : 0;
}

int
compat_file_is_shared(int fd)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return 1;
	return (st.st_mode & (S_IRWXG | S_IRWXO)) != 0;
}

int
compat_fsync_dir(const char *dir, char *err)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return seterr(err, "%s: %s", dir, strerror(errno));
	if (fsync(fd) == -1) {
		seterr(err, "%s: fsync: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
compat_rename(const char *from, const char *to, char *err)
{
	if (rename(from, to) == -1)
		return seterr(err, "rename %s to %s: %s", from, to,
		    strerror(errno));
	return 0;
}

void
compat_init(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* A write over RLIMIT_FSIZE fails with EFBIG, which every tool
	 * checks, instead of killing the process half-way. */
	signal(SIGXFSZ, SIG_IGN);
}

int
compat_nodump(void)
{
	struct rlimit rl;
	int rc = 0;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		rc = -1;
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		rc = -1;
#endif
	return rc;
}

void
compat_env_wipe(const char *name)
{
	char *v;

	if ((v = getenv(name)) != NULL) {
		/* The bytes in the environment block itself, so that
		 * /proc/PID/environ no longer shows them. */
		memset(v, 'x', strlen(v));
		unsetenv(name);
	}
}

static volatile int *sigflag;

static void
on_signal(int sig)
{
	struct sigaction sa;

	if (sigflag != NULL && *sigflag == sig) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		sigaction(sig, &sa, NULL);
		raise(sig);
		return;
	}
	if (sigflag != NULL)
		*sigflag = sig;
}

void
compat_catch_signals(volatile int *flag)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	sigflag = flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: reads fail with EINTR */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* ---- file operations for duo-ckpt ---- */

static const char *
typename(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISCHR(m) || S_ISBLK(m))
		return "a device";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

int
compat_open(const char *path, int flags, char *err)
{
	struct stat st;
	int fd, of, e;

	of = (flags & (COMPAT_RDWR | COMPAT_CREAT | COMPAT_TRUNC)) ?
	    O_RDWR : O_RDONLY;
	of |= O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	if (flags & COMPAT_CREAT)
		of |= O_CREAT;
	if ((flags & COMPAT_CREAT) && (flags & COMPAT_EXCL))
		of |= O_EXCL;
	/* O_TRUNC only after the type check: never cut a non-file. */
	if ((fd = open(path, of, (flags & COMPAT_PRIVATE) ? 0600 : 0644)) ==
	    -1) {
		e = errno;
		if (e == ELOOP)
			seterr(err, "%s: is a symbolic link; refusing", path);
		else if (e == ENXIO || e == EISDIR) {
			/* A FIFO without writer, a socket, or a directory. */
			if (lstat(path, &st) == 0)
				seterr(err, "%s: is %s, not a regular file",
				    path, typename(st.st_mode));
			else
				seterr(err, "%s: %s", path, strerror(e));
		} else
			seterr(err, "%s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		e = errno;
		seterr(err, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, "%s: is %s, not a regular file", path,
		    typename(st.st_mode));
		close(fd);
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	/* Regular files never block; plain blocking I/O from here on. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1 ||
	    ((flags & COMPAT_TRUNC) && ftruncate(fd, 0) == -1)) {
		e = errno;
		seterr(err, "%s: %s", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
compat_close(int fd)
{
	return close(fd);
}

ssize_t
compat_read(int fd, void *p, size_t n)
{
	return read(fd, p, n);
}

int
compat_wait_readable(int fd, long ms)
{
	struct timeval tv;
	fd_set rs;
	int r;

	FD_ZERO(&rs);
	FD_SET(fd, &rs);
	tv.tv_sec = ms > 0 ? ms / 1000 : 0;
	tv.tv_usec = ms > 0 ? (ms % 1000) * 1000 : 0;
	if ((r = select(fd + 1, &rs, NULL, NULL, &tv)) == -1)
		return errno == EINTR ? 0 : -1;
	return r > 0;
}

ssize_t
compat_pread(int fd, void *p, size_t n, int64_t off)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(fd, (char *)p + done, n - done, (off_t)(off + done));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int
compat_pwrite(int fd, const void *p, size_t n, int64_t off)
{
	ssize_t w;

	while (n > 0) {
		if ((w = pwrite(fd, p, n, (off_t)off)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

int
compat_fsync(int fd)
{
	return fsync(fd);
}

int
compat_ftruncate(int fd, int64_t len)
{
	int r;

	while ((r = ftruncate(fd, (off_t)len)) == -1 && errno == EINTR)
		;
	return r;
}

int
compat_reserve(int fd, int64_t off, int64_t n)
{
	struct rlimit rl;

	if (n <= 0)
		return 0;
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (uint64_t)(off + n) > (uint64_t)rl.rlim_cur) {
		errno = EFBIG;
		return -1;
	}
#ifdef __linux__
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)n) == -1 &&
	    errno == ENOSPC)
		return -1;
#else
	(void)fd;
#endif
	return 0;
}

static void
fill_stat(const struct stat *st, struct compat_stat *cs)
{
	cs->type = S_ISREG(st->st_mode) ? COMPAT_FILE :
	    S_ISDIR(st->st_mode) ? COMPAT_DIR :
	    S_ISLNK(st->st_mode) ? COMPAT_LINK : COMPAT_OTHER;
	cs->size = (int64_t)st->st_size;
	cs->mtime = (int64_t)st->st_mtime;
}

int
compat_fstat(int fd, struct compat_stat *cs)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	fill_stat(&st, cs);
	return 0;
}

int
compat_lstat(const char *path, struct compat_stat *cs)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return -1;
	fill_stat(&st, cs);
	return 0;
}

/* The directory part of path ("." when there is none). */
static char *
parent_of(const char *path)
{
	const char *s;
	size_t n = strlen(path);
	char *d;

	while (n > 1 && path[n - 1] == '/')
		n--;
	for (s = path + n; s > path && s[-1] != '/'; s--)
		;
	if (s == path)
		return strdup(".");
	while (s > path + 1 && s[-1] == '/')
		s--;
	if ((d = malloc((size_t)(s - path) + 1)) == NULL)
		return NULL;
	memcpy(d, path, (size_t)(s - path));
	d[s - path] = '\0';
	return d;
}

int
compat_mkdir(const char *path, char *err)
{
	struct stat st;
	char *parent;
	int r;

	if (mkdir(path, 0755) == -1) {
		if (errno != EEXIST)
			return seterr(err, "%s: %s", path, strerror(errno));
		if (stat(path, &st) == -1)
			return seterr(err, "%s: %s", path, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return seterr(err, "%s: not a directory", path);
		return 0;
	}
	if ((parent = parent_of(path)) == NULL)
		return seterr(err, "%s: out of memory", path);
	r = compat_fsync_dir(parent, err);
	free(parent);
	return r == -1 ? -1 : 1;
}

int
compat_unlink(const char *path, char *err)
{
	if (unlink(path) == -1) {
		if (errno == ENOENT)
			return 1;
		return seterr(err, "%s: %s", path, strerror(errno));
	}
	return 0;
}

int
compat_rename_new(const char *from, const char *to, char *err)
{
	int e;

	if (link(from, to) == -1) {
		e = errno;
		if (e == EEXIST)
			seterr(err, "%s: exists already", to);
		else
			seterr(err, "link %s to %s: %s", from, to, strerror(e));
		errno = e;
		return -1;
	}
	if (unlink(from) == -1) {
		e = errno;
		seterr(err, "%s: %s", from, strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

int
compat_lock(int fd)
{
	while (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? 1 : -1;
	}
	return 0;
}

struct compat_dir {
	DIR	*dp;
};

int
compat_dir_open(struct compat_dir **dp, const char *path, char *err)
{
	DIR *d;

	*dp = NULL;
	if ((d = opendir(path)) == NULL)
		return seterr(err, "%s: %s", path, strerror(errno));
	*dp = xmalloc(sizeof **dp);
	(*dp)->dp = d;
	return 0;
}

const char *
compat_dir_next(struct compat_dir *d)
{
	struct dirent *e;

	while ((e = readdir(d->dp)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			return e->d_name;
	return NULL;
}

void
compat_dir_close(struct compat_dir *d)
{
	if (d != NULL) {
		closedir(d->dp);
		free(d);
	}
}

int
compat_abspath(const char *path, struct buf *b, char *err)
{
	const char *base;
	char *dir, *r;
	size_t n = strlen(path);

	if (n == 0)
		return seterr(err, "empty path");
	if ((dir = parent_of(path)) == NULL)
		return seterr(err, "%s: out of memory", path);
	base = strrchr(path, '/');
	base = base == NULL ? path : base + 1;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		free(dir);
		return seterr(err, "%s: not a file name", path);
	}
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

int
compat_dir_private(const char *path, char *err)
{
	struct stat st;
	uid_t me = geteuid();

	if (stat(path, &st) == -1)
		return seterr(err, "%s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return seterr(err, "%s: not a directory", path);
	if (st.st_uid != me)
		return seterr(err, "%s: owned by uid %ld, not by uid %ld who "
		    "runs this: run chown %ld %s (state must belong to its "
		    "user)", path, (long)st.st_uid, (long)me, (long)me, path);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return seterr(err, "%s: writable by group or others: run "
		    "chmod go-w %s (or chmod 700)", path, path);
	return 0;
}
