#pragma once
/* What the two document readers, json.c (yajl) and xml.c (expat), share:
 * a limit left 0 takes its default, path patterns, and where in the input a
 * parse failed. Logs nothing, allocates nothing. */

#include <stdbool.h>
#include <stddef.h>

struct akr_error;

/** A reader's limit: @value, or @def when @value is 0 ("unset"). */
static inline size_t akr_docread_limit(size_t value, size_t def)
{
	return value ? value : def;
}

/** Whether the @depth names (root first) are exactly @pattern: names
 * separated by '/', where "*" matches any one name. "" matches only depth 0. */
bool akr_docread_path_is(const char *const *names, size_t depth, const char *pattern);

/** Appends " at line L, column C" to @err's message (as far as it fits). */
void akr_docread_add_position(struct akr_error *err, unsigned long line, unsigned long col);
