// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Replays fuzz inputs through a libFuzzer entry point without libFuzzer:
 * `replay-fuzz-x DIR|FILE...` runs every file once. Lets `make check`
 * (and sanitize, valgrind) cover the committed corpus with any compiler.
 * Prints a cmocka-like summary so the runner can count the inputs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	uint8_t *buf;
	long n;

	if (!f)
		return -errno;

	if (fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) < 0) {
		fclose(f);
		return -EIO;
	}

	buf = malloc(n ? (size_t)n : 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}

	if (n && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return -EIO;
	}

	fclose(f);
	/* An exact-size heap copy: ASan and valgrind catch any overread. */
	(void)LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned ok = 0, bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			bad++;
			continue;
		}

		if (!S_ISDIR(st.st_mode)) {
			if (replay_file(argv[i]) < 0)
				bad++;
			else
				ok++;
			continue;
		}

		d = opendir(argv[i]);
		if (!d) {
			bad++;
			continue;
		}

		while ((de = readdir(d))) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;

			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (replay_file(path) < 0) {
				fprintf(stderr, "replay: %s: unreadable\n", path);
				bad++;
			} else {
				ok++;
			}
		}
		closedir(d);
	}

	if (ok + bad == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}

	printf("[  PASSED  ] %u test(s).\n", ok);
	if (bad)
		printf("[  FAILED  ] %u test(s), listed below:\n", bad);
	return bad ? 1 : 0;
}
