/* main() for the fuzz targets when libFuzzer is not linked (the gcc builds):
 * replays every file given, or every file of every directory given (a corpus),
 * then runs AKR_FUZZ_ITERATIONS (default 2000) deterministic mutations of
 * those inputs, so that a failure reproduces. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

#define FUZZ_MAX_INPUT (1u << 20)

struct input {
	uint8_t *data;
	size_t len;
};

static struct input *inputs;
static size_t n_inputs;

static void add_file(const char *path)
{
	FILE *f = fopen(path, "re");
	uint8_t *data = malloc(FUZZ_MAX_INPUT);
	size_t len;

	if (!f || !data) {
		perror(path);
		exit(2);
	}
	len = fread(data, 1, FUZZ_MAX_INPUT, f);
	fclose(f);
	inputs = realloc(inputs, (n_inputs + 1) * sizeof(*inputs));
	if (!inputs)
		exit(2);
	inputs[n_inputs++] = (struct input){ .data = data, .len = len };
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_path(const char *path)
{
	struct stat st;
	struct dirent *e;
	char **names = NULL, full[4096];
	size_t n = 0;
	DIR *d;

	if (stat(path, &st) < 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	d = opendir(path);
	if (!d) {
		perror(path);
		exit(2);
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (!names || !(names[n++] = strdup(e->d_name)))
			exit(2);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		(void)snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		add_file(full);
		free(names[i]);
	}
	free(names);
}

/* xorshift: deterministic, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void mutate_run(unsigned iterations)
{
	static const char alphabet[] = "<>/&;\"'{}[]:,\\=@.\t \n\r\x00\xff\xc3\x80" "aZ09#%";
	static uint8_t buf[65536];

	for (unsigned i = 0; i < iterations; i++) {
		const struct input *in = n_inputs ? &inputs[rnd() % n_inputs] : NULL;
		size_t len = in ? (in->len < sizeof(buf) / 2 ? in->len : sizeof(buf) / 2) : 0;
		unsigned edits = 1 + (unsigned)(rnd() % 8);

		if (len)
			memcpy(buf, in->data, len);
		for (unsigned k = 0; k < edits; k++) {
			size_t at = len ? (size_t)(rnd() % len) : 0;

			switch (rnd() % 5) {
			case 0: /* replace a byte */
				if (len)
					buf[at] = (uint8_t)alphabet[rnd() % (sizeof(alphabet) - 1)];
				break;
			case 1: /* truncate */
				len = at;
				break;
			case 2: /* duplicate a span */
				if (len && len * 2 < sizeof(buf)) {
					size_t n = (size_t)(rnd() % (len - at)) + 1;

					memmove(buf + at + n, buf + at, len - at);
					len += n;
				}
				break;
			case 3: /* insert a byte */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, len - at);
					buf[at] = (uint8_t)alphabet[rnd() % (sizeof(alphabet) - 1)];
					len++;
				}
				break;
			default: /* delete a byte */
				if (len) {
					memmove(buf + at, buf + at + 1, len - at - 1);
					len--;
				}
				break;
			}
		}
		(void)LLVMFuzzerTestOneInput(buf, len);
	}
}

int main(int argc, char **argv)
{
	const char *n = getenv("AKR_FUZZ_ITERATIONS");
	unsigned iterations = n ? (unsigned)strtoul(n, NULL, 10) : 2000;

	for (int i = 1; i < argc; i++)
		add_path(argv[i]);
	for (size_t i = 0; i < n_inputs; i++)
		(void)LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].len);
	mutate_run(iterations);
	printf("%s: %zu corpus inputs replayed, %u mutations run\n", argv[0], n_inputs, iterations);
	for (size_t i = 0; i < n_inputs; i++)
		free(inputs[i].data);
	free(inputs);
	return 0;
}
