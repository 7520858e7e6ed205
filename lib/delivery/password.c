#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "lib/delivery/password.h"
#include "lib/base/secret.h"

#define UPPER "ABCDEFGHJKLMNPQRSTUVWXYZ"
#define LOWER "abcdefghijkmnpqrstuvwxyz"
#define DIGITS "23456789"

static const char alphabet[] = UPPER LOWER DIGITS;
#define ALPHABET_LEN (sizeof(alphabet) - 1)

/* Bytes at or above this limit are rejected so that byte % ALPHABET_LEN is uniform. */
#define ACCEPT_LIMIT (256 - 256 % ALPHABET_LEN)

const char *akr_password_alphabet(void)
{
	return alphabet;
}

/* Fills @out with @len characters drawn uniformly from the alphabet. */
static int draw(uint8_t *out, size_t len)
{
	uint8_t pool[64];
	size_t have = 0, used = 0, n = 0;

	while (n < len) {
		if (used == have) {
			if (RAND_bytes(pool, sizeof(pool)) != 1) {
				OPENSSL_cleanse(pool, sizeof(pool));
				return -EIO;
			}
			have = sizeof(pool);
			used = 0;
		}
		uint8_t b = pool[used++];
		if (b >= ACCEPT_LIMIT)
			continue;
		out[n++] = (uint8_t)alphabet[b % ALPHABET_LEN];
	}
	OPENSSL_cleanse(pool, sizeof(pool));
	return 0;
}

int akr_password_generate(size_t len, struct akr_secret **ret_password)
{
	_cleanup_secret_ struct akr_secret *s = NULL;
	int r;

	if (len == 0)
		len = AKR_PASSWORD_DEFAULT_LEN;
	if (len < AKR_PASSWORD_MIN_LEN || len > AKR_PASSWORD_MAX_LEN || !ret_password)
		return -EINVAL;

	/* Allocated once at its final size, then filled in place. */
	s = akr_secret_new("", 0);
	if (!s)
		return -ENOMEM;
	free(s->buf);
	s->buf = calloc(1, len + 1);
	if (!s->buf)
		return -ENOMEM;
	s->len = len;

	r = draw(s->buf, len);
	if (r < 0)
		return r;
	*ret_password = TAKE_PTR(s);
	return 0;
}
