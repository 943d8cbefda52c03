/*
 * tz: one time-zone engine for every platform.  A zone is a TZif file
 * (RFC 8536, versions 1 to 4, the 64-bit data when there is any) found
 * in a zoneinfo folder, with its POSIX TZ footer for the instants after
 * its last transition; a POSIX TZ string on its own; UTC; or, on
 * Windows for "local" when TZ is unset, the system zone through
 * compat_sys_utcoff.  The C library's localtime and TZ are never used.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duo.h"

#define TZ_NAMEMAX	255	/* bytes of a zone name */
#define TZ_ABBRMAX	31	/* bytes of a POSIX TZ abbreviation */
#define TZ_TMAX		((int64_t)1 << 52)	/* rules hold in ±TZ_TMAX */
#define TZ_LOCALTIME	"/etc/localtime"
#define TZ_SYSDIR	"/usr/share/zoneinfo"

/* One change of a POSIX TZ rule: a day of the year and a local time. */
struct tz_change {
	int	 kind;		/* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' */
	int	 day;
	int	 mon;		/* M: month 1..12, week 1..5, weekday 0..6 */
	int	 week;
	int	 wday;
	long	 secs;		/* local time of day, -167h .. 167h */
};

struct tz_rule {
	long		 std;		/* seconds east of UTC */
	long		 dst;
	int		 hasdst;
	struct tz_change start;	/* standard to daylight time */
	struct tz_change end;	/* daylight to standard time */
	char		 sabbr[TZ_ABBRMAX + 1];
	char		 dabbr[TZ_ABBRMAX + 1];
};

struct tz_type {
	long	 off;
	int	 isdst;
	size_t	 abbr;		/* index into chars */
};

struct tz {
	int		 sys;		/* Windows system zone */
	size_t		 n;		/* transitions */
	int64_t		*at;		/* strictly ascending */
	unsigned char	*idx;		/* type of each transition */
	size_t		 ntypes;
	struct tz_type	*types;
	char		*chars;		/* abbreviations, NUL-terminated */
	int		 hasrule;	/* rule: from the last transition on */
	struct tz_rule	 rule;
};

/* ---- calendar ---- */

static int
isleap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* The year holding day z (days from 1970-01-01). */
static int64_t
year_of_day(int64_t z)
{
	int64_t y;
	int m, d;

	civil_from_days(z, &y, &m, &d);
	return y;
}

static int
mdays(int64_t y, int m)
{
	static const int n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 2 && isleap(y) ? 29 : n[m - 1];
}

/* Instant of change c in year y, when the offset before it is off. */
static int64_t
change_at(const struct tz_change *c, int64_t y, long off)
{
	int64_t d;
	int wd, md;

	switch (c->kind) {
	case 'J':
		d = days_from_civil(y, 1, 1) + c->day - 1 +
		    (isleap(y) && c->day >= 60);
		break;
	case 'D':
		d = days_from_civil(y, 1, 1) + c->day;
		break;
	default:
		d = days_from_civil(y, c->mon, 1);
		wd = (int)(((d + 4) % 7 + 7) % 7);	/* 1970-01-01: Thu */
		md = (c->wday - wd + 7) % 7 + (c->week - 1) * 7;
		while (md >= mdays(y, c->mon))
			md -= 7;
		d += md;
		break;
	}
	return d * 86400 + c->secs - off;
}

/* ---- POSIX TZ strings ---- */

static int
isalpha_c(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
isdigit_c(int c)
{
	return c >= '0' && c <= '9';
}

static const char *
parse_abbr(const char *s, char *out)
{
	size_t n = 0;

	if (*s == '<') {
		for (s++; isalpha_c(*s) || isdigit_c(*s) || *s == '+' ||
		    *s == '-'; s++) {
			if (n == TZ_ABBRMAX)
				return NULL;
			out[n++] = *s;
		}
		if (*s++ != '>')
			return NULL;
	} else {
		for (; isalpha_c(*s); s++) {
			if (n == TZ_ABBRMAX)
				return NULL;
			out[n++] = *s;
		}
	}
	out[n] = '\0';
	return n >= 3 ? s : NULL;
}

static const char *
parse_num(const char *s, int max, int *v)
{
	int n = 0, i;

	for (i = 0; isdigit_c(*s); i++, s++) {
		if (i == 3)
			return NULL;
		n = n * 10 + (*s - '0');
	}
	if (i == 0 || n > max)
		return NULL;
	*v = n;
	return s;
}

/* [+-]hh[:mm[:ss]] with hh at most maxh, as seconds. */
static const char *
parse_hms(const char *s, int maxh, long *secs)
{
	int sign = 1, h, m = 0, sec = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if ((s = parse_num(s, maxh, &h)) == NULL)
		return NULL;
	if (*s == ':') {
		if ((s = parse_num(s + 1, 59, &m)) == NULL)
			return NULL;
		if (*s == ':' && (s = parse_num(s + 1, 59, &sec)) == NULL)
			return NULL;
	}
	*secs = sign * (h * 3600L + m * 60L + sec);
	return s;
}

static const char *
parse_change(const char *s, struct tz_change *c)
{
	if (*s == 'J') {
		c->kind = 'J';
		if ((s = parse_num(s + 1, 365, &c->day)) == NULL ||
		    c->day < 1)
			return NULL;
	} else if (*s == 'M') {
		c->kind = 'M';
		if ((s = parse_num(s + 1, 12, &c->mon)) == NULL ||
		    c->mon < 1 || *s != '.' ||
		    (s = parse_num(s + 1, 5, &c->week)) == NULL ||
		    c->week < 1 || *s != '.' ||
		    (s = parse_num(s + 1, 6, &c->wday)) == NULL)
			return NULL;
	} else {
		c->kind = 'D';
		if ((s = parse_num(s, 365, &c->day)) == NULL)
			return NULL;
	}
	c->secs = 2 * 3600;
	if (*s == '/')
		s = parse_hms(s + 1, 167, &c->secs);
	return s;
}

/*
 * std offset [dst [offset] [,start[/time],end[/time]]], with RFC 8536's
 * extension (times of day from -167 to 167 hours).  Without a rule, the
 * US rule of 2007 (M3.2.0,M11.1.0), as glibc when it has no posixrules.
 */
static int
parse_rule(const char *s, struct tz_rule *r)
{
	static const struct tz_change us_start = { 'M', 0, 3, 2, 0, 7200 };
	static const struct tz_change us_end = { 'M', 0, 11, 1, 0, 7200 };
	long off;

	memset(r, 0, sizeof *r);
	if ((s = parse_abbr(s, r->sabbr)) == NULL ||
	    (s = parse_hms(s, 24, &off)) == NULL)
		return -1;
	r->std = -off;
	if (*s == '\0')
		return 0;
	if ((s = parse_abbr(s, r->dabbr)) == NULL)
		return -1;
	r->hasdst = 1;
	r->dst = r->std + 3600;
	if (*s != ',' && *s != '\0') {
		if ((s = parse_hms(s, 24, &off)) == NULL)
			return -1;
		r->dst = -off;
	}
	if (*s == '\0') {
		r->start = us_start;
		r->end = us_end;
		return 0;
	}
	if (*s != ',' || (s = parse_change(s + 1, &r->start)) == NULL ||
	    *s != ',' || (s = parse_change(s + 1, &r->end)) == NULL ||
	    *s != '\0')
		return -1;
	return 0;
}

struct tz_ev {
	int64_t	 at;
	int	 dst;		/* 1: daylight time from here */
};

/* What rule r says at t; the span [lo, hi) around t it says it for. */
static void
rule_lookup(const struct tz_rule *r, int64_t t, struct tz_info *ti)
{
	struct tz_ev ev[10], e;
	int64_t y, u;
	int i, j, n = 0, cur = -1;

	ti->off = r->std;
	ti->isdst = 0;
	ti->abbr = r->sabbr;
	ti->lo = INT64_MIN;
	ti->hi = INT64_MAX;
	if (!r->hasdst)
		return;
	u = t > TZ_TMAX ? TZ_TMAX : t < -TZ_TMAX ? -TZ_TMAX : t;
	y = year_of_day(u >= 0 ? u / 86400 : (u - 86399) / 86400);
	/* Every change of year yy lies within 9 days of it, so those of
	 * y-2 are all before u and those of y+2 all after it. */
	for (i = -2; i <= 2; i++) {
		ev[n].at = change_at(&r->end, y + i, r->dst);
		ev[n++].dst = 0;
		ev[n].at = change_at(&r->start, y + i, r->std);
		ev[n++].dst = 1;
	}
	/* Sort by instant; at a tie the change to daylight time comes
	 * last, so a year-round daylight rule (0/0,J365/25) stays on. */
	for (i = 1; i < n; i++) {
		e = ev[i];
		for (j = i; j > 0 && (ev[j - 1].at > e.at ||
		    (ev[j - 1].at == e.at && ev[j - 1].dst > e.dst)); j--)
			ev[j] = ev[j - 1];
		ev[j] = e;
	}
	for (i = 0; i < n && ev[i].at <= u; i++)
		cur = i;
	if (cur >= 0 && ev[cur].dst) {
		ti->off = r->dst;
		ti->isdst = 1;
		ti->abbr = r->dabbr;
	}
	/* Past ±TZ_TMAX the answer at ±TZ_TMAX holds for ever. */
	if (t > TZ_TMAX)
		ti->lo = TZ_TMAX;
	else if (t < -TZ_TMAX)
		ti->hi = -TZ_TMAX;
	else {
		if (cur >= 0)
			ti->lo = ev[cur].at;
		if (cur + 1 < n)
			ti->hi = ev[cur + 1].at;
	}
}

/* ---- TZif ---- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_hdr {
	int		 version;	/* 0, 2, 3, 4 */
	uint64_t	 isut, isstd, leap, time, type, chars;
};

static int
read_hdr(const unsigned char *p, size_t len, struct tzif_hdr *h, char *err)
{
	if (len < 44)
		return seterr(err, "truncated header");
	if (memcmp(p, "TZif", 4) != 0)
		return seterr(err, "not a TZif file");
	if (p[4] != 0 && (p[4] < '2' || p[4] > '4'))
		return seterr(err, "unknown TZif version");
	h->version = p[4] == 0 ? 1 : p[4] - '0';
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	if (h->type == 0 || h->type > 256)
		return seterr(err, "bad type count");
	if (h->chars == 0)
		return seterr(err, "no abbreviations");
	if ((h->isut != 0 && h->isut != h->type) ||
	    (h->isstd != 0 && h->isstd != h->type))
		return seterr(err, "bad indicator count");
	return 0;
}

/* Bytes of the data block after a header; tsize 4 (v1) or 8. */
static uint64_t
data_len(const struct tzif_hdr *h, int tsize)
{
	/* Each count is below 2^32, so this cannot overflow. */
	return h->time * (uint64_t)tsize + h->time + h->type * 6 +
	    h->chars + h->leap * (uint64_t)(tsize + 4) + h->isstd + h->isut;
}

static int
read_data(struct tz *z, const struct tzif_hdr *h, const unsigned char *p,
    int tsize, char *err)
{
	const unsigned char *ip, *tp, *cp;
	size_t i;
	int32_t off;

	if (h->leap != 0)
		return seterr(err, "leap-second files are not supported");
	ip = p + h->time * tsize;
	tp = ip + h->time;
	cp = tp + h->type * 6;
	z->n = (size_t)h->time;
	z->ntypes = (size_t)h->type;
	z->at = xcalloc(z->n + 1, sizeof *z->at);
	z->idx = xcalloc(z->n + 1, 1);
	z->types = xcalloc(z->ntypes, sizeof *z->types);
	z->chars = xmalloc((size_t)h->chars + 1);
	for (i = 0; i < z->n; i++) {
		z->at[i] = tsize == 8 ? be64(p + i * 8) :
		    (int64_t)(int32_t)be32(p + i * 4);
		if (i > 0 && z->at[i] <= z->at[i - 1])
			return seterr(err, "transitions out of order");
		if ((z->idx[i] = ip[i]) >= z->ntypes)
			return seterr(err, "bad type index");
	}
	for (i = 0; i < z->ntypes; i++, tp += 6) {
		off = (int32_t)be32(tp);
		if (off < -89999 || off > 93599)
			return seterr(err, "bad UTC offset");
		if (tp[4] > 1)
			return seterr(err, "bad DST flag");
		if (tp[5] >= h->chars)
			return seterr(err, "bad abbreviation index");
		z->types[i].off = off;
		z->types[i].isdst = tp[4];
		z->types[i].abbr = tp[5];
	}
	memcpy(z->chars, cp, (size_t)h->chars);
	if (z->chars[h->chars - 1] != '\0')
		return seterr(err, "abbreviations not NUL-terminated");
	z->chars[h->chars] = '\0';
	return 0;
}

static void
tz_clear(struct tz *z)
{
	free(z->at);
	free(z->idx);
	free(z->types);
	free(z->chars);
	memset(z, 0, sizeof *z);
}

void
tz_free(struct tz *z)
{
	if (z == NULL)
		return;
	tz_clear(z);
	free(z);
}

static int
load(struct tz *z, const unsigned char *p, size_t len, char *err)
{
	struct tzif_hdr h;
	const unsigned char *nl;
	uint64_t n;
	char rule[256];

	if (len > TZ_FILEMAX)
		return seterr(err, "file too large");
	if (read_hdr(p, len, &h, err) == -1)
		return -1;
	if ((n = data_len(&h, 4)) > len - 44)
		return seterr(err, "counts exceed the file size");
	if (h.version == 1)
		return read_data(z, &h, p + 44, 4, err);
	p += 44 + n;
	len -= 44 + n;
	if (read_hdr(p, len, &h, err) == -1)
		return -1;
	if (h.version == 1)
		return seterr(err, "second header of version 1");
	if ((n = data_len(&h, 8)) > len - 44)
		return seterr(err, "counts exceed the file size");
	if (read_data(z, &h, p + 44, 8, err) == -1)
		return -1;
	p += 44 + n;
	len -= 44 + n;
	if (len < 2 || p[0] != '\n' ||
	    (nl = memchr(p + 1, '\n', len - 1)) == NULL)
		return seterr(err, "no TZ string footer");
	if ((size_t)(nl - p - 1) >= sizeof rule ||
	    memchr(p + 1, '\0', (size_t)(nl - p - 1)) != NULL)
		return seterr(err, "bad TZ string footer");
	memcpy(rule, p + 1, (size_t)(nl - p - 1));
	rule[nl - p - 1] = '\0';
	if (rule[0] != '\0') {
		if (parse_rule(rule, &z->rule) == -1)
			return seterr(err, "bad TZ string footer");
		z->hasrule = 1;
	}
	return 0;
}

int
tz_load(struct tz **zp, const void *p, size_t len, char *err)
{
	struct tz *z;

	z = xcalloc(1, sizeof *z);
	if (load(z, p, len, err) == -1) {
		tz_free(z);
		*zp = NULL;
		return -1;
	}
	*zp = z;
	return 0;
}

int
tz_posix(struct tz **zp, const char *s, char *err)
{
	struct tz *z;

	z = xcalloc(1, sizeof *z);
	if (strlen(s) > TZ_NAMEMAX || parse_rule(s, &z->rule) == -1) {
		tz_free(z);
		*zp = NULL;
		return seterr(err, "bad TZ string");
	}
	z->hasrule = 1;
	*zp = z;
	return 0;
}

static struct tz *
tz_utc(void)
{
	struct tz *z;

	z = xcalloc(1, sizeof *z);
	z->hasrule = 1;
	memcpy(z->rule.sabbr, "UTC", 4);
	return z;
}

#ifdef _WIN32
/*
 * The Windows system zone, by the year's rules (compat_sys_utcoff).  Its
 * offsets change at most once an hour, so when both ends of the hour
 * agree the span is the hour.  Outside ±TZ_TMAX (and Windows' range,
 * 1601-30827): UTC.
 */
static void
sys_lookup(int64_t t, struct tz_info *ti)
{
	int64_t h;
	long a, b;

	ti->off = 0;
	ti->isdst = 0;
	ti->abbr = "";
	if (t > TZ_TMAX || t < -TZ_TMAX) {
		ti->lo = t > 0 ? TZ_TMAX + 1 : INT64_MIN;
		ti->hi = t > 0 ? INT64_MAX : -TZ_TMAX;
		return;
	}
	h = t >= 0 ? t - t % 3600 : t - (3600 + t % 3600) % 3600;
	if (compat_sys_utcoff(h, &a) == -1)
		a = 0;
	if (compat_sys_utcoff(h + 3599, &b) == -1)
		b = 0;
	if (a == b) {
		ti->off = a;
		ti->lo = h;
		ti->hi = h + 3600;
	} else {
		if (compat_sys_utcoff(t, &ti->off) == -1)
			ti->off = 0;
		ti->lo = t;
		ti->hi = t + 1;
	}
}
#endif

void
tz_lookup(const struct tz *z, int64_t t, struct tz_info *ti)
{
	const struct tz_type *ty;
	size_t lo, hi, mid;

#ifdef _WIN32
	if (z->sys) {
		sys_lookup(t, ti);
		return;
	}
#endif
	if (z->n == 0 || t >= z->at[z->n - 1]) {
		if (z->hasrule) {
			rule_lookup(&z->rule, t, ti);
			if (z->n > 0 && ti->lo < z->at[z->n - 1])
				ti->lo = z->at[z->n - 1];
			return;
		}
		ty = &z->types[z->n == 0 ? 0 : z->idx[z->n - 1]];
		ti->lo = z->n == 0 ? INT64_MIN : z->at[z->n - 1];
		ti->hi = INT64_MAX;
	} else if (t < z->at[0]) {
		/* RFC 8536: type 0 before the first transition */
		ty = &z->types[0];
		ti->lo = INT64_MIN;
		ti->hi = z->at[0];
	} else {
		/* at[lo] <= t < at[hi] */
		lo = 0;
		hi = z->n - 1;
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if (z->at[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		ty = &z->types[z->idx[lo]];
		ti->lo = z->at[lo];
		ti->hi = z->at[hi];
	}
	ti->off = ty->off;
	ti->isdst = ty->isdst;
	ti->abbr = z->chars + ty->abbr;
}

long
tz_utcoff(const struct tz *z, int64_t t)
{
	struct tz_info ti;

	tz_lookup(z, t, &ti);
	return ti.off;
}

int
tz_isutc(const struct tz *z)
{
	size_t i;

	if (z->sys || (z->hasrule && (z->rule.std != 0 || z->rule.hasdst)))
		return 0;
	for (i = 0; i < z->ntypes; i++)
		if (z->types[i].off != 0)
			return 0;
	return 1;
}

/* ---- finding zones ---- */

/*
 * A zone name is relative components of A-Za-z0-9 . _ + -, none empty
 * and none starting with a dot: it cannot leave the zoneinfo folder.
 */
int
tz_name_ok(const char *s)
{
	size_t n = 0;
	int start = 1;

	for (; *s != '\0'; s++, n++) {
		if (n == TZ_NAMEMAX)
			return 0;
		if (*s == '/') {
			if (start)
				return 0;
			start = 1;
			continue;
		}
		if (start && *s == '.')
			return 0;
		start = 0;
		if (!isalpha_c(*s) && !isdigit_c(*s) && *s != '.' &&
		    *s != '_' && *s != '+' && *s != '-')
			return 0;
	}
	return n > 0 && !start;
}

/* The zoneinfo folder: $TZDIR, else the system's or the program's. */
static int
zonedir(char *dir, size_t size)
{
	const char *e;

	if ((e = getenv("TZDIR")) != NULL && *e != '\0') {
		if (strlen(e) >= size)
			return -1;
		memcpy(dir, e, strlen(e) + 1);
		return 0;
	}
#ifdef _WIN32
	if (compat_exe_dir(dir, size) == -1 ||
	    strlen(dir) + sizeof "/zoneinfo" > size)
		return -1;
	strcat(dir, "/zoneinfo");
#else
	if (sizeof TZ_SYSDIR > size)
		return -1;
	memcpy(dir, TZ_SYSDIR, sizeof TZ_SYSDIR);
#endif
	return 0;
}

#ifdef _WIN32
/*
 * Read the regular file at path into p (TZ_FILEMAX + 1 bytes, so that a
 * larger file shows).  0, 1 when there is no such file, -1 with err.
 * Windows: compat_open, for UTF-8 paths (the zoneinfo folder beside the
 * program may be anywhere); it never opens a directory or device.
 */
static int
read_zone(const char *path, unsigned char *p, size_t *len, char *err)
{
	char e[DUO_ERRLEN];
	ssize_t n;
	int fd;

	*len = 0;
	if ((fd = compat_open(path, COMPAT_RD, e)) == -1)
		return errno == ENOENT || errno == ENOTDIR ||
		    errno == EISDIR || errno == EINVAL ? 1 :
		    seterr(err, "%s", strerror(errno));
	while (*len < TZ_FILEMAX + 1 &&
	    (n = compat_read(fd, p + *len, TZ_FILEMAX + 1 - *len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			seterr(err, "%s", strerror(errno));
			compat_close(fd);
			return -1;
		}
		*len += (size_t)n;
	}
	compat_close(fd);
	return 0;
}
#else
/* POSIX: stdio, following symbolic links (/etc/localtime, US/Eastern). */
static int
read_zone(const char *path, unsigned char *p, size_t *len, char *err)
{
	struct stat st;
	FILE *fp;
	int e;

	*len = 0;
	if (stat(path, &st) == -1)
		return errno == ENOENT || errno == ENOTDIR ? 1 :
		    seterr(err, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode))	/* a directory, or a FIFO to hang on */
		return 1;
	if ((fp = fopen(path, "rb")) == NULL)
		return seterr(err, "%s", strerror(errno));
	*len = fread(p, 1, TZ_FILEMAX + 1, fp);
	e = ferror(fp) ? errno : 0;
	fclose(fp);
	if (e != 0)
		return seterr(err, "%s", strerror(e));
	return 0;
}
#endif

/*
 * Load the TZif file at path (at most TZ_FILEMAX bytes).  Returns 0, -1
 * with err set, or 1 when there is no such file.
 */
static int
load_file(struct tz **zp, const char *path, char *err)
{
	unsigned char *p;
	size_t len;
	int r;

	*zp = NULL;
	p = xmalloc(TZ_FILEMAX + 1);
	if ((r = read_zone(path, p, &len, err)) == 0) {
		if (len > TZ_FILEMAX)
			r = seterr(err, "file too large");
		else
			r = tz_load(zp, p, len, err);
	}
	free(p);
	return r;
}

/*
 * A zone from its name or a POSIX TZ string.  abs (for TZ, which is the
 * user's own) also allows an absolute path, as the C library does; what
 * comes from elsewhere only names files inside the zoneinfo folder.
 */
static int
resolve(struct tz **zp, const char *s, int abs, const char *label,
    char *err)
{
	char dir[1024], path[1400], e[DUO_ERRLEN];
	int colon = 0, r = 1;

	if (*s == ':') {
		colon = 1;
		s++;
		if (*s == '\0' && abs) {
			*zp = tz_utc();
			return 0;
		}
	}
	if (abs && compat_path_abs(s)) {
		if ((r = load_file(zp, s, e)) == -1)
			return seterr(err, "%s: %s", label, e);
	} else if (tz_name_ok(s)) {
		if (zonedir(dir, sizeof dir) == -1)
			return seterr(err, "%s: no zoneinfo folder", label);
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, s) >=
		    sizeof path)
			return seterr(err, "%s: unknown time zone", label);
		if ((r = load_file(zp, path, e)) == -1)
			return seterr(err, "%s: %s", label, e);
	}
	if (r == 0)
		return 0;
	if (!colon && tz_posix(zp, s, e) == 0)
		return 0;
	return seterr(err, "%s: unknown time zone", label);
}

int
tz_open(struct tz **zp, const char *name, char *err)
{
	char label[DUO_ERRLEN];
	const char *e;

	*zp = NULL;
	if (strcmp(name, "utc") == 0 || strcmp(name, "UTC") == 0) {
		*zp = tz_utc();
		return 0;
	}
	if (strcmp(name, "local") != 0)
		return resolve(zp, name, 0, name, err);
	if ((e = getenv("TZ")) == NULL) {
#ifdef _WIN32
		struct tz *z;
		long off;

		if (compat_sys_utcoff(0, &off) == -1)
			return seterr(err, "local: cannot read the system "
			    "time zone");
		z = xcalloc(1, sizeof *z);
		z->sys = 1;
		*zp = z;
		return 0;
#else
		int r;

		if ((r = load_file(zp, TZ_LOCALTIME, label)) == -1)
			return seterr(err, "%s: %s", TZ_LOCALTIME, label);
		if (r == 1)	/* no /etc/localtime: UTC, as the C library */
			*zp = tz_utc();
		return 0;
#endif
	}
	if (*e == '\0') {
		*zp = tz_utc();
		return 0;
	}
	snprintf(label, sizeof label, "TZ=%.200s", e);
	return resolve(zp, e, 1, label, err);
}
