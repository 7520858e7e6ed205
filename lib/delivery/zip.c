#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <zip.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/base/isolate.h"
#include "lib/base/secret.h"
#include "lib/base/strutil.h"
#include "lib/delivery/zip.h"

/* A zip of one small stored entry is a few hundred bytes; anything near this
 * means something went wrong. */
#define ZIP_MAX_BYTES (64 * 1024)
/* A zip takes 3-6 ms (its PBKDF2); its process is killed after this. */
#define ZIP_TIMEOUT_MS 10000

static const char *const encryption_names[_AKR_ZIP_ENCRYPTION_MAX] = {
	[AKR_ZIP_ENCRYPTION_AES256] = "aes256",
	[AKR_ZIP_ENCRYPTION_ZIPCRYPTO] = "zipcrypto",
};

static const zip_uint16_t encryption_methods[_AKR_ZIP_ENCRYPTION_MAX] = {
	[AKR_ZIP_ENCRYPTION_AES256] = ZIP_EM_AES_256,
	[AKR_ZIP_ENCRYPTION_ZIPCRYPTO] = ZIP_EM_TRAD_PKWARE,
};

const char *akr_zip_encryption_to_string(enum akr_zip_encryption e)
{
	return (unsigned)e < _AKR_ZIP_ENCRYPTION_MAX ? encryption_names[e] : NULL;
}

int akr_zip_encryption_from_string(const char *s, enum akr_zip_encryption *ret)
{
	if (!s)
		return -EINVAL;
	for (unsigned i = 0; i < _AKR_ZIP_ENCRYPTION_MAX; i++) {
		if (strcmp(s, encryption_names[i]) == 0) {
			*ret = (enum akr_zip_encryption)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* The one place that maps libzip's errors (STYLE.md §3). */
static int zip_error_to_errno(const zip_error_t *ze)
{
	switch (zip_error_code_zip(ze)) {
	case ZIP_ER_OK:
		return -EIO; /* a failure without a code: still a failure */
	case ZIP_ER_MEMORY:
		return -ENOMEM;
	case ZIP_ER_INVAL:
		return -EINVAL;
	case ZIP_ER_ENCRNOTSUPP:
	case ZIP_ER_COMPNOTSUPP:
	case ZIP_ER_OPNOTSUPP:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

static int fail_zip(zip_error_t *ze, const char *what, struct akr_error *reterr)
{
	int r = zip_error_to_errno(ze);

	/* zip_error_strerror() describes libzip's state, never the data. */
	akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "ZipError", "%s: %s", what,
		      zip_error_strerror(ze));
	return r;
}

static int fail_za(zip_t *za, const char *what, struct akr_error *reterr)
{
	return fail_zip(zip_get_error(za), what, reterr);
}

static bool secret_is_csv_safe(const struct akr_secret *s)
{
	if (!s || !s->buf || s->len == 0)
		return false;
	for (size_t i = 0; i < s->len; i++) {
		uint8_t c = s->buf[i];
		if (c <= 0x20 || c >= 0x7f || c == ',' || c == '"')
			return false;
	}
	return true;
}

static bool password_is_usable(const struct akr_secret *p)
{
	if (!p || !p->buf || p->len == 0 || strlen((const char *)p->buf) != p->len)
		return false;
	for (size_t i = 0; i < p->len; i++)
		if (p->buf[i] < 0x20 || p->buf[i] == 0x7f)
			return false;
	return true;
}

/* Copies the finished archive out of the buffer source into a secret. */
static int read_source(zip_source_t *src, struct akr_secret **ret, struct akr_error *reterr)
{
	_cleanup_secret_ struct akr_secret *out = NULL;
	zip_stat_t st;
	zip_int64_t n;
	size_t got = 0;

	zip_stat_init(&st);
	if (zip_source_stat(src, &st) < 0)
		return fail_zip(zip_source_error(src), "cannot stat the archive", reterr);
	if (!(st.valid & ZIP_STAT_SIZE) || st.size == 0 || st.size > ZIP_MAX_BYTES) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "ZipError",
			      "the archive has an unexpected size");
		return -EIO;
	}

	out = akr_secret_new("", 0);
	if (!out)
		return -ENOMEM;
	free(out->buf);
	out->buf = calloc(1, (size_t)st.size + 1);
	if (!out->buf)
		return -ENOMEM;
	out->len = (size_t)st.size;

	if (zip_source_open(src) < 0)
		return fail_zip(zip_source_error(src), "cannot reopen the archive", reterr);
	while (got < out->len) {
		n = zip_source_read(src, out->buf + got, out->len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	(void)zip_source_close(src);
	if (got != out->len) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "ZipError", "short read of the archive");
		return -EIO;
	}
	*ret = TAKE_PTR(out);
	return 0;
}

static int check_inputs(const char *access_key_id, const struct akr_secret *secret,
			const struct akr_secret *password, enum akr_zip_encryption enc,
			struct akr_error *reterr)
{
	if (!access_key_id || !akr_is_access_key_id(access_key_id)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidParameter",
			      "not a valid access key id");
		return -EINVAL;
	}
	if (!secret_is_csv_safe(secret)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidParameter",
			      "the secret access key is empty or holds characters a CSV cannot carry");
		return -EINVAL;
	}
	if (!password_is_usable(password)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidParameter",
			      "the zip password is empty or holds control characters");
		return -EINVAL;
	}
	if ((unsigned)enc >= _AKR_ZIP_ENCRYPTION_MAX) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidParameter",
			      "unknown zip encryption");
		return -EINVAL;
	}
	if (!zip_encryption_method_supported(encryption_methods[enc], 1)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "ZipError",
			      "this libzip cannot encrypt with %s", encryption_names[enc]);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* credentials.csv: the header line, then "<key id>,<secret>". */
static int build_csv(const char *access_key_id, const struct akr_secret *secret,
		     struct akr_buf *csv)
{
	int r = akr_buf_append_str(csv, AKR_ZIP_CSV_HEADER);

	if (r >= 0)
		r = akr_buf_append_str(csv, access_key_id);
	if (r >= 0)
		r = akr_buf_append(csv, ",", 1);
	if (r >= 0)
		r = akr_buf_append(csv, secret->buf, secret->len);
	if (r >= 0)
		r = akr_buf_append(csv, "\r\n", 2);
	return r;
}

/* Adds @csv as the one stored, encrypted entry and writes the archive into
 * its source. Consumes @za: closed on success, discarded on failure. */
static int write_archive(zip_t *za, const struct akr_buf *csv, const struct akr_secret *password,
			 enum akr_zip_encryption enc, struct akr_error *reterr)
{
	zip_source_t *entry;
	zip_int64_t idx;
	int r;

	/* Borrowed by libzip until zip_close() or zip_discard(). */
	entry = zip_source_buffer(za, csv->data, csv->len, 0);
	if (!entry) {
		r = fail_za(za, "cannot add the CSV", reterr);
		goto fail;
	}
	idx = zip_file_add(za, AKR_ZIP_CSV_NAME, entry, ZIP_FL_ENC_UTF_8);
	if (idx < 0) {
		zip_source_free(entry);
		r = fail_za(za, "cannot add the CSV", reterr);
		goto fail;
	}
	if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) < 0) {
		r = fail_za(za, "cannot set the compression", reterr);
		goto fail;
	}
	/* libzip copies the password and wipes its copy when it is done. */
	if (zip_file_set_encryption(za, (zip_uint64_t)idx, encryption_methods[enc],
				    (const char *)password->buf) < 0) {
		r = fail_za(za, "cannot set the encryption", reterr);
		goto fail;
	}
	if (zip_close(za) < 0) {
		r = fail_za(za, "cannot write the archive", reterr);
		goto fail;
	}
	return 0;
fail:
	zip_discard(za);
	return r;
}

/* What the child needs to make the zip (borrowed from the caller). */
struct zip_job {
	const char *access_key_id;
	const struct akr_secret *secret, *password;
	enum akr_zip_encryption enc;
};

/* Runs in the child process (akr_isolated_run()). */
static int make_zip(void *arg, struct akr_secret **ret_zip, struct akr_error *reterr)
{
	const struct zip_job *job = arg;
	/* Sensitive: wiped on every path by the cleanup attribute. */
	_cleanup_buf_ struct akr_buf csv = AKR_BUF_INIT(4096, true);
	zip_source_t *src;
	zip_t *za;
	zip_error_t ze;
	int r;

	r = build_csv(job->access_key_id, job->secret, &csv);
	if (r < 0)
		return r;

	zip_error_init(&ze);
	src = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (!src) {
		r = fail_zip(&ze, "cannot create the in-memory archive", reterr);
		zip_error_fini(&ze);
		return r;
	}
	za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	if (!za) {
		r = fail_zip(&ze, "cannot open the in-memory archive", reterr);
		zip_error_fini(&ze);
		zip_source_free(src);
		return r;
	}
	zip_error_fini(&ze);
	/* Keep the buffer source alive past zip_close(): it holds the result. */
	zip_source_keep(src);

	r = write_archive(za, &csv, job->password, job->enc, reterr);
	if (r >= 0)
		r = read_source(src, ret_zip, reterr);
	zip_source_free(src);
	return r;
}

int akr_zip_credentials(const char *access_key_id, const struct akr_secret *secret,
			const struct akr_secret *password, enum akr_zip_encryption enc,
			struct akr_secret **ret_zip, struct akr_error *reterr)
{
	struct zip_job job = { access_key_id, secret, password, enc };
	int r;

	if (!ret_zip) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidParameter", "no result pointer");
		return -EINVAL;
	}
	r = check_inputs(access_key_id, secret, password, enc, reterr);
	if (r < 0)
		return r;
	/* libzip 1.7.3 writes through the NULL of a failed allocation while it
	 * writes an AES entry (lib/base/isolate.h): made in a child, such a
	 * failure is an error that rolls the rotation back, not a crash. */
	return akr_isolated_run("the zip", make_zip, &job, ZIP_MAX_BYTES, ZIP_TIMEOUT_MS, ret_zip,
				reterr);
}
