/*
 * tzcheck: compare lib/tz.c with the C library (glibc's localtime_r with
 * TZ set).  For each zone, every hour from January 1 of the first year
 * to January 1 after the last is compared, and at every change of
 * offset, DST flag or abbreviation that glibc shows, the exact second of
 * the change is found and t-1, t and t+1 are compared.  Prints one
 * summary line per zone and one line per mismatch; exit 1 on any.
 *
 *	tzcheck [-l] [-y first:last] zone...
 *
 * -l opens the engine's zone as "local" (reading TZ, as the C library
 * does) instead of by name.  Test driver only: not installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/duo.h"

static long nbad;

static int
glibc_at(int64_t t, long *off, int *dst, char *abbr, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (localtime_r(&tt, &tm) == NULL)
		return -1;
	*off = tm.tm_gmtoff;
	*dst = tm.tm_isdst > 0;
	snprintf(abbr, n, "%s", tm.tm_zone != NULL ? tm.tm_zone : "");
	return 0;
}

/* Compare at t; 0 when the same. */
static int
cmp_at(const char *zone, const struct tz *z, int64_t t)
{
	struct tz_info ti;
	long off;
	int dst;
	char abbr[64];

	if (glibc_at(t, &off, &dst, abbr, sizeof abbr) == -1)
		return 0;
	tz_lookup(z, t, &ti);
	if (ti.off == off && ti.isdst == dst && strcmp(ti.abbr, abbr) == 0 &&
	    ti.lo <= t && t < ti.hi && tz_utcoff(z, t) == off)
		return 0;
	if (nbad++ < 20)
		printf("%s: t=%lld: glibc %ld %d %s, tz %ld %d %s "
		    "[%lld, %lld)\n", zone, (long long)t, off, dst, abbr,
		    ti.off, ti.isdst, ti.abbr, (long long)ti.lo,
		    (long long)ti.hi);
	return 1;
}

static int
same_state(int64_t a, int64_t b)
{
	long oa, ob;
	int da, db;
	char xa[64], xb[64];

	if (glibc_at(a, &oa, &da, xa, sizeof xa) == -1 ||
	    glibc_at(b, &ob, &db, xb, sizeof xb) == -1)
		return 1;
	return oa == ob && da == db && strcmp(xa, xb) == 0;
}

static int64_t
year_start(int y)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mday = 1;
	return (int64_t)timegm(&tm);
}

int
main(int argc, char **argv)
{
	struct tz *z;
	char err[DUO_ERRLEN];
	int64_t t, end, lo, hi, mid;
	long samples, changes;
	int ch, i, local = 0, y0 = 2005, y1 = 2030;

	while ((ch = getopt(argc, argv, "ly:")) != -1) {
		switch (ch) {
		case 'l':
			local = 1;
			break;
		case 'y':
			if (sscanf(optarg, "%d:%d", &y0, &y1) != 2)
				return 2;
			break;
		default:
			fprintf(stderr, "usage: tzcheck [-l] [-y first:last] "
			    "zone...\n");
			return 2;
		}
	}
	for (i = optind; i < argc; i++) {
		if (setenv("TZ", argv[i], 1) == -1)
			return 2;
		tzset();
		if (tz_open(&z, local ? "local" : argv[i], err) == -1) {
			printf("%s: %s\n", argv[i], err);
			nbad++;
			continue;
		}
		samples = changes = 0;
		end = year_start(y1 + 1);
		for (t = year_start(y0); t < end; t += 3600) {
			samples++;
			cmp_at(argv[i], z, t);
			if (same_state(t, t + 3600))
				continue;
			/* state(lo) != state(hi): find the first second */
			lo = t;
			hi = t + 3600;
			while (hi - lo > 1) {
				mid = lo + (hi - lo) / 2;
				if (same_state(lo, mid))
					lo = mid;
				else
					hi = mid;
			}
			changes++;
			cmp_at(argv[i], z, hi - 1);
			cmp_at(argv[i], z, hi);
			cmp_at(argv[i], z, hi + 1);
		}
		printf("%s: %d-%d: %ld changes, %ld hours\n", argv[i], y0, y1,
		    changes, samples);
		tz_free(z);
	}
	if (nbad > 0)
		printf("%ld mismatches\n", nbad);
	return nbad > 0;
}
