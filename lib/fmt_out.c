/*
 * fmt_out: escaping, caps and cut marks, and the line writers of every
 * format (mpe, kv, cef, legacy, json, UNPARSED).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duo.h"
#include "fmt_int.h"

/* ---- escaping ---- */

#define E_MPE	0	/* % | CR LF TAB, C0, DEL as %XX */
#define E_KV	1	/* \" \\ \n \r \t \b \f, NUL \x00, rest raw */
#define E_CEFX	2	/* \\ \= \n \r; other C0 and DEL as space */
#define E_CEFH	3	/* \\ \|; C0 and DEL as space */
#define E_LEG	4	/* % " C0 DEL as %XX */
#define E_LEGD	5	/* % C0 DEL as %XX (legacy description) */
#define E_LEGR	6	/* " as %22 (raw text already escaped) */
#define E_N	7

#define C_PASS	0
#define C_PCT	1
#define C_BS	2	/* backslash and a letter */
#define C_BSX	3	/* \xHH */
#define C_SP	4	/* a space */

static unsigned char esctab[E_N][256];
static int esc_ready;

void
fmt_esc_setup(void)
{
	int c;

	if (esc_ready)
		return;
	for (c = 0; c < 256; c++) {
		int ctl = c < 0x20 || c == 0x7f;

		esctab[E_MPE][c] = ctl || c == '%' || c == '|' ? C_PCT : C_PASS;
		/* what syslog-ng's kv-parser decodes; NUL no line carries */
		esctab[E_KV][c] = c == '"' || c == '\\' || c == '\n' ||
		    c == '\r' || c == '\t' || c == '\b' || c == '\f' ? C_BS :
		    c == 0 ? C_BSX : C_PASS;
		esctab[E_CEFX][c] = c == '\\' || c == '=' || c == '\n' ||
		    c == '\r' ? C_BS : ctl ? C_SP : C_PASS;
		esctab[E_CEFH][c] = c == '\\' || c == '|' ? C_BS :
		    ctl ? C_SP : C_PASS;
		esctab[E_LEG][c] = ctl || c == '%' || c == '"' ? C_PCT : C_PASS;
		esctab[E_LEGD][c] = ctl || c == '%' ? C_PCT : C_PASS;
		esctab[E_LEGR][c] = c == '"' ? C_PCT : C_PASS;
	}
	esc_ready = 1;
}

static const char hexup[] = "0123456789ABCDEF";

/* Write byte c, which needs escaping in table tab, to w; the end. */
static char *
esc_one(char *w, unsigned char c, const unsigned char *tab)
{
	switch (tab[c]) {
	case C_PCT:
		*w++ = '%';
		*w++ = hexup[c >> 4];
		*w++ = hexup[c & 15];
		break;
	case C_BSX:
		*w++ = '\\';
		*w++ = 'x';
		*w++ = hexup[c >> 4];
		*w++ = hexup[c & 15];
		break;
	case C_BS:
		*w++ = '\\';
		*w++ = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' :
		    c == '\b' ? 'b' : c == '\f' ? 'f' : (char)c;
		break;
	default:
		*w++ = ' ';
		break;
	}
	return w;
}

/* Room kept for the cut marker "...[cut 4194304 bytes]". */
#define CUTROOM	32

/* Output room esc_put needs for n source bytes and cap. */
static size_t
esc_room(size_t n, size_t cap)
{
	return (n <= cap / 4 ? n * 4 : cap) + CUTROOM;
}

/* C_PASS is 0: or the classes of 4 or 8 bytes and test once. */
#define ESC4(tab, s)	((tab)[(s)[0]] | (tab)[(s)[1]] | (tab)[(s)[2]] | \
	(tab)[(s)[3]])
#define ESC8(tab, s)	(ESC4(tab, s) | ESC4(tab, (s) + 4))

/* Length of the run at s[0..n) that needs no escaping in table tab. */
static size_t
esc_run(const unsigned char *s, size_t n, const unsigned char *tab)
{
	size_t i = 0;

	while (n - i >= 8 && ESC8(tab, s + i) == C_PASS)
		i += 8;
	/* The rest, shorter than a block: one block that overlaps. */
	if (n - i < 8) {
		if (n >= 8 && ESC8(tab, s + n - 8) == C_PASS)
			return n;
		if (n < 8 && n >= 4 && (ESC4(tab, s) |
		    ESC4(tab, s + n - 4)) == C_PASS)
			return n;
	}
	while (i < n && tab[s[i]] == C_PASS)
		i++;
	return i;
}

/*
 * Write s[0..n) escaped in style st to w, at most cap output bytes (cap >
 * CUTROOM); w has esc_room(n, cap) bytes of room.  Returns the end.  A
 * value that does not fit is cut at a character boundary and ends in
 * "...[cut N bytes]", N counting the source bytes left out.
 */
static char *
esc_put(char *w, const char *src, size_t n, int st, size_t cap)
{
	const unsigned char *s = (const unsigned char *)src, *e = s + n;
	const unsigned char *tab = esctab[st];
	char *start = w;
	size_t need, l;
	int cl;

	if (n <= cap / 4) {
		/* Fits whatever it holds: copy runs, escape the rest. */
		for (;;) {
			l = esc_run(s, (size_t)(e - s), tab);
			memcpy(w, s, l);
			w += l;
			s += l;
			if (s == e)
				return w;
			w = esc_one(w, *s++, tab);
		}
	}
	while (s < e) {
		unsigned char c = *s;

		cl = tab[c];
		if (cl == C_PASS) {
			l = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
			if (l > (size_t)(e - s))
				l = (size_t)(e - s);
			need = l;
		} else
			need = cl == C_PCT ? 3 : cl == C_BSX ? 4 :
			    cl == C_BS ? 2 : 1;
		if ((size_t)(w - start) + need > cap - CUTROOM) {
			char m[CUTROOM];

			l = (size_t)snprintf(m, sizeof m, "...[cut %zu bytes]",
			    (size_t)(e - s));
			memcpy(w, m, l < sizeof m ? l : sizeof m - 1);
			return w + (l < sizeof m ? l : sizeof m - 1);
		}
		if (cl == C_PASS) {
			memcpy(w, s, need);
			w += need;
			s += need;
		} else
			w = esc_one(w, *s++, tab);
	}
	return w;
}

/* Append s[0..n) escaped in style st, at most cap output bytes. */
static void
esc_add(struct buf *o, const char *src, size_t n, int st, size_t cap)
{
	char *w;

	if (n == 0)
		return;
	xbuf_grow(o, esc_room(n, cap));
	w = esc_put(o->p + o->len, src, n, st, cap);
	o->len = (size_t)(w - o->p);
	o->p[o->len] = '\0';
}

/* Length of a valid UTF-8 sequence at s (< e), or 0. */
static size_t
utf8_ok(const unsigned char *s, const unsigned char *e)
{
	size_t l, i;
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		l = 2;
	else if (c >= 0xe0 && c <= 0xef)
		l = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		l = 4;
	else
		return 0;
	if ((size_t)(e - s) < l)
		return 0;
	for (i = 1; i < l; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) ||
	    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
		return 0;
	return l;
}

/*
 * The raw text of an UNPARSED line: mpe escaping, and every byte that
 * is not part of valid UTF-8 as %XX too, so the output is valid UTF-8.
 */
static void
raw_add(struct buf *o, const char *src, size_t n, size_t cap)
{
	const unsigned char *s = (const unsigned char *)src, *e = s + n;
	size_t l, start = o->len;

	while (s < e) {
		l = utf8_ok(s, e);
		if (o->len - start + (l > 1 ? l : 3) > cap - CUTROOM) {
			xbuf_printf(o, "...[cut %zu bytes]", (size_t)(e - s));
			return;
		}
		if (l == 0 || esctab[E_MPE][*s] != C_PASS) {
			char x[3] = { '%', hexup[*s >> 4], hexup[*s & 15] };

			addlit(o, x, 3);
			s++;
		} else {
			addlit(o, (const char *)s, l);
			s += l;
		}
	}
}


/* Index of the field called key in the kind's list, or -1. */
static int
fidx(const struct field *fl, const char *key)
{
	int i;

	for (i = 0; fl[i].key != NULL; i++)
		if (strcmp(fl[i].key, key) == 0)
			return i;
	return -1;
}

/* ---- output per format ---- */

static size_t
capof(const struct field *fd)
{
	return fd->tail ? FMT_TAILMAX : FMT_VALMAX;
}

/* Copy a string literal to w and step past it. */
#define PUTS(w, lit)	do {						\
	memcpy((w), (lit), sizeof(lit) - 1);				\
	(w) += sizeof(lit) - 1;						\
} while (0)

/* Copy s[0..n) to w and step past it. */
static char *
put(char *w, const char *s, size_t n)
{
	memcpy(w, s, n);
	return w + n;
}

/*
 * Room for a line of header bytes plus the kind's fields: each value's
 * esc_room, its key's fixed-size copy and a separator.
 */
static size_t
line_room(struct fmt *f, int kind, size_t head)
{
	const struct field *fl = fmt_fields[kind];
	size_t room = head;
	int i;

	for (i = 0; fl[i].key != NULL; i++)
		room += KEYROOM + 1 + esc_room(f->val[i].n, capof(&fl[i]));
	return room;
}

/* The line written through w ends at w. */
static void
line_end(struct buf *o, char *w)
{
	o->len = (size_t)(w - o->p);
	o->p[o->len] = '\0';
}

static void
emit_mpe(struct fmt *f, int kind, const struct etime *et, struct buf *o)
{
	const struct field *fl = fmt_fields[kind];
	const struct fplan *fp = fmt_plan[kind];
	char *w;
	int i;

	xbuf_grow(o, line_room(f, kind, 80));
	w = put(o->p + o->len, et->local, 19);
	PUTS(w, " DUO ");
	w = put(w, fmt_kupper[kind], strlen(fmt_kupper[kind]));
	PUTS(w, " |utc=");
	w = put(w, et->utc, 20);
	*w++ = '|';
	for (i = 0; fl[i].key != NULL; i++) {
		memcpy(w, fp[i].mk, KEYROOM);
		w += fp[i].mkn;
		if (f->val[i].n > 0)
			w = esc_put(w, f->val[i].p, f->val[i].n, E_MPE,
			    capof(&fl[i]));
		*w++ = '|';
	}
	*w++ = '\n';
	line_end(o, w);
}

static void
emit_kv(struct fmt *f, int kind, const struct etime *et, struct buf *o)
{
	const struct field *fl = fmt_fields[kind];
	const struct fplan *fp = fmt_plan[kind];
	char *w;
	int i;

	xbuf_grow(o, line_room(f, kind, 96));
	w = o->p + o->len;
	PUTS(w, "duo_time=\"");
	w = put(w, et->iso, 25);
	PUTS(w, "\" kind=\"");
	w = put(w, fmt_knames[kind], strlen(fmt_knames[kind]));
	PUTS(w, "\" utc=\"");
	w = put(w, et->utc, 20);
	*w++ = '"';
	for (i = 0; fl[i].key != NULL; i++) {
		memcpy(w, fp[i].kk, KEYROOM);
		w += fp[i].kkn;
		if (f->val[i].n > 0)
			w = esc_put(w, f->val[i].p, f->val[i].n, E_KV,
			    capof(&fl[i]));
		*w++ = '"';
	}
	*w++ = '\n';
	line_end(o, w);
}

/* The value of the field called key in the kind's list (or empty). */
static void
vget(struct fmt *f, const struct field *fl, const char *key,
    const char **p, size_t *n)
{
	int i = fidx(fl, key);

	*p = i >= 0 ? f->val[i].p : "";
	*n = i >= 0 ? f->val[i].n : 0;
}

/* Is p[0..n) lit, ignoring case?  A NUL in p is a byte like others. */
static int
veq(const char *p, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n == l && strncasecmp(p, lit, l) == 0;
}

/*
 * "CEF:0|Duo Security|Duo|1|KIND:WHAT|NAME|SEV|", every header field
 * whole (a NUL in a value becomes a space, as control bytes do); no
 * ":WHAT" when what is NULL; def for an empty name.
 */
static void
cef_header(struct buf *o, const char *kind, const char *what, size_t wn,
    const char *name, size_t nn, const char *def, int sev)
{
	ADDS(o, "CEF:0|Duo Security|Duo|1|");
	xbuf_adds(o, kind);
	if (what != NULL) {
		xbuf_addc(o, ':');
		esc_add(o, what, wn, E_CEFH, FMT_VALMAX);
	}
	xbuf_addc(o, '|');
	if (nn == 0) {
		name = def;
		nn = strlen(def);
	}
	esc_add(o, name, nn, E_CEFH, FMT_VALMAX);
	xbuf_printf(o, "|%d|", sev);
}

static void
cef_ext(struct buf *o, const char *key, const char *v, size_t n, size_t cap)
{
	if (n == 0)
		return;
	xbuf_addc(o, ' ');
	xbuf_adds(o, key);
	xbuf_addc(o, '=');
	esc_add(o, v, n, E_CEFX, cap);
}

static void
emit_cef(struct fmt *f, int kind, const struct etime *et, struct buf *o)
{
	const struct field *fl = fmt_fields[kind];
	const char *a, *b;
	size_t an, bn;
	int i, sev = 3;

	switch (kind) {
	case FMT_AUTH:
		vget(f, fl, "result", &a, &an);
		vget(f, fl, "event_type", &b, &bn);
		sev = veq(a, an, "fraud") ? 8 : veq(a, an, "success") ? 3 : 5;
		cef_header(o, "auth", a, an, b, bn, "authentication", sev);
		break;
	case FMT_ADMIN:
		vget(f, fl, "action", &a, &an);
		vget(f, fl, "label", &b, &bn);
		sev = an > 6 && memcmp(a + an - 6, "_error", 6) == 0 ? 5 : 3;
		cef_header(o, "admin", a, an, b, bn, "administrator action",
		    sev);
		break;
	case FMT_TELEPHONY:
		vget(f, fl, "type", &a, &an);
		cef_header(o, "telephony", a, an, "", 0, "telephony", 1);
		break;
	case FMT_ACTIVITY:
		vget(f, fl, "action", &a, &an);
		vget(f, fl, "outcome", &b, &bn);
		sev = veq(b, bn, "failure") ? 5 : 3;
		cef_header(o, "activity", a, an, a, an, "activity", sev);
		break;
	case FMT_OFFLINE:
		vget(f, fl, "action", &a, &an);
		cef_header(o, "offline", a, an, a, an, "offline enrollment", 3);
		break;
	case FMT_TRUSTMONITOR:
		vget(f, fl, "type", &a, &an);
		vget(f, fl, "priority", &b, &bn);
		sev = bn == 4 && memcmp(b, "true", 4) == 0 ? 8 : 6;
		cef_header(o, "trustmonitor", a, an, "", 0,
		    "trust monitor event", sev);
		break;
	}
	xbuf_printf(o, "rt=%lld end=%lld", (long long)et->ms,
	    (long long)et->ms);
	if (f->host[0] != '\0')
		cef_ext(o, "dvchost", f->host, strlen(f->host), FMT_VALMAX);
	for (i = 0; fl[i].key != NULL; i++)
		cef_ext(o, fl[i].cef, f->val[i].p, f->val[i].n, capof(&fl[i]));
	xbuf_addc(o, '\n');
}

/* ---- legacy ---- */

static const char *const leg_event[FMT_NKIND] = {
	"unparsed", "authentication", "administrator", "telephony",
	"activity", "offline_enrollment", "trust_monitor"
};

static void
leg_start(struct fmt *f, int64_t secs, const char *eventtype,
    struct buf *o)
{
	xbuf_printf(o, "%lld,host=\"", (long long)secs);
	esc_add(o, f->host, strlen(f->host), E_LEG, FMT_VALMAX);
	ADDS(o, "\",eventtype=\"");
	xbuf_adds(o, eventtype);
	xbuf_addc(o, '"');
}

/* ,k="v" */
static void
leg_pair(struct buf *o, const char *k, const char *v, size_t n, int st,
    size_t cap)
{
	xbuf_addc(o, ',');
	xbuf_adds(o, k);
	ADDS(o, "=\"");
	esc_add(o, v, n, st, cap);
	xbuf_addc(o, '"');
}

/* ,k="the value of field key" (E_LEG); only when not empty if opt. */
static void
leg_field(struct fmt *f, const struct field *fl, struct buf *o,
    const char *k, const char *key, int opt)
{
	int i = fidx(fl, key);

	if (i < 0 || (opt && f->val[i].n == 0))
		return;
	leg_pair(o, k, f->val[i].p, f->val[i].n, E_LEG, capof(&fl[i]));
}

/* v1 spellings: V1_WORDS "duo_push" "Duo Push", V1_UPPER, V1_FIRST. */
#define V1_WORDS	0
#define V1_UPPER	1
#define V1_FIRST	2

/* Append p[0..n) as the v1 log spelled it: table t, else style. */
static void
leg_v1(struct buf *b, const char *p, size_t n, const char *const t[][2],
    int style)
{
	size_t i, l;
	int up = 1;
	char c;

	for (i = 0; t != NULL && t[i][0] != NULL; i++) {
		l = strlen(t[i][0]);
		if (n == l && memcmp(p, t[i][0], l) == 0) {
			xbuf_adds(b, t[i][1]);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		c = p[i];
		if (c == '_')
			c = ' ';
		else if (style == V1_UPPER || (up && style != V1_FIRST) ||
		    (i == 0 && style == V1_FIRST))
			c = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
		up = c == ' ';
		xbuf_addc(b, c);
	}
}

static void
leg_v1field(struct fmt *f, const struct field *fl, struct buf *o,
    const char *k, const char *key, const char *const t[][2], int style)
{
	int i = fidx(fl, key);

	buf_reset(&f->tmp);
	if (i >= 0)
		leg_v1(&f->tmp, f->val[i].p, f->val[i].n, t, style);
	leg_pair(o, k, f->tmp.p, f->tmp.len, E_LEG, FMT_VALMAX);
}

/* Members of one object, for sorting by key. */
struct jmem {
	int		 k;		/* key token */
	const char	*name;
	size_t		 len;
};

static int
jmem_cmp(const void *x, const void *y)
{
	const struct jmem *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->name, b->name, n);

	return c != 0 ? c : a->len < b->len ? -1 : a->len > b->len;
}

/*
 * Append JSON value t as Python's json.dumps(v, sort_keys=True) writes
 * it (", " and ": ", keys sorted), but with UTF-8 kept as it is.
 */
static void
json_sorted(struct buf *o, const struct json *js, int t, struct buf *kb)
{
	const jsmntok_t *k = &js->tok[t];
	struct jmem *m;
	int i, j, n;

	if (k->type == JSMN_STRING) {
		buf_reset(kb);
		xbuf_addc(o, '"');
		if (json_str(js, t, kb) == 0)
			json_escape(o, kb->len > 0 ? kb->p : "", kb->len);
		xbuf_addc(o, '"');
		return;
	}
	if (k->type == JSMN_PRIMITIVE) {
		addlit(o, js->s + k->start, (size_t)(k->end - k->start));
		return;
	}
	n = k->size;
	if (k->type == JSMN_ARRAY) {
		xbuf_addc(o, '[');
		for (i = 0, j = t + 1; i < n; i++, j = json_skip(js, j)) {
			if (i > 0)
				ADDS(o, ", ");
			json_sorted(o, js, j, kb);
		}
		xbuf_addc(o, ']');
		return;
	}
	m = xcalloc(n > 0 ? (size_t)n : 1, sizeof *m);
	for (i = 0, j = t + 1; i < n; i++, j = json_skip(js, j + 1)) {
		m[i].k = j;
		m[i].name = js->s + js->tok[j].start;
		m[i].len = (size_t)(js->tok[j].end - js->tok[j].start);
		if (memchr(m[i].name, '\\', m[i].len) != NULL) {
			/* decoded into a copy of its own */
			struct buf d;

			buf_init(&d);
			if (json_str(js, j, &d) == 0 && d.len > 0) {
				m[i].name = d.p;
				m[i].len = d.len;
			} else
				buf_free(&d);
		}
	}
	qsort(m, (size_t)n, sizeof *m, jmem_cmp);
	xbuf_addc(o, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			ADDS(o, ", ");
		json_sorted(o, js, m[i].k, kb);
		ADDS(o, ": ");
		json_sorted(o, js, m[i].k + 1, kb);
	}
	xbuf_addc(o, '}');
	for (i = 0; i < n; i++)
		if (m[i].name != js->s + js->tok[m[i].k].start)
			free((void *)(uintptr_t)m[i].name);
	free(m);
}

/*
 * ,description="D": D as the fork wrote it, a description holding a
 * JSON object with its keys sorted (the rules look for "ip_address"
 * after "error"), else the text.  Always written, empty or not, so that
 * every admin line has the pair the fork's rules expect after action.
 */
static void
leg_desc(struct fmt *f, const struct field *fl, struct buf *o)
{
	int i = fidx(fl, "description");
	const char *p = i >= 0 ? f->val[i].p : "";
	size_t n = i >= 0 ? f->val[i].n : 0;

	if (n > 0 && p[0] == '{' && json_parse(&f->sub, p, n, NULL) == 0 &&
	    f->sub.ntok > 0 && f->sub.tok[0].type == JSMN_OBJECT) {
		f->subpath = NULL;
		buf_reset(&f->subtext);
		json_sorted(&f->subtext, &f->sub, 0, &f->tmp);
		p = f->subtext.p;
		n = f->subtext.len;
	}
	leg_pair(o, "description", p, n, E_LEGD, FMT_TAILMAX);
}

static void
emit_legacy(struct fmt *f, int kind, const struct etime *et, struct buf *o)
{
	const struct field *fl = fmt_fields[kind];
	const char *a;
	size_t an;
	int login;

	leg_start(f, et->secs, leg_event[kind], o);
	switch (kind) {
	case FMT_AUTH:
		leg_field(f, fl, o, "username", "user", 0);
		leg_v1field(f, fl, o, "factor", "factor", fmt_v1_factors,
		    V1_WORDS);
		leg_v1field(f, fl, o, "result", "result", fmt_v1_results,
		    V1_UPPER);
		leg_v1field(f, fl, o, "reason", "reason", NULL, V1_FIRST);
		leg_field(f, fl, o, "ip", "ip", 0);
		leg_field(f, fl, o, "integration", "app", 0);
		vget(f, fl, "event_type", &a, &an);
		if (veq(a, an, "enrollment"))
			ADDS(o, ",newenrollment=\"True\"");
		else
			ADDS(o, ",newenrollment=\"False\"");
		leg_field(f, fl, o, "port", "port", 1);
		leg_field(f, fl, o, "ip_text", "ip_text", 1);
		break;
	case FMT_ADMIN:
		leg_field(f, fl, o, "username", "admin", 0);
		leg_field(f, fl, o, "action", "label", 0);
		vget(f, fl, "action", &a, &an);
		/* the fork's login rules want the description right after */
		login = (an == 11 && memcmp(a, "admin_login", 11) == 0) ||
		    (an == 17 && memcmp(a, "admin_login_error", 17) == 0) ||
		    (an == 15 && memcmp(a, "admin_2fa_error", 15) == 0);
		if (!login)
			leg_field(f, fl, o, "object", "object", 1);
		leg_desc(f, fl, o);
		if (login)
			leg_field(f, fl, o, "object", "object", 1);
		break;
	case FMT_TELEPHONY:
		leg_field(f, fl, o, "context", "context", 0);
		leg_field(f, fl, o, "type", "type", 0);
		leg_field(f, fl, o, "phone", "phone", 0);
		vget(f, fl, "credits", &a, &an);
		if (an == 0)
			ADDS(o, ",credits=\"0\"");
		else
			leg_field(f, fl, o, "credits", "credits", 0);
		break;
	case FMT_ACTIVITY:
		leg_field(f, fl, o, "username", "actor", 0);
		leg_field(f, fl, o, "action", "action", 0);
		leg_field(f, fl, o, "object", "target", 0);
		leg_field(f, fl, o, "result", "outcome", 0);
		leg_field(f, fl, o, "ip", "ip", 0);
		leg_field(f, fl, o, "port", "port", 1);
		leg_field(f, fl, o, "ip_text", "ip_text", 1);
		break;
	case FMT_OFFLINE:
		leg_field(f, fl, o, "username", "user", 0);
		leg_field(f, fl, o, "action", "action", 0);
		leg_field(f, fl, o, "object", "object", 0);
		leg_desc(f, fl, o);
		break;
	case FMT_TRUSTMONITOR:
		leg_field(f, fl, o, "username", "user", 0);
		leg_field(f, fl, o, "type", "type", 0);
		leg_field(f, fl, o, "state", "state", 0);
		leg_field(f, fl, o, "ip", "ip", 0);
		leg_field(f, fl, o, "port", "port", 1);
		leg_field(f, fl, o, "ip_text", "ip_text", 1);
		break;
	}
	xbuf_addc(o, '\n');
}

static void
emit_json(struct fmt *f, const char *line, size_t len, const struct etime *et,
    struct buf *o)
{
	size_t b = (size_t)f->js.tok[0].start + 1;
	struct buf c;

	buf_init(&c);
	if (fmt_flatten(&c, &line, &len))
		b = 1;
	addlit(o, line, b);
	ADDS(o, "\"duo_time\":\"");
	addlit(o, et->iso, 25);
	xbuf_addc(o, '"');
	if (f->js.tok[0].size > 0)
		xbuf_addc(o, ',');
	addlit(o, line + b, len - b);
	xbuf_addc(o, '\n');
	buf_free(&c);
}

int
fmt_flatten(struct buf *b, const char **line, size_t *len)
{
	if (memchr(*line, '\r', *len) == NULL &&
	    memchr(*line, '\t', *len) == NULL)
		return 0;
	buf_reset(b);
	json_compact(b, *line, *len);
	*line = b->p;
	*len = b->len;
	return 1;
}

/* ---- UNPARSED ---- */

void
fmt_emit_unparsed(struct fmt *f, const char *line, size_t len, const char *name,
    unsigned long lineno, int64_t now, const char *why, struct buf *o)
{
	struct etime et;
	const char *kn = f->bkind ? fmt_knames[f->bkind] :
	    f->kind ? fmt_knames[f->kind] : "";
	char num[32];

	if (fmt_etime(f, now, &et) == -1)
		fmt_etime(f, 0, &et);
	snprintf(num, sizeof num, "%lu", lineno);
	buf_reset(&f->raw);
	raw_add(&f->raw, line, len, FMT_RAWMAX);
	/* the name as the raw text: valid UTF-8 whatever its bytes */
	buf_reset(&f->tmp);
	raw_add(&f->tmp, name, strlen(name), FMT_VALMAX);
	switch (f->format) {
	case FMT_MPE:
		addlit(o, et.local, 19);
		ADDS(o, " DUO UNPARSED |utc=");
		addlit(o, et.utc, 20);
		ADDS(o, "|kind=");
		xbuf_adds(o, kn);
		ADDS(o, "|file=");
		addlit(o, f->tmp.p, f->tmp.len);
		ADDS(o, "|line=");
		xbuf_adds(o, num);
		ADDS(o, "|reason=");
		esc_add(o, why, strlen(why), E_MPE, FMT_VALMAX);
		ADDS(o, "|raw=");
		addlit(o, f->raw.p, f->raw.len);
		ADDS(o, "|\n");
		break;
	case FMT_JSON:
		ADDS(o, "{\"duo_time\":\"");
		addlit(o, et.iso, 25);
		ADDS(o, "\",\"duo_unparsed\":{\"kind\":\"");
		xbuf_adds(o, kn);
		ADDS(o, "\",\"file\":\"");
		json_escape(o, f->tmp.len > 0 ? f->tmp.p : "", f->tmp.len);
		xbuf_printf(o, "\",\"line\":%s,\"reason\":\"", num);
		json_escape(o, why, strlen(why));
		ADDS(o, "\",\"raw\":\"");
		json_escape(o, f->raw.len > 0 ? f->raw.p : "", f->raw.len);
		ADDS(o, "\"}}\n");
		break;
	case FMT_KV:
		ADDS(o, "duo_time=\"");
		addlit(o, et.iso, 25);
		ADDS(o, "\" kind=\"unparsed\" utc=\"");
		addlit(o, et.utc, 20);
		ADDS(o, "\" record_kind=\"");
		xbuf_adds(o, kn);
		ADDS(o, "\" file=\"");
		esc_add(o, f->tmp.p, f->tmp.len, E_KV, 2 * FMT_VALMAX);
		xbuf_printf(o, "\" line=\"%s\" reason=\"", num);
		esc_add(o, why, strlen(why), E_KV, FMT_VALMAX);
		ADDS(o, "\" raw=\"");
		esc_add(o, f->raw.p, f->raw.len, E_KV, 2 * FMT_RAWMAX);
		ADDS(o, "\"\n");
		break;
	case FMT_CEF:
		cef_header(o, "unparsed", NULL, 0, "unparsed record", 15,
		    "", 5);
		xbuf_printf(o, "rt=%lld end=%lld", (long long)et.ms,
		    (long long)et.ms);
		if (f->host[0] != '\0')
			cef_ext(o, "dvchost", f->host, strlen(f->host),
			    FMT_VALMAX);
		cef_ext(o, "duoKind", kn, strlen(kn), FMT_VALMAX);
		cef_ext(o, "duoFile", f->tmp.p, f->tmp.len, 2 * FMT_VALMAX);
		cef_ext(o, "duoLine", num, strlen(num), FMT_VALMAX);
		cef_ext(o, "reason", why, strlen(why), FMT_VALMAX);
		cef_ext(o, "msg", f->raw.p, f->raw.len, 2 * FMT_RAWMAX);
		xbuf_addc(o, '\n');
		break;
	default:
		leg_start(f, et.secs, "unparsed", o);
		leg_pair(o, "line", num, strlen(num), E_LEG, FMT_VALMAX);
		leg_pair(o, "reason", why, strlen(why), E_LEG, FMT_VALMAX);
		leg_pair(o, "raw", f->raw.p, f->raw.len, E_LEGR,
		    2 * FMT_RAWMAX);
		xbuf_addc(o, '\n');
		break;
	}
}

/* The line of a formatted record (the values are in f->val). */
void
fmt_emit(struct fmt *f, int kind, const char *line, size_t len,
    const struct etime *et, struct buf *out)
{
	switch (f->format) {
	case FMT_JSON:
		emit_json(f, line, len, et, out);
		break;
	case FMT_KV:
		emit_kv(f, kind, et, out);
		break;
	case FMT_CEF:
		emit_cef(f, kind, et, out);
		break;
	case FMT_LEGACY:
		emit_legacy(f, kind, et, out);
		break;
	default:
		emit_mpe(f, kind, et, out);
		break;
	}
}
