#pragma once
/* Shared by the fuzz targets (tests/fuzz/fuzz-*.c). Each target defines
 * LLVMFuzzerTestOneInput(). Built with clang -Dfuzzing=true it links
 * libFuzzer; otherwise fuzz-main.c supplies a main() that replays the corpus
 * files and directories given as arguments, then runs a short deterministic
 * mutation of them (AKR_FUZZ_ITERATIONS, default 2000): the gcc builds run
 * every corpus input under ASan/UBSan that way. */

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** A private directory for the target's files (in /dev/shm when there is
 * one), created on first use and removed at exit. Never NULL (aborts). */
const char *fuzz_tmpdir(void);

/** Writes @size bytes of @data to @path (created or truncated); aborts on an
 * I/O error, which is the harness's fault, not the input's. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);

/** Splits @data at each @sep byte into at most @max NUL-terminated strings
 * (copies in one allocation the caller frees with free(*ret_block)); fields
 * past @max stay in the last one. Returns the number of fields (>= 1). */
size_t fuzz_split(const uint8_t *data, size_t size, char sep, char **fields, size_t max,
		  char **ret_block);

/** Lib code logs warnings for bad input: keep them off the fuzzer's output. */
void fuzz_quiet_logs(void);
