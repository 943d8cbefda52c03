/*
 * fuzz_ckpt_state: duo-ckpt's readers of its own state files.  The
 * input is split at "@@@\n" into host, auth.cursor, auth.ledger and
 * auth.run, written into a private scratch state directory; then the
 * state is loaded and its status reported, as duo-ckpt get and status
 * do before anything is written.  (Recovery, which acts on paths an
 * intent names, is left to the e2e corruption tests: a fuzzer must not
 * write where an input says.)  Invariants: no crash, no hang, and a
 * load that fails says why.
 */
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char dir[64];

static const uint8_t *
sep(const uint8_t *p, const uint8_t *e)
{
	for (; e - p >= 4; p++)
		if (memcmp(p, "@@@\n", 4) == 0)
			return p;
	return NULL;
}

static void
put(const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
	if (p == NULL)
		return;
	if ((fp = fopen(path, "wb")) == NULL)
		abort();
	if (n > 0 && fwrite(p, 1, n, fp) != n)
		abort();
	if (fclose(fp) != 0)
		abort();
}

/* The scratch directory goes when the process does. */
static void
cleanup(void)
{
	static const char *const all[] = {
		"host", "auth.cursor", "auth.ledger", "auth.run", "auth.lock",
		"auth.intent", "auth.spool", NULL
	};
	char path[128];
	int i;

	for (i = 0; all[i] != NULL; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, all[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {
		"host", "auth.cursor", "auth.ledger", "auth.run"
	};
	const uint8_t *p = data, *e = data + size, *q;
	struct ckpt ck;
	struct buf out;
	char err[DUO_ERRLEN];
	size_t i;
	int rc;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof dir, "/tmp/duo-fuzz-st.XXXXXX");
		if (mkdtemp(dir) == NULL || chmod(dir, 0700) == -1)
			abort();
		atexit(cleanup);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (p == NULL) {
			put(names[i], NULL, 0);
			continue;
		}
		q = sep(p, e);
		put(names[i], p, q != NULL ? (size_t)(q - p) :
		    (size_t)(e - p));
		p = q != NULL ? q + 4 : NULL;
	}
	memset(&ck, 0, sizeof ck);
	err[0] = '\0';
	if (ckpt_open(&ck, dir, "auth", err) == DUO_EXIT_OK) {
		rc = ckpt_load(&ck, err);
		if (rc != DUO_EXIT_OK)
			INVARIANT(err[0] != '\0');
	}
	ckpt_close(&ck);
	buf_init(&out);
	err[0] = '\0';
	rc = ckpt_status(dir, "auth", 1709210096000LL, 3600, &out, err);
	(void)rc;
	buf_free(&out);
	return 0;
}
