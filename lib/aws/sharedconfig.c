#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/aws/sharedconfig.h"
#include "lib/base/error.h"
#include "lib/base/macro.h"

#define AWSCONFIG_MAX_BYTES (1024 * 1024)

enum section_kind {
	SECTION_PROFILE,
	SECTION_SERVICES,
	SECTION_OTHER,
};

struct entry {
	enum section_kind kind;
	const char *section;
	const char *key;
	const char *sub_key; /* NULL unless nested */
	const char *value;
	unsigned line;
};

struct akr_awsconfig {
	char *path;
	char *text; /* the file, NUL-separated in place; wiped on free */
	size_t text_size;
	struct entry *entries;
	size_t n_entries;
};

struct akr_awsconfig *akr_awsconfig_free(struct akr_awsconfig *c)
{
	if (!c)
		return NULL;
	if (c->text)
		OPENSSL_clear_free(c->text, c->text_size);
	free(c->entries);
	free(c->path);
	free(c);
	return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct akr_awsconfig *, akr_awsconfig_free)

const char *akr_awsconfig_path(const struct akr_awsconfig *c)
{
	return c ? c->path : NULL;
}

static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static void lowercase(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static int parse_error(const struct akr_awsconfig *c, unsigned line, struct akr_error *reterr,
		       const char *what)
{
	akr_error_set(reterr, AKR_ERROR_PARSE, 0, "config", "%s:%u: %s", c->path, line, what);
	return -EBADMSG;
}

/* Splits "[profile  name ]" into kind and name, as botocore does: in the
 * config file only [default], [profile x] and [services x] matter; in the
 * credentials file every section is a profile. */
static void classify_section(char *inner, enum akr_awsconfig_kind kind, enum section_kind *ret_kind,
			     const char **ret_name)
{
	char *name = strip(inner);

	if (kind == AKR_AWSCONFIG_CREDENTIALS) {
		*ret_kind = SECTION_PROFILE;
		*ret_name = name;
		return;
	}
	if (strcmp(name, "default") == 0) {
		*ret_kind = SECTION_PROFILE;
		*ret_name = name;
	} else if (strncmp(name, "profile", 7) == 0 && (name[7] == ' ' || name[7] == '\t')) {
		*ret_kind = SECTION_PROFILE;
		*ret_name = strip(name + 8);
	} else if (strncmp(name, "services", 8) == 0 && (name[8] == ' ' || name[8] == '\t')) {
		*ret_kind = SECTION_SERVICES;
		*ret_name = strip(name + 9);
	} else {
		*ret_kind = SECTION_OTHER;
		*ret_name = name;
	}
}

static int parse(struct akr_awsconfig *c, enum akr_awsconfig_kind kind, struct akr_error *reterr)
{
	enum section_kind skind = SECTION_OTHER;
	const char *section = NULL;
	const struct entry *parent = NULL; /* the last key with an empty value */
	size_t max_entries = 1;
	unsigned lineno = 0;
	char *line, *next;

	for (const char *p = c->text; *p; p++)
		if (*p == '\n')
			max_entries++;
	c->entries = calloc(max_entries, sizeof(*c->entries));
	if (!c->entries)
		return -ENOMEM;

	for (line = c->text; line; line = next) {
		bool indented;
		char *s, *eq, *key, *value;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		indented = *line == ' ' || *line == '\t';
		s = strip(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;

		if (*s == '[' && !indented) {
			char *close = strrchr(s, ']');

			if (!close || close[1] != '\0')
				return parse_error(c, lineno, reterr, "section header without ']'");
			*close = '\0';
			classify_section(s + 1, kind, &skind, &section);
			if (!*section)
				return parse_error(c, lineno, reterr, "empty section name");
			parent = NULL;
			continue;
		}
		if (!section)
			return parse_error(c, lineno, reterr, "setting outside of any [section]");
		eq = strchr(s, '=');
		if (!eq)
			return parse_error(c, lineno, reterr, "expected 'key = value'");
		*eq = '\0';
		key = strip(s);
		value = strip(eq + 1);
		if (!*key)
			return parse_error(c, lineno, reterr, "empty key");
		lowercase(key);

		if (indented) {
			/* Nested settings ("iam =" then indented lines) are the only
			 * continuation lines the SDK settings use. */
			if (!parent)
				return parse_error(c, lineno, reterr,
						   "indented line does not continue an empty key");
			c->entries[c->n_entries++] = (struct entry){
				.kind = skind, .section = section, .key = parent->key,
				.sub_key = key, .value = value, .line = lineno,
			};
			continue;
		}
		c->entries[c->n_entries++] = (struct entry){
			.kind = skind, .section = section, .key = key, .value = value,
			.line = lineno,
		};
		parent = *value ? NULL : &c->entries[c->n_entries - 1];
	}
	return 0;
}

int akr_awsconfig_load(const char *path, enum akr_awsconfig_kind kind,
		       struct akr_awsconfig **ret, struct akr_error *reterr)
{
	_cleanup_(akr_awsconfig_freep) struct akr_awsconfig *c = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	size_t got = 0;
	int r;

	if (!path || !ret)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config", "%s: %s", path,
				      strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0)
		return -errno;
	/* AWS_CONFIG_FILE=/dev/null is the usual way to say "no file", and the
	 * SDKs read it as empty. */
	if (S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3)
		st.st_size = 0;
	else if (!S_ISREG(st.st_mode) || st.st_size > AWSCONFIG_MAX_BYTES) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config",
			      "%s: not a regular file of at most 1 MiB", path);
		return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->path = strdup(path);
	c->text_size = (size_t)st.st_size + 1;
	c->text = malloc(c->text_size);
	if (!c->path || !c->text)
		return -ENOMEM;
	/* The size may change under us: read what fits, then require EOF. */
	for (;;) {
		ssize_t n = read(fd, c->text + got, c->text_size - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == c->text_size) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config", "%s: file grew while read",
				      path);
			return -EFBIG;
		}
	}
	c->text[got] = '\0';
	if (strlen(c->text) != got)
		return parse_error(c, 0, reterr, "file contains a NUL byte");

	r = parse(c, kind, reterr);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(c);
	return 0;
}

static const struct entry *find(const struct akr_awsconfig *c, enum section_kind kind,
				const char *section, const char *key, const char *sub_key)
{
	if (!c || !section || !key)
		return NULL;
	/* Backwards: the last occurrence wins, as in botocore. */
	for (size_t i = c->n_entries; i-- > 0;) {
		const struct entry *e = &c->entries[i];

		if (e->kind != kind || strcmp(e->section, section) != 0 || strcmp(e->key, key) != 0)
			continue;
		if (sub_key ? (e->sub_key && strcmp(e->sub_key, sub_key) == 0) : !e->sub_key)
			return e;
	}
	return NULL;
}

bool akr_awsconfig_has_profile(const struct akr_awsconfig *c, const char *profile)
{
	if (!c || !profile)
		return false;
	for (size_t i = 0; i < c->n_entries; i++)
		if (c->entries[i].kind == SECTION_PROFILE &&
		    strcmp(c->entries[i].section, profile) == 0)
			return true;
	return false;
}

const char *akr_awsconfig_get(const struct akr_awsconfig *c, const char *profile, const char *key,
			      unsigned *ret_line)
{
	const struct entry *e = find(c, SECTION_PROFILE, profile, key, NULL);

	if (e && ret_line)
		*ret_line = e->line;
	return e ? e->value : NULL;
}

const char *akr_awsconfig_get_service(const struct akr_awsconfig *c, const char *services,
				      const char *key, const char *sub_key, unsigned *ret_line)
{
	const struct entry *e = find(c, SECTION_SERVICES, services, key, sub_key);

	if (e && ret_line)
		*ret_line = e->line;
	return e ? e->value : NULL;
}

const char *akr_awsconfig_profile_name(const char *profile)
{
	const char *env;

	if (profile && *profile)
		return profile;
	env = getenv("AWS_PROFILE");
	return env && *env ? env : "default";
}

int akr_awsconfig_default_path(enum akr_awsconfig_kind kind, char **ret)
{
	const char *env = getenv(kind == AKR_AWSCONFIG_CONFIG ? "AWS_CONFIG_FILE"
							       : "AWS_SHARED_CREDENTIALS_FILE");
	const char *home = getenv("HOME");
	char *path;

	if (env && *env) {
		if (strncmp(env, "~/", 2) == 0) {
			if (!home || !*home)
				return -ENOENT;
			if (asprintf(&path, "%s/%s", home, env + 2) < 0)
				return -ENOMEM;
		} else {
			path = strdup(env);
			if (!path)
				return -ENOMEM;
		}
	} else {
		if (!home || !*home)
			return -ENOENT;
		if (asprintf(&path, "%s/.aws/%s", home,
			     kind == AKR_AWSCONFIG_CONFIG ? "config" : "credentials") < 0)
			return -ENOMEM;
	}
	*ret = path;
	return 0;
}

int akr_awsconfig_load_default(enum akr_awsconfig_kind kind, struct akr_awsconfig **ret,
			       struct akr_error *reterr)
{
	_cleanup_free_ char *path = NULL;
	int r;

	r = akr_awsconfig_default_path(kind, &path);
	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	if (r < 0)
		return r;
	r = akr_awsconfig_load(path, kind, ret, reterr);
	if (r == -ENOENT) {
		*ret = NULL;
		return 0;
	}
	return r;
}

bool akr_awsconfig_is_true(const char *v)
{
	return v && strcasecmp(v, "true") == 0;
}
