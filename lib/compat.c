/*
 * compat: the calls that differ between POSIX and Windows.  Only the
 * POSIX side is built today; every caller goes through here so that a
 * Windows port replaces this file alone.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

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
