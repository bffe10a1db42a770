/* SPDX-License-Identifier: MIT */
/* Replays a fuzz corpus through LLVMFuzzerTestOneInput when not linked with libFuzzer. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *data = NULL;
	size_t cap = 0, len = 0, n;

	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	do {
		if (len == cap) {
			uint8_t *p = realloc(data, cap ? cap * 2 : 4096);
			if (!p) {
				free(data);
				fclose(f);
				return -1;
			}
			data = p;
			cap = cap ? cap * 2 : 4096;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	/* A private copy of exactly `len` bytes so ASan catches any read past the input. */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(data);
		return -1;
	}
	memcpy(exact, data, len);
	free(data);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int
run_path(const char *path, unsigned *count)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		struct dirent **names;
		int n = scandir(path, &names, NULL, alphasort), r = 0;

		if (n < 0) {
			fprintf(stderr, "%s: %s\n", path, strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			if (names[i]->d_name[0] != '.' && r == 0) {
				char sub[4096];
				snprintf(sub, sizeof(sub), "%s/%s", path, names[i]->d_name);
				r = run_path(sub, count);
			}
			free(names[i]);
		}
		free(names);
		return r;
	}
	(*count)++;
	return run_file(path);
}

int
main(int argc, char **argv)
{
	unsigned count = 0;

	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			return 1;
	if (count == 0) {
		fprintf(stderr, "empty corpus\n");
		return 1;
	}
	printf("%u inputs replayed\n", count);
	return 0;
}
