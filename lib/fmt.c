/*
 * fmt: turn Duo log records (one JSON object per line) into SIEM lines
 * with the event's own local time.  Field lists per kind are the tables
 * below; man/duo-fmt.1 documents them.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "duo.h"

/* How a field's value is taken from the record. */
#define F_VAL	0	/* value at path */
#define F_OBJ	1	/* value at path; if an object, its member p2 */
#define F_JOIN	2	/* array at path: strings, or members p2, ";" */
#define F_LOC	3	/* location object: "city, state, country" */
#define F_CAT2	4	/* "value(path) value(p2)", empty parts skipped */
#define F_SUB	5	/* JSON text in string at path: member p2 (a|b) */
#define F_FIRST	6	/* value at path, else value at p2 */
#define F_LABEL	7	/* friendly label of the admin action at path */

struct field {
	const char	*key;	/* mpe, kv key */
	const char	*cef;	/* CEF extension key */
	int		 how;
	const char	*path;
	const char	*p2;
	int		 tail;	/* free text: capped at FMT_TAILMAX */
};

static const struct field auth_fields[] = {
	{ "txid", "externalId", F_VAL, "txid", NULL, 0 },
	{ "event_type", "cat", F_VAL, "event_type", NULL, 0 },
	{ "result", "outcome", F_VAL, "result", NULL, 0 },
	{ "reason", "reason", F_VAL, "reason", NULL, 0 },
	{ "factor", "act", F_VAL, "factor", NULL, 0 },
	{ "user", "suser", F_VAL, "user.name", NULL, 0 },
	{ "email", "duoEmail", F_VAL, "email", NULL, 0 },
	{ "groups", "duoGroups", F_JOIN, "user.groups", NULL, 0 },
	{ "app", "destinationServiceName", F_VAL, "application.name", NULL,
	    0 },
	{ "app_key", "duoAppKey", F_VAL, "application.key", NULL, 0 },
	{ "ip", "src", F_OBJ, "access_device.ip", "address", 0 },
	{ "host", "shost", F_VAL, "access_device.hostname", NULL, 0 },
	{ "loc", "duoLocation", F_LOC, "access_device.location", NULL, 0 },
	{ "os", "duoOs", F_CAT2, "access_device.os",
	    "access_device.os_version", 0 },
	{ "browser", "requestClientApplication", F_CAT2,
	    "access_device.browser", "access_device.browser_version", 0 },
	{ "auth_dev", "duoAuthDevice", F_VAL, "auth_device.name", NULL, 0 },
	{ "auth_ip", "duoAuthIp", F_VAL, "auth_device.ip", NULL, 0 },
	{ "auth_loc", "duoAuthLocation", F_LOC, "auth_device.location", NULL,
	    0 },
	{ "user_key", "suid", F_VAL, "user.key", NULL, 0 },
	{ "alias", "duoAlias", F_VAL, "alias", NULL, 0 },
	{ "endpoint", "duoEndpointStatus", F_VAL, "trusted_endpoint_status",
	    NULL, 0 },
	{ "encrypted", "duoEncrypted", F_VAL,
	    "access_device.is_encryption_enabled", NULL, 0 },
	{ "firewall", "duoFirewall", F_VAL,
	    "access_device.is_firewall_enabled", NULL, 0 },
	{ "password_set", "duoPasswordSet", F_VAL,
	    "access_device.is_password_set", NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct field admin_fields[] = {
	{ "action", "act", F_VAL, "action", NULL, 0 },
	{ "label", "duoLabel", F_LABEL, "action", NULL, 0 },
	{ "admin", "suser", F_VAL, "username", NULL, 0 },
	{ "object", "duoObject", F_VAL, "object", NULL, 0 },
	{ "ip", "src", F_SUB, "description", "ip_address|ip", 0 },
	{ "factor", "duoFactor", F_SUB, "description", "factor", 0 },
	{ "error", "reason", F_SUB, "description", "error", 0 },
	{ "device", "duoDevice", F_SUB, "description", "device", 0 },
	{ "description", "msg", F_VAL, "description", NULL, 1 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct field telephony_fields[] = {
	{ "txid", "duoTxid", F_VAL, "txid", NULL, 0 },
	{ "type", "act", F_VAL, "type", NULL, 0 },
	{ "context", "cat", F_VAL, "context", NULL, 0 },
	{ "phone", "duoPhone", F_VAL, "phone", NULL, 0 },
	{ "credits", "cnt", F_VAL, "credits", NULL, 0 },
	{ "telephony_id", "externalId", F_VAL, "telephony_id", NULL, 0 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct field activity_fields[] = {
	{ "activity_id", "externalId", F_VAL, "activity_id", NULL, 0 },
	{ "action", "act", F_OBJ, "action", "name", 0 },
	{ "actor_type", "duoActorType", F_VAL, "actor.type", NULL, 0 },
	{ "actor", "suser", F_VAL, "actor.name", NULL, 0 },
	{ "target_type", "duoTargetType", F_VAL, "target.type", NULL, 0 },
	{ "target", "duser", F_VAL, "target.name", NULL, 0 },
	{ "app", "destinationServiceName", F_VAL, "application.name", NULL,
	    0 },
	{ "ip", "src", F_OBJ, "access_device.ip", "address", 0 },
	{ "outcome", "outcome", F_OBJ, "outcome", "result", 0 },
	{ "actor_key", "suid", F_VAL, "actor.key", NULL, 0 },
	{ "target_key", "duid", F_VAL, "target.key", NULL, 0 },
	{ "app_key", "duoAppKey", F_VAL, "application.key", NULL, 0 },
	{ "loc", "duoLocation", F_LOC, "access_device.location", NULL, 0 },
	{ "os", "duoOs", F_CAT2, "access_device.os",
	    "access_device.os_version", 0 },
	{ "browser", "requestClientApplication", F_CAT2,
	    "access_device.browser", "access_device.browser_version", 0 },
	{ "target_email", "duoTargetEmail", F_SUB, "target.details", "email",
	    0 },
	{ "target_status", "duoTargetStatus", F_SUB, "target.details",
	    "status", 0 },
	{ "details", "msg", F_VAL, "action.details", NULL, 1 },
	{ "actor_details", "duoActorDetails", F_VAL, "actor.details", NULL,
	    1 },
	{ "target_details", "duoTargetDetails", F_VAL, "target.details", NULL,
	    1 },
	{ "old_target", "duoOldTarget", F_VAL, "old_target", NULL, 1 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct field offline_fields[] = {
	{ "action", "act", F_VAL, "action", NULL, 0 },
	{ "user", "suser", F_VAL, "username", NULL, 0 },
	{ "object", "duoObject", F_VAL, "object", NULL, 0 },
	{ "hostname", "shost", F_SUB, "description", "hostname", 0 },
	{ "factor", "duoFactor", F_SUB, "description", "factor", 0 },
	{ "user_agent", "requestClientApplication", F_SUB, "description",
	    "user_agent", 0 },
	{ "description", "msg", F_VAL, "description", NULL, 1 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct field tm_fields[] = {
	{ "sekey", "externalId", F_VAL, "sekey", NULL, 0 },
	{ "type", "cat", F_VAL, "type", NULL, 0 },
	{ "state", "duoState", F_VAL, "state", NULL, 0 },
	{ "priority", "duoPriority", F_VAL, "priority_event", NULL, 0 },
	{ "user", "suser", F_FIRST, "surfaced_auth.user.name",
	    "enabled_for.name", 0 },
	{ "ip", "src", F_OBJ, "surfaced_auth.access_device.ip", "address",
	    0 },
	{ "app", "destinationServiceName", F_VAL,
	    "surfaced_auth.application.name", NULL, 0 },
	{ "factor", "act", F_VAL, "surfaced_auth.factor", NULL, 0 },
	{ "result", "outcome", F_VAL, "surfaced_auth.result", NULL, 0 },
	{ "reason", "reason", F_VAL, "surfaced_auth.reason", NULL, 0 },
	{ "txid", "duoTxid", F_VAL, "surfaced_auth.txid", NULL, 0 },
	{ "enabled_by", "duoEnabledBy", F_VAL, "enabled_by.name", NULL, 0 },
	{ "reasons", "duoPriorityReasons", F_JOIN, "priority_reasons",
	    "label", 0 },
	{ "triaged", "duoTriaged", F_VAL, "triaged_as_interesting", NULL, 0 },
	{ "uri", "duoUri", F_VAL, "triage_event_uri", NULL, 0 },
	{ "explanations", "msg", F_JOIN, "explanations", "summary", 1 },
	{ "details", "duoDetails", F_VAL, "details", NULL, 1 },
	{ NULL, NULL, 0, NULL, NULL, 0 }
};

static const struct field *const kind_fields[FMT_NKIND] = {
	NULL, auth_fields, admin_fields, telephony_fields, activity_fields,
	offline_fields, tm_fields
};

static const char *const kind_names[FMT_NKIND] = {
	"unparsed", "auth", "admin", "telephony", "activity", "offline",
	"trustmonitor"
};

static const char *const kind_upper[FMT_NKIND] = {
	"UNPARSED", "AUTH", "ADMIN", "TELEPHONY", "ACTIVITY", "OFFLINE",
	"TRUSTMONITOR"
};

/* Friendly admin action labels, as Duo's splunk.py example has them. */
static const char *const admin_labels[][2] = {
	{ "admin_login", "Admin Login" },
	{ "admin_create", "Create Admin" },
	{ "admin_update", "Update Admin" },
	{ "admin_delete", "Delete Admin" },
	{ "customer_update", "Update Customer" },
	{ "group_create", "Create Group" },
	{ "group_update", "Update Group" },
	{ "group_delete", "Delete Group" },
	{ "integration_create", "Create Integration" },
	{ "integration_update", "Update Integration" },
	{ "integration_delete", "Delete Integration" },
	{ "phone_create", "Create Phone" },
	{ "phone_update", "Update Phone" },
	{ "phone_delete", "Delete Phone" },
	{ "user_create", "Create User" },
	{ "user_update", "Update User" },
	{ "user_delete", "Delete User" },
	{ NULL, NULL }
};

/* ---- escaping ---- */

#define E_MPE	0	/* % | CR LF TAB, C0, DEL as %XX */
#define E_KV	1	/* \" \\ \n \r \t, other C0 and DEL as \xHH */
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

static void
esc_setup(void)
{
	int c;

	if (esc_ready)
		return;
	for (c = 0; c < 256; c++) {
		int ctl = c < 0x20 || c == 0x7f;

		esctab[E_MPE][c] = ctl || c == '%' || c == '|' ? C_PCT : C_PASS;
		esctab[E_KV][c] = c == '"' || c == '\\' || c == '\n' ||
		    c == '\r' || c == '\t' ? C_BS : ctl ? C_BSX : C_PASS;
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
		    (char)c;
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

static void
addlit(struct buf *o, const char *s, size_t n)
{
	if (n == 0)
		return;
	xbuf_grow(o, n);
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

#define ADDS(o, lit)	addlit((o), (lit), sizeof(lit) - 1)

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
		if (strcmp(s, kind_names[i]) == 0)
			return i;
	return 0;
}

const char *
fmt_kind_name(int k)
{
	return k > 0 && k < FMT_NKIND ? kind_names[k] : kind_names[0];
}

/* ---- time ---- */


struct civil {
	int	y, mo, d, h, mi, s;
};

static void
civil_from_secs(int64_t t, struct civil *c)
{
	int64_t z, era, doe, yoe, doy, mp, sod;

	z = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	sod = t - z * 86400;
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	c->d = (int)(doy - (153 * mp + 2) / 5 + 1);
	c->mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	c->y = (int)(yoe + era * 400 + (c->mo <= 2));
	c->h = (int)(sod / 3600);
	c->mi = (int)(sod / 60 % 60);
	c->s = (int)(sod % 60);
}



int
fmt_zone(const char *zone, char *err)
{
	char path[1024];
	const char *dir, *z = zone;
	struct stat st;

	if (strcmp(zone, "utc") == 0 || strcmp(zone, "UTC") == 0)
		return 1;
	if (strcmp(zone, "local") == 0) {
		tzset();
		return 0;
	}
	if (*z == ':')
		z++;
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	if (*z == '\0' || *z == '/' || strstr(z, "..") != NULL ||
	    (size_t)snprintf(path, sizeof path, "%s/%s", dir, z) >=
	    sizeof path || stat(path, &st) == -1 || !S_ISREG(st.st_mode)) {
		seterr(err, "%s: unknown time zone", zone);
		return -1;
	}
	if (setenv("TZ", z, 1) == -1) {
		seterr(err, "%s: %s", zone, strerror(errno));
		return -1;
	}
	tzset();
	return 0;
}

static long
offset_at(int64_t t)
{
	struct tm tm;

	if (compat_localtime((time_t)t, &tm) == -1)
		return 0;
	return tm.tm_gmtoff;
}

/*
 * Offsets change at most once in any hour, so when the offset at both
 * ends of the hour holding t is the same it holds for the whole hour and
 * is cached; an hour holding a change is computed every time.
 */
long
fmt_utcoff(struct fmt *f, int64_t t)
{
	int64_t lo;
	long a;

	if (f->utc)
		return 0;
	lo = t >= 0 ? t - t % 3600 : t - (3600 + t % 3600) % 3600;
	if (f->c_ok && lo == f->c_lo)
		return f->c_off;
	a = offset_at(lo);
	if (a != offset_at(lo + 3599))
		return offset_at(t);
	f->c_lo = lo;
	f->c_off = a;
	f->c_ok = 1;
	return a;
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

/* The event time, ready to print. */
struct etime {
	int64_t	ms;
	int64_t	secs;
	char	local[20];	/* YYYY-MM-DD HH:MM:SS */
	char	iso[26];	/* YYYY-MM-DDTHH:MM:SS+hh:mm */
	char	utc[21];	/* YYYY-MM-DDTHH:MM:SSZ */
};

/* Earliest and latest second we print: years 0001 to 9998. */
#define T_MIN	(-62135596800LL + 86400)
#define T_MAX	(253370764800LL)

static int
etime_set(struct fmt *f, int64_t ms, struct etime *et)
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

/*
 * A kind's field: nodes of path, p2 (or path.p2 for F_OBJ), location;
 * and its key as mpe and kv write it, padded so that a fixed-size copy
 * (inlined, no call) puts it in place: "key=", " key=\"".
 */
#define KEYROOM	32

struct fplan {
	int	n1;
	int	n2;
	int	loc[3];		/* F_LOC: city, state, country under n1 */
	char	mk[KEYROOM];
	size_t	mkn;
	char	kk[KEYROOM];
	size_t	kkn;
};

static struct fplan fplan[FMT_NKIND][FMT_MAXFIELD];

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
		for (i = 0, fd = kind_fields[k]; fd[i].key != NULL; i++) {
			fp = &fplan[k][i];
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
extract(struct fmt *f, const struct field *fd, const struct fplan *fp,
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
		for (k = 0; admin_labels[k][0] != NULL; k++) {
			/* strcmp on the text up to a NUL, as C sees it */
			l0 = strlen(admin_labels[k][0]);
			if (v->n >= l0 && memcmp(v->p, admin_labels[k][0],
			    l0) == 0 && (v->n == l0 || v->p[l0] == '\0')) {
				v->p = admin_labels[k][1];
				v->n = strlen(v->p);
				break;
			}
		}
		return;
	}
	val_buf(v);
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

/* Value i as a C string (copied into its buffer when it is a span). */
static const char *
vz(struct fmt *f, int i)
{
	struct fmt_val *v = &f->val[i];

	if (v->n == 0)
		return "";
	if (v->p != v->b.p) {
		buf_reset(&v->b);
		addlit(&v->b, v->p, v->n);
		v->p = v->b.p;
	}
	return v->p;
}

static const char *
vs(struct fmt *f, const struct field *fl, const char *key)
{
	int i = fidx(fl, key);

	return i >= 0 ? vz(f, i) : "";
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

static int
record_time(struct fmt *f, int64_t *ms, char *err)
{
	static const int isos[] = { R_ISOTIMESTAMP, R_TS };
	const struct json *js = &f->js;
	long long v;
	int i, k;

	for (k = 0; k < 2; k++) {
		i = slot(f, rnode[isos[k]]);
		if (json_isnull(js, i))
			continue;
		if (js->tok[i].type != JSMN_STRING ||
		    iso8601_ms(js->s + js->tok[i].start,
		    (size_t)(js->tok[i].end - js->tok[i].start), 0, ms) == -1)
			return seterr(err, "bad time in \"%s\"",
			    rname[isos[k]]);
		return 0;
	}
	i = slot(f, rnode[R_TIMESTAMP]);
	if (!json_isnull(js, i)) {
		if (json_int(js, i, &v) == -1 || v > INT64_MAX / 1000 ||
		    v < INT64_MIN / 1000)
			return seterr(err, "bad time in \"timestamp\"");
		*ms = v * 1000;
		return 0;
	}
	i = slot(f, rnode[R_SURFACED_TS]);
	if (!json_isnull(js, i)) {
		if (json_int(js, i, &v) == -1)
			return seterr(err, "bad time in \"surfaced_timestamp\"");
		*ms = v;
		return 0;
	}
	return seterr(err, "no time field (isotimestamp, ts, timestamp, "
	    "surfaced_timestamp)");
}

/* ---- setup ---- */

void
fmt_init(struct fmt *f, int format, int kind, int utc)
{
	int i;

	memset(f, 0, sizeof *f);
	esc_setup();
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
	const struct field *fl = kind_fields[kind];
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
	const struct field *fl = kind_fields[kind];
	const struct fplan *fp = fplan[kind];
	char *w;
	int i;

	xbuf_grow(o, line_room(f, kind, 80));
	w = put(o->p + o->len, et->local, 19);
	PUTS(w, " DUO ");
	w = put(w, kind_upper[kind], strlen(kind_upper[kind]));
	PUTS(w, " |utc=");
	w = put(w, et->utc, 20);
	*w++ = '|';
	for (i = 0; fl[i].key != NULL; i++) {
		memcpy(w, fp[i].mk, KEYROOM);
		w += fp[i].mkn;
		w = esc_put(w, f->val[i].p, f->val[i].n, E_MPE, capof(&fl[i]));
		*w++ = '|';
	}
	*w++ = '\n';
	line_end(o, w);
}

static void
emit_kv(struct fmt *f, int kind, const struct etime *et, struct buf *o)
{
	const struct field *fl = kind_fields[kind];
	const struct fplan *fp = fplan[kind];
	char *w;
	int i;

	xbuf_grow(o, line_room(f, kind, 96));
	w = o->p + o->len;
	PUTS(w, "duo_time=\"");
	w = put(w, et->iso, 25);
	PUTS(w, "\" kind=\"");
	w = put(w, kind_names[kind], strlen(kind_names[kind]));
	PUTS(w, "\" utc=\"");
	w = put(w, et->utc, 20);
	*w++ = '"';
	for (i = 0; fl[i].key != NULL; i++) {
		memcpy(w, fp[i].kk, KEYROOM);
		w += fp[i].kkn;
		w = esc_put(w, f->val[i].p, f->val[i].n, E_KV, capof(&fl[i]));
		*w++ = '"';
	}
	*w++ = '\n';
	line_end(o, w);
}

static int
is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static void
cef_header(struct buf *o, const char *sig, const char *name, int sev)
{
	ADDS(o, "CEF:0|Duo Security|Duo|1|");
	esc_add(o, sig, strlen(sig), E_CEFH, FMT_VALMAX);
	xbuf_addc(o, '|');
	esc_add(o, name, strlen(name), E_CEFH, FMT_VALMAX);
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

static int
ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

static void
emit_cef(struct fmt *f, int kind, const struct etime *et, struct buf *o)
{
	const struct field *fl = kind_fields[kind];
	const char *a;
	int i, sev = 3;

	buf_reset(&f->tmp);
	switch (kind) {
	case FMT_AUTH:
		a = vs(f, fl, "result");
		xbuf_printf(&f->tmp, "auth:%s", a);
		sev = ieq(a, "fraud") ? 8 : ieq(a, "success") ? 3 : 5;
		cef_header(o, f->tmp.p, *vs(f, fl, "event_type") ?
		    vs(f, fl, "event_type") : "authentication", sev);
		break;
	case FMT_ADMIN:
		a = vs(f, fl, "action");
		xbuf_printf(&f->tmp, "admin:%s", a);
		sev = strlen(a) > 6 && strcmp(a + strlen(a) - 6, "_error") ==
		    0 ? 5 : 3;
		cef_header(o, f->tmp.p, *vs(f, fl, "label") ?
		    vs(f, fl, "label") : "administrator action", sev);
		break;
	case FMT_TELEPHONY:
		xbuf_printf(&f->tmp, "telephony:%s", vs(f, fl, "type"));
		cef_header(o, f->tmp.p, "telephony", 1);
		break;
	case FMT_ACTIVITY:
		a = vs(f, fl, "action");
		xbuf_printf(&f->tmp, "activity:%s", a);
		sev = ieq(vs(f, fl, "outcome"), "failure") ? 5 : 3;
		cef_header(o, f->tmp.p, *a ? a : "activity", sev);
		break;
	case FMT_OFFLINE:
		a = vs(f, fl, "action");
		xbuf_printf(&f->tmp, "offline:%s", a);
		cef_header(o, f->tmp.p, *a ? a : "offline enrollment", 3);
		break;
	case FMT_TRUSTMONITOR:
		a = vs(f, fl, "type");
		xbuf_printf(&f->tmp, "trustmonitor:%s", a);
		sev = strcmp(vs(f, fl, "priority"), "true") == 0 ? 8 : 6;
		cef_header(o, f->tmp.p, "trust monitor event", sev);
		break;
	}
	xbuf_printf(o, "rt=%lld end=%lld", (long long)et->ms,
	    (long long)et->ms);
	if (f->host[0] != '\0')
		cef_ext(o, "dvchost", f->host, strlen(f->host), FMT_VALMAX);
	for (i = 0; fl[i].key != NULL; i++) {
		a = fl[i].cef;
		if (strcmp(a, "src") == 0 && f->val[i].n > 0 &&
		    !is_ip(vz(f, i)))
			a = "duoIp";
		cef_ext(o, a, f->val[i].p, f->val[i].n, capof(&fl[i]));
	}
	xbuf_addc(o, '\n');
}

/* Legacy layout: key list per kind; "-" prefix: only when not empty. */
static const char *const leg_auth[] = {
	"username=user", "factor=factor", "result=result", "reason=reason",
	"ip=ip", "integration=app", NULL
};
static const char *const leg_admin[] = {
	"username=admin", "action=label", "-object=object",
	"-description=description", NULL
};
static const char *const leg_tel[] = {
	"context=context", "type=type", "phone=phone", "credits=credits", NULL
};
static const char *const leg_act[] = {
	"username=actor", "action=action", "object=target", "result=outcome",
	"ip=ip", NULL
};
static const char *const leg_off[] = {
	"username=user", "action=action", "object=object",
	"description=description", NULL
};
static const char *const leg_tm[] = {
	"username=user", "type=type", "state=state", "ip=ip", NULL
};
static const char *const *const leg_keys[FMT_NKIND] = {
	NULL, leg_auth, leg_admin, leg_tel, leg_act, leg_off, leg_tm
};
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
	ADDS(o, "\", eventtype=\"");
	xbuf_adds(o, eventtype);
	xbuf_addc(o, '"');
}

static void
leg_pair(struct buf *o, const char *k, size_t kl, const char *v, size_t n,
    int st, size_t cap)
{
	ADDS(o, ", ");
	addlit(o, k, kl);
	ADDS(o, "=\"");
	esc_add(o, v, n, st, cap);
	xbuf_addc(o, '"');
}

static void
emit_legacy(struct fmt *f, int kind, const struct etime *et, struct buf *o)
{
	const struct field *fl = kind_fields[kind];
	const char *const *lk = leg_keys[kind];
	const char *k, *eq;
	int i, opt;

	leg_start(f, et->secs, leg_event[kind], o);
	for (; *lk != NULL; lk++) {
		k = *lk;
		if ((opt = *k == '-'))
			k++;
		eq = strchr(k, '=');
		if ((i = fidx(fl, eq + 1)) < 0)
			continue;
		if (opt && f->val[i].n == 0)
			continue;
		leg_pair(o, k, (size_t)(eq - k), f->val[i].p, f->val[i].n,
		    strcmp(eq + 1, "description") == 0 ? E_LEGD : E_LEG,
		    capof(&fl[i]));
	}
	if (kind == FMT_AUTH) {
		const char *ev = vs(f, fl, "event_type");

		ADDS(o, ", newenrollment=\"");
		xbuf_adds(o, strcmp(ev, "enrollment") == 0 ? "True" : "False");
		xbuf_addc(o, '"');
	}
	xbuf_addc(o, '\n');
}

static void
emit_json(struct fmt *f, const char *line, size_t len, const struct etime *et,
    struct buf *o)
{
	size_t b = (size_t)f->js.tok[0].start + 1;

	addlit(o, line, b);
	ADDS(o, "\"duo_time\":\"");
	addlit(o, et->iso, 25);
	xbuf_addc(o, '"');
	if (f->js.tok[0].size > 0)
		xbuf_addc(o, ',');
	addlit(o, line + b, len - b);
	xbuf_addc(o, '\n');
}

/* ---- UNPARSED ---- */

static void
emit_unparsed(struct fmt *f, const char *line, size_t len, const char *name,
    unsigned long lineno, int64_t now, const char *why, struct buf *o)
{
	struct etime et;
	const char *kn = f->bkind ? kind_names[f->bkind] :
	    f->kind ? kind_names[f->kind] : "";
	char num[32];

	if (etime_set(f, now, &et) == -1)
		etime_set(f, 0, &et);
	snprintf(num, sizeof num, "%lu", lineno);
	buf_reset(&f->raw);
	raw_add(&f->raw, line, len, FMT_RAWMAX);
	switch (f->format) {
	case FMT_MPE:
		addlit(o, et.local, 19);
		ADDS(o, " DUO UNPARSED |utc=");
		addlit(o, et.utc, 20);
		ADDS(o, "|kind=");
		xbuf_adds(o, kn);
		ADDS(o, "|file=");
		esc_add(o, name, strlen(name), E_MPE, FMT_VALMAX);
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
		buf_reset(&f->tmp);
		raw_add(&f->tmp, name, strlen(name), FMT_VALMAX);
		json_escape(o, f->tmp.p, f->tmp.len);
		xbuf_printf(o, "\",\"line\":%s,\"reason\":\"", num);
		json_escape(o, why, strlen(why));
		ADDS(o, "\",\"raw\":\"");
		json_escape(o, f->raw.p, f->raw.len);
		ADDS(o, "\"}}\n");
		break;
	case FMT_KV:
		ADDS(o, "duo_time=\"");
		addlit(o, et.iso, 25);
		ADDS(o, "\" kind=\"unparsed\" utc=\"");
		addlit(o, et.utc, 20);
		ADDS(o, "\" of=\"");
		xbuf_adds(o, kn);
		ADDS(o, "\" file=\"");
		esc_add(o, name, strlen(name), E_KV, FMT_VALMAX);
		xbuf_printf(o, "\" line=\"%s\" reason=\"", num);
		esc_add(o, why, strlen(why), E_KV, FMT_VALMAX);
		ADDS(o, "\" raw=\"");
		esc_add(o, f->raw.p, f->raw.len, E_KV, 2 * FMT_RAWMAX);
		ADDS(o, "\"\n");
		break;
	case FMT_CEF:
		cef_header(o, "unparsed", "unparsed record", 5);
		xbuf_printf(o, "rt=%lld end=%lld", (long long)et.ms,
		    (long long)et.ms);
		if (f->host[0] != '\0')
			cef_ext(o, "dvchost", f->host, strlen(f->host),
			    FMT_VALMAX);
		cef_ext(o, "duoKind", kn, strlen(kn), FMT_VALMAX);
		cef_ext(o, "duoFile", name, strlen(name), FMT_VALMAX);
		cef_ext(o, "duoLine", num, strlen(num), FMT_VALMAX);
		cef_ext(o, "reason", why, strlen(why), FMT_VALMAX);
		cef_ext(o, "msg", f->raw.p, f->raw.len, 2 * FMT_RAWMAX);
		xbuf_addc(o, '\n');
		break;
	default:
		leg_start(f, et.secs, "unparsed", o);
		leg_pair(o, "line", 4, num, strlen(num), E_LEG, FMT_VALMAX);
		leg_pair(o, "reason", 6, why, strlen(why), E_LEG, FMT_VALMAX);
		leg_pair(o, "raw", 3, f->raw.p, f->raw.len, E_LEGR,
		    2 * FMT_RAWMAX);
		xbuf_addc(o, '\n');
		break;
	}
}

/* ---- one line ---- */

static void
control(struct fmt *f, const char *line, size_t len)
{
	int i;

	if (json_parse(&f->js, line, len, NULL) == -1 || !isobj(&f->js, 0))
		return;
	i = json_get(&f->js, 0, "@duo");
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
	int kind, i;

	if (flags & LINE_LONG) {
		seterr(err, "line longer than %u bytes", FMT_LINEMAX);
		goto unparsed;
	}
	if (flags & LINE_NOEOL) {
		seterr(err, "no newline at end of input (truncated?)");
		goto unparsed;
	}
	if (len >= 8 && memcmp(line, "{\"@duo\":", 8) == 0) {
		addlit(out, line, len);
		xbuf_addc(out, '\n');
		control(f, line, len);
		return 0;
	}
	if (json_parse(&f->js, line, len, jerr) == -1) {
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
	if (record_time(f, &ms, err) == -1)
		goto unparsed;
	if (etime_set(f, ms, &et) == -1) {
		seterr(err, "time out of range");
		goto unparsed;
	}
	if (f->format == FMT_JSON) {
		emit_json(f, line, len, &et, out);
		return 0;
	}
	fl = kind_fields[kind];
	f->subpath = NULL;
	for (i = 0; fl[i].key != NULL; i++) {
		f->val[i].p = "";
		f->val[i].n = 0;
		buf_reset(&f->val[i].b);
		extract(f, &fl[i], &fplan[kind][i], &f->val[i]);
	}
	switch (f->format) {
	case FMT_KV:
		emit_kv(f, kind, &et, out);
		break;
	case FMT_CEF:
		emit_cef(f, kind, &et, out);
		break;
	case FMT_LEGACY:
		emit_legacy(f, kind, &et, out);
		break;
	default:
		emit_mpe(f, kind, &et, out);
		break;
	}
	return 0;
unparsed:
	emit_unparsed(f, line, len, name, lineno, now, err, out);
	return 1;
}

/* ---- input ---- */

#define IN_CHUNK	(256u * 1024)

void
fmt_in_init(struct fmt_in *in, int fd)
{
	in->fd = fd;
	in->cap = FMT_LINEMAX + IN_CHUNK;
	in->p = xmalloc(in->cap);
	in->off = in->len = 0;
	in->eof = 0;
}

void
fmt_in_free(struct fmt_in *in)
{
	free(in->p);
	in->p = NULL;
}

static int
fill(struct fmt_in *in, char *err)
{
	ssize_t r;

	if (in->off > 0) {
		memmove(in->p, in->p + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
	}
	for (;;) {
		r = read(in->fd, in->p + in->len, in->cap - in->len);
		if (r > 0) {
			in->len += (size_t)r;
			return 0;
		}
		if (r == 0) {
			in->eof = 1;
			return 0;
		}
		if (errno != EINTR)
			return seterr(err, "read: %s", strerror(errno));
	}
}

int
fmt_in_line(struct fmt_in *in, const char **line, size_t *n, int *flags,
    char *err)
{
	char *q;
	size_t scan = in->off;

	*flags = 0;
	for (;;) {
		q = memchr(in->p + scan, '\n', in->len - scan);
		if (q != NULL) {
			*line = in->p + in->off;
			*n = (size_t)(q - *line);
			in->off = (size_t)(q - in->p) + 1;
			if (*n > FMT_LINEMAX) {
				*n = FMT_LINEMAX;
				*flags |= LINE_LONG;
			}
			return 1;
		}
		if (in->eof) {
			if (in->len == in->off)
				return 0;
			*line = in->p + in->off;
			*n = in->len - in->off;
			in->off = in->len;
			*flags |= LINE_NOEOL;
			if (*n > FMT_LINEMAX) {
				*n = FMT_LINEMAX;
				*flags |= LINE_LONG;
			}
			return 1;
		}
		if (in->len - in->off >= FMT_LINEMAX)
			break;
		scan = in->len - in->off;
		if (fill(in, err) == -1)
			return -1;
	}
	/* Over-long line: keep FMT_LINEMAX bytes, drop the rest. */
	*flags |= LINE_LONG;
	if (in->off > 0) {
		memmove(in->p, in->p + in->off, FMT_LINEMAX);
		in->off = 0;
	}
	in->len = FMT_LINEMAX;
	for (;;) {
		if (fill(in, err) == -1)
			return -1;
		q = memchr(in->p + FMT_LINEMAX, '\n', in->len - FMT_LINEMAX);
		if (q != NULL) {
			in->off = (size_t)(q - in->p) + 1;
			break;
		}
		if (in->eof) {
			in->off = in->len;
			*flags |= LINE_NOEOL;
			break;
		}
		in->len = FMT_LINEMAX;
	}
	*line = in->p;
	*n = FMT_LINEMAX;
	return 1;
}
