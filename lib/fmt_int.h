/*
 * fmt_int.h: what lib/fmt*.c share (field tables, plans, the event
 * time, the writers).  Not part of libduo's interface: only lib/fmt*.c
 * include it.
 */
#ifndef FMT_INT_H
#define FMT_INT_H

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
	int		 ip;	/* IP_*: the part of an address[:port] */
};

#define IP_ADDR	1	/* the address, or empty when none */
#define IP_PORT	2	/* the port, or empty */
#define IP_TEXT	3	/* the whole text when it is not a bare address */

extern const struct field *const fmt_fields[FMT_NKIND];
extern const char *const fmt_knames[FMT_NKIND];
extern const char *const fmt_kupper[FMT_NKIND];
extern const char *const fmt_labels[][2];
extern const char *const fmt_v1_factors[][2];
extern const char *const fmt_v1_results[][2];

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

extern struct fplan fmt_plan[FMT_NKIND][FMT_MAXFIELD];

/* The event time, ready to print. */
struct etime {
	int64_t	ms;
	int64_t	secs;
	char	local[20];	/* YYYY-MM-DD HH:MM:SS */
	char	iso[26];	/* YYYY-MM-DDTHH:MM:SS+hh:mm */
	char	utc[21];	/* YYYY-MM-DDTHH:MM:SSZ */
};

int	 fmt_etime(struct fmt *, int64_t, struct etime *);

static inline void
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

/* fmt_out.c */
void	 fmt_esc_setup(void);
void	 fmt_emit(struct fmt *, int, const char *, size_t,
	    const struct etime *, struct buf *);
void	 fmt_emit_unparsed(struct fmt *, const char *, size_t, const char *,
	    unsigned long, int64_t, const char *, struct buf *);
/*
 * A valid JSON line that is copied out as text (a control line, a -f
 * json record) must not carry TAB or CR, which it can hold only as
 * whitespace between tokens: when it does, *line and *len are made its
 * compact text, kept in b.  Returns 1 when it did.
 */
int	 fmt_flatten(struct buf *, const char **, size_t *);

#endif
