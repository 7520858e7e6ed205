#include <stdio.h>
#include <string.h>

#include "lib/base/docread.h"
#include "lib/base/error.h"

bool akr_docread_path_is(const char *const *names, size_t depth, const char *pattern)
{
	size_t i = 0;
	const char *p = pattern;

	if (!*p)
		return depth == 0;
	for (;;) {
		size_t n = strcspn(p, "/");

		if (i >= depth)
			return false;
		if (!(n == 1 && p[0] == '*') && (strlen(names[i]) != n || memcmp(names[i], p, n) != 0))
			return false;
		i++;
		p += n;
		if (!*p)
			return i == depth;
		p++;
	}
}

void akr_docread_add_position(struct akr_error *err, unsigned long line, unsigned long col)
{
	size_t n = strlen(err->message);

	(void)snprintf(err->message + n, sizeof(err->message) - n, " at line %lu, column %lu", line,
		       col);
}
