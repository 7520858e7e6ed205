#pragma once
/* A bounded, streaming JSON reader over yajl for AWS answers, and the small
 * writer the JSON protocols need. Service parsers see the path of the current
 * value (object keys, "[]" for an array item) and match it against patterns
 * of names separated by '/' ("Accounts/[]/Id"), where "*" stands for any one
 * name. Malformed or truncated input and anything past the limits is an error
 * with its line and column in struct akr_error (kind AKR_ERROR_PARSE).
 * Logs nothing. */

#include <stdbool.h>
#include <stddef.h>

#include <yajl/yajl_gen.h>

struct akr_buf;
struct akr_error;

#define AKR_JSON_MAX_DEPTH_DEFAULT 32
#define AKR_JSON_MAX_STRING_DEFAULT (128u * 1024)
#define AKR_JSON_MAX_ITEMS_DEFAULT 10000u
#define AKR_JSON_MAX_VALUES_DEFAULT 1000000u

enum akr_json_type {
	AKR_JSON_NULL,
	AKR_JSON_BOOL,
	AKR_JSON_NUMBER,
	AKR_JSON_STRING,
	AKR_JSON_OBJECT,
	AKR_JSON_ARRAY,
	_AKR_JSON_TYPE_MAX,
};
/** "null", "boolean", "number", "string", "object", "array". */
const char *akr_json_type_to_string(enum akr_json_type t);

struct akr_json_limits {
	size_t max_depth;  /* nesting of objects and arrays; 0 = default */
	size_t max_string; /* bytes of one string or key, decoded; 0 = default */
	size_t max_items;  /* members of one object or items of one array; 0 = default */
	size_t max_values; /* values in the document; 0 = default */
	bool sensitive;    /* strings may hold a secret: yajl's buffers are wiped */
};

/** Where a value sits: borrowed during a callback. The root value has depth
 * 0; {"a": [{"b": 1}]} gives the number the path "a", "[]", "b". */
struct akr_json_path {
	const char *const *names;
	size_t depth;
};

/** Callbacks return 0 to go on, or a negative errno to stop the parse, which
 * then returns it; fill @err (never NULL) with akr_error_malformed() to say why. */
struct akr_json_handler {
	/** An object or array opens at @path. May be NULL. */
	int (*start)(void *userdata, const struct akr_json_path *path, enum akr_json_type type,
		     struct akr_error *err);
	/** It closes. May be NULL. */
	int (*end)(void *userdata, const struct akr_json_path *path, enum akr_json_type type,
		   struct akr_error *err);
	/** A scalar at @path. @text (NUL-terminated, @len bytes, borrowed) is a
	 * string's decoded content (it may contain NUL bytes), a number's
	 * literal, "true"/"false", or "null". May be NULL. */
	int (*value)(void *userdata, const struct akr_json_path *path, enum akr_json_type type,
		     const char *text, size_t len, struct akr_error *err);
};

/** Parses the complete document @data. @limits may be NULL (defaults).
 * Returns 0; -EBADMSG (malformed, truncated, trailing garbage, invalid
 * UTF-8); -E2BIG (a limit exceeded); -ENOMEM; or a callback's error. @reterr
 * (may be NULL) is filled on failure, with "line L, column C". */
int akr_json_parse(const char *data, size_t len, const struct akr_json_limits *limits,
		   const struct akr_json_handler *h, void *userdata, struct akr_error *reterr);

/** Whether @path is exactly @pattern ("" matches only the root). */
bool akr_json_path_is(const struct akr_json_path *path, const char *pattern);

/** Copies a string value into *@dst (malloc'ed). Fails with -EBADMSG (@err
 * filled, naming @field) on a duplicate (*@dst already set), a type other
 * than string, or an embedded NUL. Returns 0, -EBADMSG, -ENOMEM. */
int akr_json_dup_string(enum akr_json_type type, const char *text, size_t len, char **dst,
			const char *field, struct akr_error *err);

/** Appends @s (@len bytes of UTF-8) as a quoted JSON string, escaping '"',
 * '\\' and control characters. Returns 0, -E2BIG, -ENOMEM. */
int akr_json_append_string(struct akr_buf *out, const char *s, size_t len);

/** A yajl generator (free with yajl_gen_free) whose allocations end the
 * process with status 1 if they fail, as the reader's do: yajl 2.1 uses
 * what its allocator returns unchecked. NULL only if yajl refuses. */
yajl_gen akr_json_gen_new(void);
