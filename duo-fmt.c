/* duo-fmt: turn Duo log records into SIEM lines; see duo-fmt(1). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/duo.h"

static void
usage(void)
{
	fputs("usage: duo-fmt [-f mpe|json|kv|cef|legacy] [-k kind] "
	    "[-z zone] [file ...]\n", stderr);
	exit(DUO_EXIT_USAGE);
}

/* Format one input; 0 ok, 1 some line was UNPARSED, -1 read error. */
static int
run(struct fmt *f, struct fmt_in *in, const char *name, struct buf *out)
{
	char err[DUO_ERRLEN];
	const char *line;
	unsigned long lineno = 0;
	size_t n;
	int flags, r, rc = 0;

	fmt_reset(f);
	while ((r = fmt_in_line(in, &line, &n, &flags, err)) == 1) {
		lineno++;
		buf_reset(out);
		if (fmt_line(f, line, n, flags, name, lineno, compat_now_ms(),
		    out, err) != 0) {
			fprintf(stderr, "duo-fmt: %s:%lu: %s\n", name, lineno,
			    err);
			rc = 1;
		}
		if (fwrite(out->p, 1, out->len, stdout) != out->len) {
			fprintf(stderr, "duo-fmt: stdout: write error: %s\n",
			    strerror(errno));
			return -2;
		}
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
	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	fmt_init(&f, format, kind, utc);
	buf_init(&out);
	fmt_in_init(&in, 0);
	for (i = 0; i < (argc > 0 ? argc : 1); i++) {
		if (argc == 0 || strcmp(argv[i], "-") == 0) {
			fd = 0;
			name = "stdin";
		} else if ((fd = open(argv[i], O_RDONLY)) == -1) {
			fprintf(stderr, "duo-fmt: %s: %s\n", argv[i],
			    strerror(errno));
			rc = DUO_EXIT_FAIL;
			continue;
		} else
			name = argv[i];
		in.fd = fd;
		in.off = in.len = 0;
		in.eof = 0;
		r = run(&f, &in, name, &out);
		if (fd != 0)
			close(fd);
		if (r == -2) {
			rc = DUO_EXIT_FAIL;
			break;
		}
		if (r != 0)
			rc = DUO_EXIT_FAIL;
	}
	fmt_in_free(&in);
	fmt_free(&f);
	buf_free(&out);
	if (out_flush(stdout, "stdout", err) == -1) {
		fprintf(stderr, "duo-fmt: %s\n", err);
		return DUO_EXIT_FAIL;
	}
	return rc;
}
