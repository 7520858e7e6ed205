#pragma once
/* Random passwords for the encrypted credential zips: drawn from OpenSSL's
 * CSPRNG (RAND_bytes) by rejection sampling, so every character of the
 * alphabet is equally likely (no modulo bias).
 *
 * The alphabet leaves out characters that are easily confused when read from
 * a mail or typed (0 O o, 1 l I) and holds only symbols that need no quoting
 * on a POSIX shell or Windows cmd command line (`7zz x -p<password> ...`), are
 * never special to 7-Zip's -p switch and stay readable in mail: '-', '_', '+',
 * '.' and ':'. Every password holds at least one upper-case letter, one
 * lower-case letter, one digit and one symbol (a draw that misses a class is
 * thrown away whole, which keeps the choice uniform among the passwords that
 * have all four). */

#include <stddef.h>

struct akr_secret;

#define AKR_PASSWORD_MIN_LEN 20
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
