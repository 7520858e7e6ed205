#pragma once
/* A bounded, streaming (SAX) XML reader over expat for AWS answers. Service
 * parsers see a stack of element local names (namespaces and prefixes are
 * dropped) and match it against patterns of local names separated by '/',
 * where "*" stands for any one element. Malformed or truncated input,
 * a DOCTYPE, and anything past the limits is an error with its line and
 * column in struct akr_error (kind AKR_ERROR_PARSE). Logs nothing. */

#include <stdbool.h>
#include <stddef.h>

struct akr_error;

#define AKR_XML_MAX_DEPTH_DEFAULT 32
#define AKR_XML_MAX_TEXT_DEFAULT (16u * 1024)
#define AKR_XML_MAX_ELEMENTS_DEFAULT 200000u

struct akr_xml_limits {
	size_t max_depth;    /* nesting depth; 0 = default */
	size_t max_text;     /* bytes of text directly inside one element; 0 = default */
	size_t max_elements; /* elements in the document; 0 = default */
	bool sensitive;      /* text may hold a secret: every buffer is wiped on release */
};

/** The open elements, root first: local names, borrowed during a callback. */
struct akr_xml_path {
	const char *const *names;
	size_t depth; /* number of names; the current element is names[depth - 1] */
};

/** Callbacks return 0 to go on, or a negative errno to stop the parse, which
 * then returns it. @err is never NULL: fill it (akr_error_malformed()) to say why;
 * left empty, the parser describes the failure at the current position. */
struct akr_xml_handler {
	/** An element opened (it is the last entry of @path). May be NULL. */
	int (*start)(void *userdata, const struct akr_xml_path *path, struct akr_error *err);
	/** An element closed. @text is its own character data (not its
	 * children's), NUL-terminated, @len bytes; borrowed, and wiped after
	 * the call in sensitive mode. May be NULL. */
	int (*end)(void *userdata, const struct akr_xml_path *path, const char *text, size_t len,
		   struct akr_error *err);
};

/** Parses the complete document @data (@len bytes). @limits may be NULL
 * (defaults). Returns 0; -EBADMSG (malformed, truncated, DOCTYPE);
 * -E2BIG (a limit exceeded); -ENOMEM; or a callback's error. @reterr (may be
 * NULL) is filled on failure with kind AKR_ERROR_PARSE and "line L, column C". */
int akr_xml_parse(const char *data, size_t len, const struct akr_xml_limits *limits,
		  const struct akr_xml_handler *h, void *userdata, struct akr_error *reterr);

/** Whether @path is exactly @pattern: local names separated by '/', where
 * "*" matches any one element. "" matches nothing. */
bool akr_xml_path_is(const struct akr_xml_path *path, const char *pattern);

/** The current element's local name ("" for an empty path). */
static inline const char *akr_xml_path_name(const struct akr_xml_path *path)
{
	return path->depth ? path->names[path->depth - 1] : "";
}

/** Copies element text into *@dst (malloc'ed). Fails with -EBADMSG (@err
 * filled, naming @field) when *@dst is already set (a duplicate element).
 * Returns 0, -EBADMSG, -ENOMEM. */
int akr_xml_dup_text(const char *text, size_t len, char **dst, const char *field,
		     struct akr_error *err);
