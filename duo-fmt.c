/* duo-fmt: turn Duo log records into SIEM lines; see duo-fmt(1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _WIN32
#include <sys/stat.h>
#endif

#include "lib/duo.h"

/* After a signal, go on copying a stream for at most this long. */
#define GRACE_MS	5000

static volatile int sig;	/* set by compat_catch_signals */
static int seen_control;	/* some control line was read */
static int64_t deadline;	/* end of the grace period, or 0 */

static void
usage(void)
{
	fputs("usage: duo-fmt [-f mpe|json|kv|cef|legacy] [-k kind] "
	    "[-z zone] [file ...]\n", stderr);
	exit(DUO_EXIT_USAGE);
}

#ifdef _WIN32
/*
 * Windows has no SIGPIPE: a write to a pipe whose reader is gone fails
 * with EPIPE or EINVAL.  End quietly there, as POSIX does, with the
 * status a POSIX shell gives a process killed by SIGPIPE (128 + 13), so
 * that the wrappers see the same thing on both.
 */
static void
pipe_gone(void)
{
	struct stat st;

	if ((errno == EPIPE || errno == EINVAL) && fstat(1, &st) == 0 &&
	    S_ISFIFO(st.st_mode))
		_Exit(141);
}
#else
#define pipe_gone()
#endif

/*
 * After a signal: stop now (1) when reading a terminal or no control
 * line was seen, or when the grace period is over; else go on (0).
 */
static int
must_stop(int fd)
{
	if (!sig)
		return 0;
	if (!seen_control || isatty(fd))
		return 1;
	if (deadline == 0)
		deadline = compat_now_ms() + GRACE_MS;
	return compat_now_ms() > deadline;
}

/*
 * Format one input; 0 ok, 1 some line was UNPARSED, -1 read error, -2
 * write error, -3 stopped by a signal.
 */
static int
run(struct fmt *f, struct fmt_in *in, const char *name, struct buf *out,
    int rc0)
{
	char err[DUO_ERRLEN];
	const char *line;
	unsigned long lineno = 0;
	size_t n;
	int flags, r, rc = 0;

	fmt_reset(f);
	while ((r = fmt_in_line(in, &line, &n, &flags, err)) != 0) {
		if (r == -1)
			break;
		if (r == 2) {
			if (must_stop(in->fd))
				return -3;
			continue;
		}
		lineno++;
		if (n >= 8 && memcmp(line, "{\"@duo\":", 8) == 0)
			seen_control = 1;
		buf_reset(out);
		f->status = rc0 || rc ? DUO_EXIT_FAIL : DUO_EXIT_OK;
		switch (fmt_line(f, line, n, flags, name, lineno,
		    compat_now_ms(), out, err)) {
		case 1:
			fprintf(stderr, "duo-fmt: %s:%lu: %s\n", name, lineno,
			    err);
			rc = 1;
			break;
		case 2:
			fprintf(stderr, "duo-fmt: %s:%lu: warning: %s\n", name,
			    lineno, err);
			break;
		}
		if (fwrite(out->p, 1, out->len, stdout) != out->len) {
			pipe_gone();
			fprintf(stderr, "duo-fmt: stdout: write error: %s\n",
			    strerror(errno));
			return -2;
		}
		if (must_stop(in->fd))
			return -3;
	}
	if (r == -1) {
		fprintf(stderr, "duo-fmt: %s: %s\n", name, err);
		return -1;
	}
	return rc;
}

int
main(int argc, char *argv[])
{
	static char obuf[256 * 1024];
	struct fmt f;
	struct fmt_in in;
	struct buf out;
	char err[DUO_ERRLEN];
	const char *zone = "local", *name;
	int ch, format = FMT_MPE, kind = 0, utc, i, fd, r, rc = 0;

	compat_init(&argc, &argv);
	while ((ch = getopt(argc, argv, "f:k:z:")) != -1) {
		switch (ch) {
		case 'f':
			if ((format = fmt_format_byname(optarg)) == -1) {
				fprintf(stderr, "duo-fmt: %s: unknown format\n",
				    optarg);
				usage();
			}
			break;
		case 'k':
			if ((kind = fmt_kind_byname(optarg)) == 0) {
				fprintf(stderr, "duo-fmt: %s: unknown kind\n",
				    optarg);
				usage();
			}
			break;
		case 'z':
			zone = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if ((utc = fmt_zone(zone, err)) == -1) {
		fprintf(stderr, "duo-fmt: %s\n", err);
		return DUO_EXIT_USAGE;
	}
	compat_catch_signals(&sig);
	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	fmt_init(&f, format, kind, utc);
	buf_init(&out);
	fmt_in_init(&in, 0);
	in.intr = &sig;
	for (i = 0; i < (argc > 0 ? argc : 1); i++) {
		if (argc == 0 || strcmp(argv[i], "-") == 0) {
			fd = 0;
			name = "stdin";
#ifdef _WIN32
		} else if ((fd = compat_open(argv[i], COMPAT_RD, err)) == -1) {
#else
		} else if ((fd = open(argv[i], O_RDONLY)) == -1) {
#endif
			fprintf(stderr, "duo-fmt: %s: %s\n", argv[i],
			    strerror(errno));
			rc = DUO_EXIT_FAIL;
			continue;
		} else
			name = argv[i];
		in.fd = fd;
		in.off = in.len = 0;
		in.eof = 0;
		r = run(&f, &in, name, &out, rc);
		if (fd != 0)
			close(fd);
		if (r == -2) {
			rc = DUO_EXIT_FAIL;
			break;
		}
		if (r == -3)
			break;
		if (r != 0)
			rc = DUO_EXIT_FAIL;
	}
	fmt_in_free(&in);
	fmt_free(&f);
	buf_free(&out);
	if (out_flush(stdout, "stdout", err) == -1) {
		pipe_gone();
		fprintf(stderr, "duo-fmt: %s\n", err);
		return DUO_EXIT_FAIL;
	}
	if (sig) {
		fprintf(stderr, "duo-fmt: stopped by signal %d\n", sig);
		rc = fmt_worse(rc, DUO_EXIT_TEMP);
	}
	return rc;
}
