/*
 * compat: the calls that differ between POSIX and Windows.  Only the
 * POSIX side is built today; every caller goes through here so that a
 * Windows port replaces this file alone.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
