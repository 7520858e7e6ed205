/* lib/base/fdio.c: whole writes and reads. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/base/buf.h"
#include "lib/base/fdio.h"

static void test_write_then_read(void **state)
{
	size_t n = 300000; /* several read chunks */
	uint8_t *data = malloc(n);
	struct akr_buf b;
	int fd = memfd_create("akr-fdio", MFD_CLOEXEC);

	(void)state;
	assert_non_null(data);
	assert_true(fd >= 0);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7);
	assert_int_equal(akr_write_all(fd, data, n), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	akr_buf_init(&b, n, false);
	assert_int_equal(akr_read_all(fd, &b), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, data, n);
	akr_buf_done(&b);

	/* One byte more than the buffer's maximum: -E2BIG. */
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	akr_buf_init(&b, n - 1, false);
	assert_int_equal(akr_read_all(fd, &b), -E2BIG);
	akr_buf_done(&b);

	/* Errors of the system calls come back as -errno. */
	assert_int_equal(akr_write_all(-1, data, 1), -EBADF);
	akr_buf_init(&b, 16, false);
	assert_int_equal(akr_read_all(-1, &b), -EBADF);
	akr_buf_done(&b);
	assert_int_equal(akr_write_all(fd, data, 0), 0);
	close(fd);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_then_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
