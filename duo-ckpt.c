/* duo-ckpt: remember the cursor and publish a stream exactly once. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/duo.h"

static int crash_at;
static volatile int sigflag;

static void
usage(void)
{
	fputs("usage: duo-ckpt [-d statedir] get KIND\n"
	    "       duo-ckpt [-d statedir] commit [-H] [-a file | -o dir] "
	    "[-k days] [-n records]\n"
	    "                [-t seconds] KIND\n"
	    "       duo-ckpt [-d statedir] set KIND cursor\n"
	    "       duo-ckpt [-d statedir] status [-L maxlag] [KIND]\n",
	    stderr);
	exit(DUO_EXIT_USAGE);
}

/* DUO_CKPT_CRASH_AT=N: a testing aid, SIGKILL at step N. */
static void
hook(int step, void *arg)
{
	(void)arg;
	if (step == crash_at) {
#ifdef _WIN32
		compat_kill_self();
#else
		kill(getpid(), SIGKILL);
		pause();
#endif
	}
}

static long long
number(const char *s, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 ||
	    v > INT_MAX) {
		fprintf(stderr, "duo-ckpt: %s: %s: not a positive number\n",
		    what, s);
		exit(DUO_EXIT_USAGE);
	}
	return v;
}

static int
fail(const char *err, int rc)
{
	if (rc != DUO_EXIT_OK)
		fprintf(stderr, "duo-ckpt: %s\n", err);
	return rc;
}

static int
recovered(struct ckpt *ck)
{
	if (ck->recovered)
		fprintf(stderr, "duo-ckpt: %s: completed an interrupted "
		    "commit\n", ck->kind);
	if (ck->rolledback)
		fprintf(stderr, "duo-ckpt: %s\n", ck->note);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct ckpt_opts o;
	struct ckpt ck;
	struct buf out;
	char err[DUO_ERRLEN];
	const char *dir = "state", *cmd, *s;
	long long maxlag = -1;
	int64_t ms;
	int ch, rc;

	compat_init(&argc, &argv);
	if ((s = getenv("DUO_CKPT_CRASH_AT")) != NULL && *s != '\0')
		crash_at = atoi(s);
	while ((ch = getopt(argc, argv, "+d:")) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	err[0] = '\0';
	memset(&o, 0, sizeof o);
	if (strcmp(cmd, "status") == 0) {
		optind = 1;
		while ((ch = getopt(argc, argv, "+L:")) != -1) {
			switch (ch) {
			case 'L':
				if (cursor_duration(optarg, &ms, err) == -1) {
					fprintf(stderr, "duo-ckpt: -L: %s\n",
					    err);
					return DUO_EXIT_USAGE;
				}
				maxlag = ms / 1000;
				break;
			default:
				usage();
			}
		}
		argc -= optind;
		argv += optind - 1;
		if (argc > 1)
			usage();
		buf_init(&out);
		rc = ckpt_status(dir, argc == 1 ? argv[1] : NULL,
		    compat_now_ms(), maxlag, &out, err);
		if (out.len > 0)
			fwrite(out.p, 1, out.len, stdout);
		buf_free(&out);
		if (rc == DUO_EXIT_OK && out_flush(stdout, "stdout", err) == -1)
			rc = DUO_EXIT_FAIL;
		return fail(err, rc);
	}
	if (strcmp(cmd, "get") == 0) {
		if (argc != 2)
			usage();
	} else if (strcmp(cmd, "set") == 0) {
		if (argc != 3)
			usage();
	} else if (strcmp(cmd, "commit") == 0) {
		optind = 1;
		while ((ch = getopt(argc, argv, "+Ha:k:n:o:t:")) != -1) {
			switch (ch) {
			case 'H':
				o.health = 1;
				break;
			case 'a':
				o.append = optarg;
				break;
			case 'k':
				o.keepdays = number(optarg, "-k");
				break;
			case 'n':
				o.maxrec = number(optarg, "-n");
				break;
			case 'o':
				o.outdir = optarg;
				break;
			case 't':
				o.maxsec = number(optarg, "-t");
				break;
			default:
				usage();
			}
		}
		argc -= optind;
		argv += optind - 1;
		if (argc != 1 || (o.append != NULL && o.outdir != NULL))
			usage();
		if (o.append != NULL && o.keepdays > 0) {
			fputs("duo-ckpt: -k: only with -o\n", stderr);
			return DUO_EXIT_USAGE;
		}
		if (o.append == NULL && o.outdir == NULL)
			o.outdir = "out";
	} else
		usage();

	if ((rc = ckpt_open(&ck, dir, argv[1], err)) != DUO_EXIT_OK) {
		ckpt_close(&ck);
		return fail(err, rc);
	}
	if (crash_at > 0)
		ck.hook = hook;
	if (strcmp(cmd, "get") == 0) {
		rc = ckpt_get(&ck, err);
		recovered(&ck);
		if (rc == DUO_EXIT_OK) {
			printf("%s\n", ck.cursor.p);
			if (out_flush(stdout, "stdout", err) == -1)
				rc = DUO_EXIT_FAIL;
		}
	} else if (strcmp(cmd, "set") == 0) {
		rc = ckpt_set(&ck, argv[2], err);
		recovered(&ck);
	} else {
		ck.sig = &sigflag;
		compat_catch_signals(&sigflag);
		rc = ckpt_commit(&ck, 0, &o, err);
		recovered(&ck);
	}
	ckpt_close(&ck);
	return fail(err, rc);
}
