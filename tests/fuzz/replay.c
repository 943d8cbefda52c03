/*
 * replay: run a fuzz target over corpus files without libFuzzer, so
 * that make check replays every corpus under ASan and UBSan.
 *	replay FILE|DIR ...
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static unsigned long nrun;

static int
one(const char *path)
{
	FILE *fp;
	unsigned char *p = NULL;
	size_t n = 0, cap = 0, r;

	if ((fp = fopen(path, "rb")) == NULL) {
		perror(path);
		return -1;
	}
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			if ((p = realloc(p, cap)) == NULL) {
				perror("realloc");
				exit(1);
			}
		}
		if ((r = fread(p + n, 1, cap - n, fp)) == 0)
			break;
		n += r;
	}
	if (ferror(fp)) {
		perror(path);
		fclose(fp);
		free(p);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(p, n);
	free(p);
	nrun++;
	return 0;
}

static int
walk(const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char sub[4096];
	int rc = 0;

	if (stat(path, &st) == -1) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return one(path);
	if ((d = opendir(path)) == NULL) {
		perror(path);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		if (walk(sub) == -1)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
main(int argc, char *argv[])
{
	int i, rc = 0;

	for (i = 1; i < argc; i++)
		if (walk(argv[i]) == -1)
			rc = 1;
	printf("%s: %lu inputs replayed\n", argv[0], nrun);
	return rc;
}
