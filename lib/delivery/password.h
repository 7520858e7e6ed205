#pragma once
/* Random passwords for the encrypted credential zips: drawn from OpenSSL's
 * CSPRNG (RAND_bytes) by rejection sampling, so every character of the
 * alphabet is equally likely (no modulo bias) and a password of n characters
 * carries exactly n * log2(56) bits.
 *
 * The alphabet is letters and digits only, without the look-alikes 0 O o and
 * 1 l I: 56 characters. Users copy the password out of a mail, and mail
 * clients stop a double-click selection at '.', ':', '-' and '+', and a
 * password that ends in '.' reads as the end of a sentence; a letter or digit
 * also needs no quoting on a shell or Windows command line
 * (`7zz x -p<password> ...`). */

#include <stddef.h>

struct akr_secret;

/* 23 characters carry 23 * log2(56) = 133.6 bits, the fewest that reach the
 * 128 bits DESIGN.md asks for; the default carries 139.4. */
#define AKR_PASSWORD_MIN_LEN 23
#define AKR_PASSWORD_DEFAULT_LEN 24
#define AKR_PASSWORD_MAX_LEN 128

/** The alphabet as a NUL-terminated string (static, never freed). */
const char *akr_password_alphabet(void);

/** Generates a random password of @len characters (AKR_PASSWORD_MIN_LEN to
 * AKR_PASSWORD_MAX_LEN; 0 means AKR_PASSWORD_DEFAULT_LEN) into *@ret_password,
 * a NUL-terminated secret the caller frees with akr_secret_free().
 * Returns 0; -EINVAL for a length out of range; -EIO when the CSPRNG fails
 * (it is never replaced by a weaker source); -ENOMEM. */
int akr_password_generate(size_t len, struct akr_secret **ret_password);
