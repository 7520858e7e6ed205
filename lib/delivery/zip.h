#pragma once
/* The encrypted zip that carries a new access key to its owner, built
 * entirely in memory with libzip (never a file on disk). It holds one file,
 * credentials.csv, in the AWS console's download format:
 *
 *     Access key ID,Secret access key\r\n
 *     AKIA...,wJal...\r\n
 *
 * UTF-8 without a byte order mark, CRLF line ends, no quoting (a key id is
 * [A-Za-z0-9_] and a secret is base64, so neither needs it). The entry is
 * stored uncompressed (a hundred bytes gain nothing from deflate, and zlib
 * would keep plaintext in buffers we cannot wipe) and encrypted with WinZip
 * AES-256 (AE-2, readable by 7-Zip, WinZip, libarchive, libzip, Python's
 * pyzipper; not by Info-ZIP unzip or the Windows and macOS built-ins) or,
 * only if configured, the legacy PKWARE "ZipCrypto" that every unzip reads
 * but that is weak. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct akr_error;
struct akr_secret;

#define AKR_ZIP_CSV_NAME "credentials.csv"
#define AKR_ZIP_CSV_HEADER "Access key ID,Secret access key\r\n"

enum akr_zip_encryption {
	AKR_ZIP_ENCRYPTION_AES256,    /* the default */
	AKR_ZIP_ENCRYPTION_ZIPCRYPTO, /* legacy, weak: only when configured */
	_AKR_ZIP_ENCRYPTION_MAX,
};

/** "aes256", "zipcrypto"; NULL when out of range. */
const char *akr_zip_encryption_to_string(enum akr_zip_encryption e);
/** The inverse (for the configuration). Returns 0 or -EINVAL. */
int akr_zip_encryption_from_string(const char *s, enum akr_zip_encryption *ret);

/** Builds the encrypted zip holding credentials.csv with @access_key_id and
 * @secret, protected by @password. Everything is borrowed. Every plaintext
 * buffer this function allocates is wiped before it returns.
 *
 * On success *@ret_zip holds the zip bytes (sensitive: the caller frees them
 * with akr_secret_free(), which wipes them). Returns 0; -EINVAL for an access
 * key id that fails akr_is_access_key_id(), a secret that is empty or holds
 * anything but printable ASCII without ',' or '"', an empty password or one
 * with a NUL or control character, or an unknown @enc; -EOPNOTSUPP when this
 * libzip cannot encrypt with @enc; -ENOMEM; -EIO for any other libzip
 * failure; -ECHILD or -ETIMEDOUT when the child process that makes it
 * (lib/base/isolate.h) crashed or hung. Blocks the caller for the few
 * milliseconds it takes. @reterr (may be NULL) gets a message on failure
 * (never a secret). */
int akr_zip_credentials(const char *access_key_id, const struct akr_secret *secret,
			const struct akr_secret *password, enum akr_zip_encryption enc,
			struct akr_secret **ret_zip, struct akr_error *reterr);
