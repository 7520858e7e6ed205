/* The zip is checked with the real 7-Zip (`7zz`, Debian package 7zip), as a
 * user would open it. The zip bytes go to a temporary file only here. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/base/secret.h"
#include "lib/delivery/zip.h"

#define KEY_ID "AKIAIOSFODNN7EXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define PASSWORD "Gx7-kP2q_Rz+Tm9.vW4:hN3e"
#define EXPECTED_CSV "Access key ID,Secret access key\r\n" KEY_ID "," SECRET "\r\n"

static bool have_7zz(void)
{
	return system("command -v 7zz >/dev/null 2>&1") == 0;
}

/* A missing prerequisite is a failure, never a skip. */
#define REQUIRE_7ZZ()                                                                              \
	do {                                                                                       \
		if (!have_7zz())                                                                   \
			fail_msg("7zz not found: install the Debian package 7zip "                 \
				 "(tools/packages.txt)");                                          \
	} while (0)

struct zipfile {
	char path[64];
	struct akr_secret *zip;
};

static void zipfile_done(struct zipfile *z)
{
	if (z->path[0])
		(void)unlink(z->path);
	z->zip = akr_secret_free(z->zip);
}

static void make_zip(struct zipfile *z, enum akr_zip_encryption enc)
{
	_cleanup_secret_ struct akr_secret *secret = akr_secret_new_str(SECRET);
	_cleanup_secret_ struct akr_secret *pw = akr_secret_new_str(PASSWORD);
	struct akr_error err = { 0 };
	int fd;

	assert_int_equal(akr_zip_credentials(KEY_ID, secret, pw, enc, &z->zip, &err), 0);
	assert_non_null(z->zip);
	assert_true(z->zip->len > 100);
	/* A zip, and never the plaintext. */
	assert_memory_equal(z->zip->buf, "PK\x03\x04", 4);
	assert_null(memmem(z->zip->buf, z->zip->len, SECRET, strlen(SECRET)));
	assert_null(memmem(z->zip->buf, z->zip->len, "Secret access key", 17));
	assert_null(memmem(z->zip->buf, z->zip->len, PASSWORD, strlen(PASSWORD)));

	strcpy(z->path, "/tmp/akr-test-zipper-XXXXXX");
	fd = mkstemp(z->path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, z->zip->buf, z->zip->len), (ssize_t)z->zip->len);
	assert_int_equal(close(fd), 0);
}

/* Runs a shell command, returns its exit status and its stdout in @out. */
static int run(const char *cmd, struct akr_buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *f = popen(cmd, "r");
	int status;

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(akr_buf_append(out, chunk, n), 0);
	status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void check_with_7zz(enum akr_zip_encryption enc, const char *method)
{
	struct zipfile z = { 0 };
	_cleanup_buf_ struct akr_buf out = { 0 };
	char cmd[512];

	akr_buf_init(&out, 1 << 20, true);
	make_zip(&z, enc);

	/* The right password gives exactly the console's CSV. */
	(void)snprintf(cmd, sizeof(cmd), "7zz x -p'%s' -so '%s' " AKR_ZIP_CSV_NAME " 2>/dev/null",
		       PASSWORD, z.path);
	assert_int_equal(run(cmd, &out), 0);
	assert_int_equal(out.len, strlen(EXPECTED_CSV));
	assert_memory_equal(out.data, EXPECTED_CSV, out.len);

	/* The archive tests clean and holds that one file, encrypted with @method. */
	akr_buf_reset(&out);
	(void)snprintf(cmd, sizeof(cmd), "7zz t -p'%s' '%s' >/dev/null 2>&1", PASSWORD, z.path);
	assert_int_equal(run(cmd, &out), 0);
	(void)snprintf(cmd, sizeof(cmd), "7zz l -slt -p'%s' '%s' 2>/dev/null", PASSWORD, z.path);
	assert_int_equal(run(cmd, &out), 0);
	assert_non_null(strstr(out.data, "Path = " AKR_ZIP_CSV_NAME "\n"));
	assert_non_null(strstr(out.data, "Encrypted = +"));
	assert_non_null(strstr(out.data, method));
	assert_null(strstr(strstr(out.data, "Path = " AKR_ZIP_CSV_NAME) + 1, "\nPath = "));

	/* A wrong password opens nothing. */
	akr_buf_reset(&out);
	(void)snprintf(cmd, sizeof(cmd), "7zz x -p'%s' -so '%s' " AKR_ZIP_CSV_NAME " 2>/dev/null",
		       "Gx7-kP2q_Rz+Tm9.vW4:hN3f", z.path);
	assert_int_not_equal(run(cmd, &out), 0);
	assert_null(out.data ? strstr(out.data, SECRET) : NULL);

	zipfile_done(&z);
}

static void test_aes256_opened_by_7zz(void **state)
{
	REQUIRE_7ZZ();
	check_with_7zz(AKR_ZIP_ENCRYPTION_AES256, "Method = AES-256");
}

static void test_zipcrypto_opened_by_7zz(void **state)
{
	REQUIRE_7ZZ();
	check_with_7zz(AKR_ZIP_ENCRYPTION_ZIPCRYPTO, "Method = ZipCrypto");
}

static void test_each_zip_differs(void **state)
{
	/* AES salts and ZipCrypto headers are random: the same input never
	 * gives the same bytes. */
	struct zipfile a = { 0 }, b = { 0 };

	make_zip(&a, AKR_ZIP_ENCRYPTION_AES256);
	make_zip(&b, AKR_ZIP_ENCRYPTION_AES256);
	assert_true(a.zip->len != b.zip->len || memcmp(a.zip->buf, b.zip->buf, a.zip->len) != 0);
	zipfile_done(&a);
	zipfile_done(&b);
}

static void test_invalid_input(void **state)
{
	_cleanup_secret_ struct akr_secret *secret = akr_secret_new_str(SECRET);
	_cleanup_secret_ struct akr_secret *pw = akr_secret_new_str(PASSWORD);
	_cleanup_secret_ struct akr_secret *bad_secret = akr_secret_new_str("abc,def");
	_cleanup_secret_ struct akr_secret *nl_secret = akr_secret_new_str("abc\r\ndef");
	_cleanup_secret_ struct akr_secret *empty = akr_secret_new_str("");
	_cleanup_secret_ struct akr_secret *nul_pw = akr_secret_new("ab\0cd", 5);
	struct akr_secret *zip = NULL;
	struct akr_error err = { 0 };

	assert_int_equal(akr_zip_credentials("AKIA,X", secret, pw, 0, &zip, &err), -EINVAL);
	assert_non_null(strstr(err.message, "access key id"));
	assert_int_equal(akr_zip_credentials(NULL, secret, pw, 0, &zip, NULL), -EINVAL);
	assert_int_equal(akr_zip_credentials(KEY_ID, bad_secret, pw, 0, &zip, &err), -EINVAL);
	assert_int_equal(akr_zip_credentials(KEY_ID, nl_secret, pw, 0, &zip, &err), -EINVAL);
	assert_int_equal(akr_zip_credentials(KEY_ID, empty, pw, 0, &zip, &err), -EINVAL);
	assert_int_equal(akr_zip_credentials(KEY_ID, secret, empty, 0, &zip, &err), -EINVAL);
	assert_int_equal(akr_zip_credentials(KEY_ID, secret, nul_pw, 0, &zip, &err), -EINVAL);
	assert_int_equal(akr_zip_credentials(KEY_ID, secret, NULL, 0, &zip, &err), -EINVAL);
	assert_int_equal(akr_zip_credentials(KEY_ID, secret, pw, _AKR_ZIP_ENCRYPTION_MAX, &zip,
					     &err), -EINVAL);
	/* Never written on failure. */
	assert_null(zip);
	/* The error message never carries the secret or the password. */
	assert_null(strstr(err.message, SECRET));
	assert_null(strstr(err.message, PASSWORD));
}

static void test_encryption_names(void **state)
{
	enum akr_zip_encryption e;

	assert_string_equal(akr_zip_encryption_to_string(AKR_ZIP_ENCRYPTION_AES256), "aes256");
	assert_string_equal(akr_zip_encryption_to_string(AKR_ZIP_ENCRYPTION_ZIPCRYPTO), "zipcrypto");
	assert_null(akr_zip_encryption_to_string(_AKR_ZIP_ENCRYPTION_MAX));
	assert_int_equal(akr_zip_encryption_from_string("zipcrypto", &e), 0);
	assert_int_equal(e, AKR_ZIP_ENCRYPTION_ZIPCRYPTO);
	assert_int_equal(akr_zip_encryption_from_string("aes256", &e), 0);
	assert_int_equal(e, AKR_ZIP_ENCRYPTION_AES256);
	assert_int_equal(akr_zip_encryption_from_string("AES", &e), -EINVAL);
	assert_int_equal(akr_zip_encryption_from_string(NULL, &e), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aes256_opened_by_7zz),
		cmocka_unit_test(test_zipcrypto_opened_by_7zz),
		cmocka_unit_test(test_each_zip_differs),
		cmocka_unit_test(test_invalid_input),
		cmocka_unit_test(test_encryption_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
