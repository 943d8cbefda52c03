/*
 * fmt: turn Duo log records (one JSON object per line) into SIEM lines
 * with the event's own local time: time zones and the event time, one
 * walk over the record, field extraction, kind inference, fmt_line.
 * The field tables are in fmt_fields.c, the writers in fmt_out.c, the
 * line reader in fmt_in.c.
 */
#include <sys/stat.h>

#ifdef _WIN32
#include <ws2tcpip.h>	/* inet_pton */
#else
#include <arpa/inet.h>
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duo.h"
#include "fmt_int.h"

/* ---- names ---- */

int
fmt_format_byname(const char *s)
{
	static const char *const names[] = {
		"mpe", "json", "kv", "cef", "legacy", NULL
	};
	int i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int
fmt_kind_byname(const char *s)
{
	int i;

	for (i = 1; i < FMT_NKIND; i++)
		if (strcmp(s, fmt_knames[i]) == 0)
			return i;
	return 0;
}

const char *
fmt_kind_name(int k)
{
	return k > 0 && k < FMT_NKIND ? fmt_knames[k] : fmt_knames[0];
}

/* ---- time ---- */


struct civil {
	int	y, mo, d, h, mi, s;
};

static void
civil_from_secs(int64_t t, struct civil *c)
{
	int64_t z, sod, y;

	z = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	sod = t - z * 86400;
	civil_from_days(z, &y, &c->mo, &c->d);
	c->y = (int)y;
	c->h = (int)(sod / 3600);
	c->mi = (int)(sod / 60 % 60);
	c->s = (int)(sod % 60);
}



static struct tz *fmt_tz;	/* the zone of every fmt (fmt_zone) */

int
fmt_zone(const char *zone, char *err)
{
	struct tz *z;

	if (tz_open(&z, zone, err) == -1)
		return -1;
	tz_free(fmt_tz);
	fmt_tz = z;
	return tz_isutc(z);
}

/*
 * The zone's offset holds over a span of instants (between two of its
 * changes); the span last looked up is cached, so records close in time
 * cost a comparison.  Without fmt_zone the zone is "local" (UTC when
 * that cannot be read).
 */
long
fmt_utcoff(struct fmt *f, int64_t t)
{
	struct tz_info ti;
	char err[DUO_ERRLEN];

	if (f->utc)
		return 0;
	if (f->c_ok && t >= f->c_lo && (t < f->c_hi || f->c_hi == INT64_MAX))
		return f->c_off;
	if (fmt_tz == NULL && tz_open(&fmt_tz, "local", err) == -1 &&
	    tz_open(&fmt_tz, "utc", err) == -1)
		return 0;
	tz_lookup(fmt_tz, t, &ti);
	f->c_lo = ti.lo;
	f->c_hi = ti.hi;
	f->c_off = ti.off;
	f->c_ok = 1;
	return ti.off;
}

static void
put2(char *w, int v)
{
	w[0] = (char)('0' + v / 10);
	w[1] = (char)('0' + v % 10);
}

/* "YYYY-MM-DD HH:MM:SS" (sep ' ') or with sep 'T'; 19 bytes. */
static void
put_civil(char *w, const struct civil *c, int sep)
{
	put2(w, c->y / 100);
	put2(w + 2, c->y % 100);
	w[4] = '-';
	put2(w + 5, c->mo);
	w[7] = '-';
	put2(w + 8, c->d);
	w[10] = (char)sep;
	put2(w + 11, c->h);
	w[13] = ':';
	put2(w + 14, c->mi);
	w[16] = ':';
	put2(w + 17, c->s);
}


/* Earliest and latest second we print: years 0001 to 9998. */
#define T_MIN	(-62135596800LL + 86400)
#define T_MAX	(253370764800LL)

int
fmt_etime(struct fmt *f, int64_t ms, struct etime *et)
{
	struct civil c;
	long off, aoff;
	int64_t t;

	t = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	if (t < T_MIN || t > T_MAX)
		return -1;
	et->ms = ms;
	et->secs = t;
	civil_from_secs(t, &c);
	put_civil(et->utc, &c, 'T');
	et->utc[19] = 'Z';
	et->utc[20] = '\0';
	off = fmt_utcoff(f, t);
	civil_from_secs(t + off, &c);
	put_civil(et->local, &c, ' ');
	et->local[19] = '\0';
	put_civil(et->iso, &c, 'T');
	aoff = off < 0 ? -off : off;
	et->iso[19] = off < 0 ? '-' : '+';
	put2(et->iso + 20, (int)(aoff / 3600));
	et->iso[22] = ':';
	put2(et->iso + 23, (int)(aoff / 60 % 60));
	et->iso[25] = '\0';
	return 0;
}

/* ---- member paths: one walk over the record ---- */

/*
 * Every member path that a field, kind inference or the event time reads
 * ("access_device.location.city") is a node of one trie over all kinds,
 * built once.  fmt_line walks the record once: each member key is looked
 * up among the children of its object's node with one hash probe, the
 * first member of a name fills the node's slot with its value token (the
 * first wins, as with json_get), and a matched object whose node has
 * children is walked in turn.  Fields then read slots instead of
 * searching the record's members once per path segment.
 */
struct pnode {
	const char	*name;		/* the segment, not NUL-terminated */
	size_t		 len;
	int		 parent;	/* -1 for the root, node 0 */
	int		 kids;		/* some node has this one as parent */
};

#define PH_SIZE	1024		/* hash slots, a power of two */

static struct pnode pn[FMT_MAXNODE] = { { "", 0, -1, 0 } };
static int npn = 1;
static short ph[PH_SIZE];	/* node + 1, or 0 for an empty slot */

struct fplan fmt_plan[FMT_NKIND][FMT_MAXFIELD];

/* Root members that kind inference and the event time look at. */
#define R_ACTIVITY_ID	0
#define R_TELEPHONY_ID	1
#define R_CONTEXT	2
#define R_CREDITS	3
#define R_SEKEY		4
#define R_SURFACED_TS	5
#define R_TXID		6
#define R_FACTOR	7
#define R_AUTH_DEVICE	8
#define R_ACCESS_DEVICE	9
#define R_EVENT_TYPE	10
#define R_RESULT	11
#define R_ACTION	12
#define R_TS		13
#define R_TIMESTAMP	14
#define R_ISOTIMESTAMP	15
#define R_N		16

static const char *const rname[R_N] = {
	"activity_id", "telephony_id", "context", "credits", "sekey",
	"surfaced_timestamp", "txid", "factor", "auth_device",
	"access_device", "event_type", "result", "action", "ts", "timestamp",
	"isotimestamp"
};
static int rnode[R_N];
static int plan_ready;

static unsigned
phash(int parent, const char *k, size_t n)
{
	const unsigned char *u = (const unsigned char *)k;

	return ((unsigned)parent * 97u + (unsigned)n * 131u + u[0] * 7u +
	    u[n / 2] * 3u + u[n - 1]) & (PH_SIZE - 1);
}

/* Do a[0..n) and b[0..n) match?  Word loads overlap, never go past n. */
static int
keyeq(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;

	if (n >= 8) {
		for (; n > 8; n -= 8, a += 8, b += 8) {
			memcpy(&x, a, 8);
			memcpy(&y, b, 8);
			if (x != y)
				return 0;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return 0;
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return u == v;
	}
	for (; n > 0; n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

/* Child of node parent named k[0..n), or -1. */
static inline int
pfind(int parent, const char *k, size_t n)
{
	unsigned h;
	int x;

	if (n == 0)
		return -1;
	for (h = phash(parent, k, n); ph[h] != 0; h = (h + 1) & (PH_SIZE - 1)) {
		x = ph[h] - 1;
		if (pn[x].parent == parent && pn[x].len == n &&
		    keyeq(pn[x].name, k, n))
			return x;
	}
	return -1;
}

/*
 * Child of parent named k[0..n), added when new.  The tables above need
 * fewer than FMT_MAXNODE nodes (check_fmt counts them); past that a path
 * is simply never found.
 */
static int
padd(int parent, const char *k, size_t n)
{
	unsigned h;
	int x;

	if (parent < 0 || n == 0)
		return -1;
	if ((x = pfind(parent, k, n)) >= 0)
		return x;
	if (npn == FMT_MAXNODE)
		return -1;
	x = npn++;
	pn[x].name = k;
	pn[x].len = n;
	pn[x].parent = parent;
	pn[x].kids = 0;
	pn[parent].kids = 1;
	for (h = phash(parent, k, n); ph[h] != 0; h = (h + 1) & (PH_SIZE - 1))
		;
	ph[h] = (short)(x + 1);
	return x;
}

/* Node of "a.b.c" under node x. */
static int
ppath(int x, const char *path)
{
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		x = padd(x, path, (size_t)(dot - path));
		path = dot + 1;
	}
	return padd(x, path, strlen(path));
}

static void
plan_setup(void)
{
	static const char *const parts[] = { "city", "state", "country" };
	const struct field *fd;
	struct fplan *fp;
	int k, i, j;

	if (plan_ready)
		return;
	for (i = 0; i < R_N; i++)
		rnode[i] = ppath(0, rname[i]);
	for (k = 1; k < FMT_NKIND; k++) {
		for (i = 0, fd = fmt_fields[k]; fd[i].key != NULL; i++) {
			fp = &fmt_plan[k][i];
			fp->n1 = ppath(0, fd[i].path);
			fp->n2 = -1;
			if (fd[i].how == F_CAT2 || fd[i].how == F_FIRST)
				fp->n2 = ppath(0, fd[i].p2);
			else if (fd[i].how == F_OBJ)
				fp->n2 = ppath(fp->n1, fd[i].p2);
			for (j = 0; j < 3; j++)
				fp->loc[j] = fd[i].how != F_LOC ? -1 :
				    padd(fp->n1, parts[j], strlen(parts[j]));
			/* Keys are short; the e2e goldens show every one whole. */
			fp->mkn = (size_t)snprintf(fp->mk, sizeof fp->mk,
			    "%s=", fd[i].key);
			fp->kkn = (size_t)snprintf(fp->kk, sizeof fp->kk,
			    " %s=\"", fd[i].key);
		}
	}
	plan_ready = 1;
}

int
fmt_nodes(void)
{
	plan_setup();
	return npn;
}

static int
isobj(const struct json *js, int i)
{
	return i >= 0 && js->tok[i].type == JSMN_OBJECT;
}

/* json_isnull, inlined: hot. */
static int
isnull(const struct json *js, int i)
{
	return i < 0 || (js->tok[i].type == JSMN_PRIMITIVE &&
	    js->s[js->tok[i].start] == 'n');
}

/* Fill f->slot from the members of object obj, the value of node x. */
static void
pwalk(struct fmt *f, int obj, int x)
{
	const struct json *js = &f->js;
	const jsmntok_t *t;
	const char *k;
	size_t n;
	int i, m, c;

	for (i = obj + 1, m = js->tok[obj].size; m > 0; m--, i = js->next[i]) {
		t = &js->tok[i];
		k = js->s + t->start;
		n = (size_t)(t->end - t->start);
		if (f->esc && memchr(k, '\\', n) != NULL) {
			/* A key written with escapes matches unescaped. */
			buf_reset(&f->tmp);
			if (json_str(js, i, &f->tmp) == -1)
				continue;
			k = f->tmp.p;
			n = f->tmp.len;
		}
		if ((c = pfind(x, k, n)) < 0 || f->slot[c] >= 0)
			continue;
		f->slot[c] = i + 1;
		if (pn[c].kids && js->tok[i + 1].type == JSMN_OBJECT)
			pwalk(f, i + 1, c);
	}
}

/* Value token of node x in the record, or -1. */
static int
slot(const struct fmt *f, int x)
{
	return x >= 0 ? f->slot[x] : -1;
}

/* ---- field extraction ---- */

/*
 * Append the text of token i: strings unescaped, null nothing.  esc 0:
 * js holds no backslash, its strings are their own text.
 */
static void
tokval(const struct json *js, int i, struct buf *v, int esc)
{
	const jsmntok_t *t;

	if (isnull(js, i))
		return;
	t = &js->tok[i];
	if (!esc && t->type != JSMN_OBJECT && t->type != JSMN_ARRAY)
		addlit(v, js->s + t->start, (size_t)(t->end - t->start));
	else if (t->type == JSMN_OBJECT || t->type == JSMN_ARRAY)
		json_compact(v, js->s + t->start, (size_t)(t->end - t->start));
	else if (json_str(js, i, v) == -1)
		addlit(v, js->s + t->start, (size_t)(t->end - t->start));
}

/*
 * v is the text of record token i, as tokval has it: the token's own
 * bytes when they are that text (a string without escapes, a number or
 * literal), else built in v->b.
 */
static void
val_tok(const struct fmt *f, int i, struct fmt_val *v)
{
	const struct json *js = &f->js;
	const jsmntok_t *t;
	size_t n;

	if (isnull(js, i))
		return;
	t = &js->tok[i];
	n = (size_t)(t->end - t->start);
	if (t->type == JSMN_PRIMITIVE || (t->type == JSMN_STRING &&
	    (!f->esc || memchr(js->s + t->start, '\\', n) == NULL))) {
		v->p = js->s + t->start;
		v->n = n;
		return;
	}
	tokval(js, i, &v->b, f->esc);
	v->p = v->b.p;
	v->n = v->b.len;
}

/* v is what was built in v->b. */
static void
val_buf(struct fmt_val *v)
{
	v->p = v->b.len > 0 ? v->b.p : "";
	v->n = v->b.len;
}

/*
 * Member lookup for fmt_kind_infer, which has no walk: compare lengths
 * first; a key written with escapes is compared unescaped.
 */
static int
mget(const struct json *js, int obj, const char *key, size_t n, int esc)
{
	const jsmntok_t *t;
	int i, k;

	if (obj < 0 || js->tok[obj].type != JSMN_OBJECT)
		return -1;
	for (i = obj + 1, k = js->tok[obj].size; k > 0; k--) {
		t = &js->tok[i];
		if ((size_t)(t->end - t->start) == n) {
			if (memcmp(js->s + t->start, key, n) == 0)
				return i + 1;
		} else if (esc && (size_t)(t->end - t->start) > n &&
		    memchr(js->s + t->start, '\\',
		    (size_t)(t->end - t->start)) != NULL) {
			char kb[64];

			if (n < sizeof kb) {
				memcpy(kb, key, n);
				kb[n] = '\0';
				if (json_streq(js, i, kb))
					return i + 1;
			}
		}
		i = js->next[i];	/* json_skip, inlined: hot */
	}
	return -1;
}

/* Parse the JSON text held in token i (member path) into f->sub. */
static int
subdoc(struct fmt *f, const char *path, int i)
{
	if (f->subpath == path)
		return f->sub.ntok > 0 ? 0 : -1;
	f->subpath = path;
	f->sub.ntok = 0;
	if (i < 0)
		return -1;
	if (f->js.tok[i].type == JSMN_OBJECT) {
		/* Already an object: walk it in the record itself. */
		buf_reset(&f->subtext);
		addlit(&f->subtext, f->js.s + f->js.tok[i].start,
		    (size_t)(f->js.tok[i].end - f->js.tok[i].start));
	} else if (f->js.tok[i].type == JSMN_STRING) {
		buf_reset(&f->subtext);
		if (json_str(&f->js, i, &f->subtext) == -1)
			return -1;
	} else
		return -1;
	if (f->subtext.len == 0 || f->subtext.p[0] != '{' ||
	    json_parse(&f->sub, f->subtext.p, f->subtext.len, NULL) == -1 ||
	    !isobj(&f->sub, 0)) {
		f->sub.ntok = 0;
		return -1;
	}
	return 0;
}

static void
extract1(struct fmt *f, const struct field *fd, const struct fplan *fp,
    struct fmt_val *v)
{
	const struct json *js = &f->js;
	struct buf *b = &v->b;
	const char *alt, *bar;
	size_t l0;
	int i, k, n, e;

	switch (fd->how) {
	case F_VAL:
		val_tok(f, slot(f, fp->n1), v);
		return;
	case F_OBJ:
		i = slot(f, fp->n1);
		if (isobj(js, i))
			i = slot(f, fp->n2);
		val_tok(f, i, v);
		return;
	case F_FIRST:
		val_tok(f, slot(f, fp->n1), v);
		if (v->n == 0)
			val_tok(f, slot(f, fp->n2), v);
		return;
	case F_CAT2:
		tokval(js, slot(f, fp->n1), b, f->esc);
		l0 = b->len;
		if (l0 > 0)
			xbuf_addc(b, ' ');
		tokval(js, slot(f, fp->n2), b, f->esc);
		if (b->len == l0 + 1 && l0 > 0) {
			b->len = l0;
			b->p[l0] = '\0';
		}
		break;
	case F_LOC:
		i = slot(f, fp->n1);
		if (!isobj(js, i)) {
			val_tok(f, i, v);
			return;
		}
		for (k = 0; k < 3; k++) {
			l0 = b->len;
			if (l0 > 0)
				ADDS(b, ", ");
			tokval(js, slot(f, fp->loc[k]), b, f->esc);
			if (b->len == l0 + 2 && l0 > 0) {
				b->len = l0;
				b->p[l0] = '\0';
			}
		}
		break;
	case F_JOIN:
		i = slot(f, fp->n1);
		if (i < 0 || js->tok[i].type != JSMN_ARRAY) {
			val_tok(f, i, v);
			return;
		}
		n = js->tok[i].size;
		for (k = 0, e = i + 1; k < n; k++, e = json_skip(js, e)) {
			if (k > 0)
				xbuf_addc(b, ';');
			if (fd->p2 != NULL && isobj(js, e))
				tokval(js, json_get(js, e, fd->p2), b, f->esc);
			else
				tokval(js, e, b, f->esc);
		}
		break;
	case F_SUB:
		if (subdoc(f, fd->path, slot(f, fp->n1)) == -1)
			break;
		for (alt = fd->p2; ; alt = bar + 1) {
			bar = strchr(alt, '|');
			buf_reset(&f->tmp);
			addlit(&f->tmp, alt, bar ? (size_t)(bar - alt) :
			    strlen(alt));
			i = json_get(&f->sub, 0, f->tmp.p);
			if (i >= 0 && !json_isnull(&f->sub, i)) {
				tokval(&f->sub, i, b, 1);
				break;
			}
			if (bar == NULL)
				break;
		}
		break;
	case F_LABEL:
		val_tok(f, slot(f, fp->n1), v);
		for (k = 0; fmt_labels[k][0] != NULL; k++) {
			/* the whole value: a NUL in it is no end */
			l0 = strlen(fmt_labels[k][0]);
			if (v->n == l0 && memcmp(v->p, fmt_labels[k][0],
			    l0) == 0) {
				v->p = fmt_labels[k][1];
				v->n = strlen(v->p);
				break;
			}
		}
		return;
	}
	val_buf(v);
}
/* Is s[0..n) a dotted quad: 0-255 each, no leading zeros? */
static int
ip4_is(const char *s, size_t n)
{
	size_t i = 0, d;
	int parts, v;

	for (parts = 0; parts < 4; parts++) {
		if (parts > 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
		for (d = 0, v = 0; i < n && d < 4 && s[i] >= '0' && s[i] <= '9';
		    i++, d++)
			v = v * 10 + (s[i] - '0');
		if (d == 0 || d > 3 || v > 255 || (d > 1 && s[i - d] == '0'))
			return 0;
	}
	return i == n;
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Is s[0..n) an IPv6 address (RFC 4291 text, no zone)? */
static int
ip6_is(const char *s, size_t n)
{
	size_t i = 0, d, g0;
	int groups = 0, gap = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 1;
		i = 2;
		if (i == n)
			return 1;
	} else if (n > 0 && s[0] == ':')
		return 0;
	for (;;) {
		g0 = i;
		for (d = 0; i < n && d < 5 && hexval(s[i]) >= 0; i++, d++)
			;
		if (i < n && s[i] == '.') {
			/* a dotted quad for the last 32 bits */
			if (groups > 6 || !ip4_is(s + g0, n - g0))
				return 0;
			groups += 2;
			break;
		}
		if (d == 0 || d > 4)
			return 0;
		groups++;
		if (i == n)
			break;
		if (s[i] != ':' || groups >= 8)
			return 0;
		i++;
		if (i < n && s[i] == ':') {
			if (gap)
				return 0;
			gap = 1;
			i++;
			if (i == n)
				break;
		} else if (i == n)
			return 0;
	}
	return gap ? groups < 8 : groups == 8;
}

/* Is s[0..n) an IPv4 (v6 0) or IPv6 (v6 1) address? */
static int
ip_is(const char *s, size_t n, int v6)
{
	return v6 ? ip6_is(s, n) : ip4_is(s, n);
}

/* Is s[0..n) a port: 1 to 5 digits, 0 to 65535? */
static int
port_is(const char *s, size_t n)
{
	size_t i;
	long v = 0;

	if (n == 0 || n > 5)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535;
}

/*
 * Split an access or auth device IP as Duo has sent it: "a.b.c.d",
 * "a.b.c.d:port", "v6", "[v6]", "[v6]:port", "v6%zone", and an
 * unbracketed "v6:port" or "v6.port" when the whole is no v6 address,
 * with blanks around.  Sets the address (a, an) and port (p, pn) within
 * s; returns 1 when the text is exactly a bare address, 0 when it held
 * more (a port, brackets, a zone, blanks), -1 when it is no address.
 */
static int
ip_split(const char *s, size_t n, size_t *a, size_t *an, size_t *p,
    size_t *pn)
{
	const char *e = s + n, *b = s, *c, *q;
	int bare;

	*a = *an = *p = *pn = 0;
	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	bare = b == s && e == s + n;
	n = (size_t)(e - b);
	if (n == 0)
		return -1;
	*a = (size_t)(b - s);
	if (ip_is(b, n, 0) || ip_is(b, n, 1)) {
		*an = n;
		return bare;
	}
	if (*b == '[') {
		if ((c = memchr(b, ']', n)) == NULL)
			return -1;
		q = memchr(b, '%', (size_t)(c - b));
		if (!ip_is(b + 1, (size_t)((q ? q : c) - b - 1), 1))
			return -1;
		if (c + 1 != e && (c[1] != ':' || !port_is(c + 2,
		    (size_t)(e - c - 2))))
			return -1;
		*a = (size_t)(b + 1 - s);
		*an = (size_t)((q ? q : c) - b - 1);
		if (c + 1 != e) {
			*p = (size_t)(c + 2 - s);
			*pn = (size_t)(e - c - 2);
		}
		return 0;
	}
	/* v4:port, v6:port, v6.port: the last ':' or '.' */
	for (c = e - 1; c > b && *c != ':' && *c != '.'; c--)
		;
	if (c > b && port_is(c + 1, (size_t)(e - c - 1)) &&
	    ((*c == ':' && (ip_is(b, (size_t)(c - b), 0) ||
	    ip_is(b, (size_t)(c - b), 1))) ||
	    (*c == '.' && ip_is(b, (size_t)(c - b), 1)))) {
		*an = (size_t)(c - b);
		*p = (size_t)(c + 1 - s);
		*pn = (size_t)(e - c - 1);
		return 0;
	}
	if ((q = memchr(b, '%', n)) != NULL && ip_is(b, (size_t)(q - b), 1)) {
		*an = (size_t)(q - b);
		return 0;
	}
	return -1;
}

/* A field's value; for an IP field, its part (fd->ip). */
static void
extract(struct fmt *f, const struct field *fd, const struct fplan *fp,
    struct fmt_val *v)
{
	size_t a, an, p, pn;
	int r;

	extract1(f, fd, fp, v);
	if (fd->ip == 0 || v->n == 0)
		return;
	/* ip, port and ip_text read one text: split it once */
	if (f->ip_p == v->p && f->ip_n == v->n) {
		a = f->ip_a;
		an = f->ip_an;
		p = f->ip_pp;
		pn = f->ip_pn;
		r = f->ip_r;
	} else {
		r = ip_split(v->p, v->n, &a, &an, &p, &pn);
		f->ip_p = v->p;
		f->ip_n = v->n;
		f->ip_a = a;
		f->ip_an = an;
		f->ip_pp = p;
		f->ip_pn = pn;
		f->ip_r = r;
	}
	switch (fd->ip) {
	case IP_ADDR:
		v->p += a;
		v->n = an;
		break;
	case IP_PORT:
		v->p += p;
		v->n = pn;
		break;
	default:
		if (r == 1)
			v->n = 0;
		break;
	}
}

/* ---- kind inference ---- */

/* Root members of a record: from the walk's slots, or searched. */
struct rootq {
	const struct json	*js;
	const int		*slot;		/* NULL: search */
	int			 esc;
};

static int
rget(const struct rootq *q, int r)
{
	if (q->slot != NULL)
		return rnode[r] >= 0 ? q->slot[rnode[r]] : -1;
	return mget(q->js, 0, rname[r], strlen(rname[r]), q->esc);
}

static int
has(const struct rootq *q, int r)
{
	return rget(q, r) >= 0;
}

static int
infer(const struct rootq *q)
{
	const struct json *js = q->js;
	int i;

	if (has(q, R_ACTIVITY_ID))
		return FMT_ACTIVITY;
	if (has(q, R_TELEPHONY_ID) || (has(q, R_CONTEXT) &&
	    has(q, R_CREDITS)))
		return FMT_TELEPHONY;
	if (has(q, R_SEKEY) || has(q, R_SURFACED_TS))
		return FMT_TRUSTMONITOR;
	if (has(q, R_TXID) && (has(q, R_FACTOR) || has(q, R_AUTH_DEVICE) ||
	    has(q, R_ACCESS_DEVICE) || has(q, R_EVENT_TYPE) ||
	    has(q, R_RESULT)))
		return FMT_AUTH;
	i = rget(q, R_ACTION);
	if (i >= 0 && js->tok[i].type == JSMN_STRING) {
		if (js->tok[i].end - js->tok[i].start >= 5 &&
		    memcmp(js->s + js->tok[i].start, "o2fa_", 5) == 0)
			return FMT_OFFLINE;
		if (!has(q, R_TS) && (has(q, R_TIMESTAMP) ||
		    has(q, R_ISOTIMESTAMP)))
			return FMT_ADMIN;
	}
	return 0;
}

int
fmt_kind_infer(const struct json *js)
{
	struct rootq q;

	if (!isobj(js, 0))
		return 0;
	q.js = js;
	q.slot = NULL;
	q.esc = memchr(js->s, '\\', js->len) != NULL;
	return infer(&q);
}

/* ---- the event time of a record ---- */

/* Earliest and latest millisecond fmt_etime prints. */
static int
ms_ok(int64_t ms)
{
	return ms / 1000 >= T_MIN && ms / 1000 <= T_MAX;
}

/*
 * The event time: the first of isotimestamp, ts (ISO 8601), timestamp
 * (seconds) and surfaced_timestamp (ms) that is present, not null and
 * valid.  Returns 0, 1 when an earlier field was there but bad (warn
 * holds which, and which one was used), -1 when none is usable.
 */
static int
record_time(struct fmt *f, int64_t *ms, char *warn, char *err)
{
	static const int order[] = { R_ISOTIMESTAMP, R_TS, R_TIMESTAMP,
	    R_SURFACED_TS };
	const struct json *js = &f->js;
	const char *bad = NULL;
	long long v;
	int i, k, ok;

	for (k = 0; k < 4; k++) {
		i = slot(f, rnode[order[k]]);
		if (json_isnull(js, i))
			continue;
		if (order[k] == R_ISOTIMESTAMP || order[k] == R_TS)
			ok = js->tok[i].type == JSMN_STRING &&
			    iso8601_ms(js->s + js->tok[i].start,
			    (size_t)(js->tok[i].end - js->tok[i].start), 0,
			    ms) == 0;
		else if (order[k] == R_TIMESTAMP) {
			ok = json_int(js, i, &v) == 0 &&
			    v <= INT64_MAX / 1000 && v >= INT64_MIN / 1000;
			if (ok)
				*ms = (int64_t)v * 1000;
		} else {
			ok = json_int(js, i, &v) == 0;
			if (ok)
				*ms = (int64_t)v;
		}
		if (ok && !ms_ok(*ms))
			ok = 0;
		if (!ok) {
			if (bad == NULL)
				bad = rname[order[k]];
			continue;
		}
		if (bad == NULL)
			return 0;
		seterr(warn, "bad time in \"%s\", used \"%s\"", bad,
		    rname[order[k]]);
		return 1;
	}
	if (bad != NULL)
		return seterr(err, "bad time in \"%s\"", bad);
	return seterr(err, "no time field (isotimestamp, ts, timestamp, "
	    "surfaced_timestamp)");
}

/* ---- setup ---- */

void
fmt_init(struct fmt *f, int format, int kind, int utc)
{
	int i;

	memset(f, 0, sizeof *f);
	fmt_esc_setup();
	plan_setup();
	f->format = format;
	f->kind = kind;
	f->utc = utc;
	json_init(&f->js);
	json_init(&f->sub);
	buf_init(&f->subtext);
	buf_init(&f->tmp);
	buf_init(&f->raw);
	for (i = 0; i < FMT_MAXFIELD; i++)
		buf_init(&f->val[i].b);
}

void
fmt_free(struct fmt *f)
{
	int i;

	json_free(&f->js);
	json_free(&f->sub);
	buf_free(&f->subtext);
	buf_free(&f->tmp);
	buf_free(&f->raw);
	for (i = 0; i < FMT_MAXFIELD; i++)
		buf_free(&f->val[i].b);
}

void
fmt_reset(struct fmt *f)
{
	f->bkind = 0;
	f->host[0] = '\0';
}

/* ---- one line ---- */

/* Rank of an exit status in "worse" order: 0 < 3 < 1 < 2. */
static int
worse_rank(int st)
{
	return st == 0 ? 0 : st == 3 ? 1 : st == 1 ? 2 : 3;
}

int
fmt_worse(int a, int b)
{
	return worse_rank(a) >= worse_rank(b) ? a : b;
}

/*
 * Copy a control line (f->js holds it parsed, or ntok is 0) to out: as
 * it is, but an exit line's "status" raised to the worse of it and
 * f->status; then note a begin line's kind and host.
 */
static void
control(struct fmt *f, const char *line, size_t len, struct buf *out)
{
	long long v;
	int i, parsed;

	parsed = json_parse(&f->js, line, len, NULL) == 0 && isobj(&f->js, 0);
	i = parsed ? json_get(&f->js, 0, "@duo") : -1;
	if (i >= 0 && json_streq(&f->js, i, "exit") &&
	    (i = json_get(&f->js, 0, "status")) >= 0 &&
	    f->js.tok[i].type == JSMN_PRIMITIVE &&
	    json_int(&f->js, i, &v) == 0 && v >= 0 && v <= 3 &&
	    fmt_worse((int)v, f->status) != (int)v) {
		addlit(out, line, (size_t)f->js.tok[i].start);
		xbuf_printf(out, "%d", fmt_worse((int)v, f->status));
		addlit(out, line + f->js.tok[i].end,
		    len - (size_t)f->js.tok[i].end);
	} else
		addlit(out, line, len);
	xbuf_addc(out, '\n');
	i = parsed ? json_get(&f->js, 0, "@duo") : -1;
	if (i < 0 || !json_streq(&f->js, i, "begin"))
		return;
	f->bkind = 0;
	f->host[0] = '\0';
	buf_reset(&f->tmp);
	i = json_get(&f->js, 0, "kind");
	if (i >= 0 && f->js.tok[i].type == JSMN_STRING &&
	    json_str(&f->js, i, &f->tmp) == 0)
		f->bkind = fmt_kind_byname(f->tmp.p != NULL ? f->tmp.p : "");
	buf_reset(&f->tmp);
	i = json_get(&f->js, 0, "host");
	if (i >= 0 && f->js.tok[i].type == JSMN_STRING &&
	    json_str(&f->js, i, &f->tmp) == 0 && f->tmp.len < sizeof f->host)
		memcpy(f->host, f->tmp.p, f->tmp.len + 1);
}

int
fmt_line(struct fmt *f, const char *line, size_t len, int flags,
    const char *name, unsigned long lineno, int64_t now, struct buf *out,
    char *err)
{
	const struct field *fl;
	struct rootq q;
	struct etime et;
	int64_t ms;
	char jerr[DUO_ERRLEN];
	int kind, i, rc;

	if (flags & LINE_LONG) {
		seterr(err, "line longer than %u bytes", FMT_LINEMAX);
		goto unparsed;
	}
	/*
	 * A last line without LF is kept when it is a whole JSON object: a
	 * cut-off object does not parse.
	 */
	if (len >= 8 && memcmp(line, "{\"@duo\":", 8) == 0) {
		/*
		 * Only a JSON object passes as a control line; anything else
		 * with the prefix is written as UNPARSED, so it cannot carry
		 * raw control bytes through, and duo-ckpt then refuses the
		 * segment by its count.  JSON whitespace (TAB, CR, LF cannot
		 * be inside a line) is compacted away.
		 */
		if (json_parse(&f->js, line, len, jerr) == -1 ||
		    !isobj(&f->js, 0)) {
			if (flags & LINE_NOEOL)
				seterr(err, "no newline at end of input "
				    "(truncated?)");
			else
				seterr(err, "control line is not a JSON "
				    "object");
			goto unparsed;
		}
		(void)fmt_flatten(&f->raw, &line, &len);
		control(f, line, len, out);
		return 0;
	}
	if (json_parse(&f->js, line, len, jerr) == -1) {
		if (flags & LINE_NOEOL)
			seterr(err, "no newline at end of input (truncated?)");
		else
			seterr(err, "invalid JSON: %s", jerr);
		goto unparsed;
	}
	if (!isobj(&f->js, 0)) {
		seterr(err, "not a JSON object");
		goto unparsed;
	}
	f->esc = memchr(line, '\\', len) != NULL;
	memset(f->slot, 0xff, (size_t)npn * sizeof f->slot[0]);
	pwalk(f, 0, 0);
	q.js = &f->js;
	q.slot = f->slot;
	q.esc = f->esc;
	kind = f->bkind ? f->bkind : f->kind ? f->kind : infer(&q);
	if (kind == 0) {
		seterr(err, "cannot tell the kind of record");
		goto unparsed;
	}
	if ((rc = record_time(f, &ms, err, err)) == -1)
		goto unparsed;
	if (fmt_etime(f, ms, &et) == -1) {
		seterr(err, "time out of range");
		goto unparsed;
	}
	fl = fmt_fields[kind];
	f->subpath = NULL;
	f->ip_p = NULL;
	if (f->format != FMT_JSON)
		for (i = 0; fl[i].key != NULL; i++) {
			f->val[i].p = "";
			f->val[i].n = 0;
			buf_reset(&f->val[i].b);
			extract(f, &fl[i], &fmt_plan[kind][i], &f->val[i]);
		}
	fmt_emit(f, kind, line, len, &et, out);
	return rc == 1 ? 2 : 0;
unparsed:
	fmt_emit_unparsed(f, line, len, name, lineno, now, err, out);
	return 1;
}

