#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>

#include "lib/base/buf.h"
#include "lib/base/docread.h"
#include "lib/base/error.h"
#include "lib/base/secret.h"
#include "lib/base/xml.h"

/* Namespace processing joins "URI" and "local" with this byte. */
#define NS_SEP '\x01'
/* Input is fed to expat in pieces, as XML_Parse takes an int length. */
#define FEED_CHUNK (1u << 20)

struct xml_state {
	XML_Parser parser;
	const struct akr_xml_handler *h;
	void *userdata;
	struct akr_xml_limits limits;
	char **names;
	size_t depth;
	size_t elements;
	struct akr_buf text;
	struct akr_error err;
	int r;
};

/* In sensitive mode expat's own buffers (which hold raw text) are wiped before
 * they go back to the allocator. */
static void *wipe_malloc(size_t size)
{
	return malloc(size);
}

static const XML_Memory_Handling_Suite wipe_suite = {
	.malloc_fcn = wipe_malloc,
	.realloc_fcn = akr_wipe_realloc,
	.free_fcn = akr_wipe_free,
};

static void stop(struct xml_state *s, int r)
{
	if (s->r == 0)
		s->r = r;
	(void)XML_StopParser(s->parser, XML_FALSE);
}

static const char *local_name(const char *name)
{
	const char *p = strrchr(name, NS_SEP);

	if (p)
		return p + 1;
	p = strrchr(name, ':');
	return p ? p + 1 : name;
}

static void XMLCALL on_start(void *data, const XML_Char *name, const XML_Char **attrs)
{
	struct xml_state *s = data;
	struct akr_xml_path path;
	int r;

	(void)attrs;
	if (s->r)
		return;
	if (s->depth >= s->limits.max_depth) {
		(void)akr_error_malformed(&s->err, "XML nested deeper than %zu elements",
		                          s->limits.max_depth);
		stop(s, -E2BIG);
		return;
	}
	if (++s->elements > s->limits.max_elements) {
		(void)akr_error_malformed(&s->err, "XML has more than %zu elements",
		                          s->limits.max_elements);
		stop(s, -E2BIG);
		return;
	}
	s->names[s->depth] = strdup(local_name(name));
	if (!s->names[s->depth]) {
		stop(s, -ENOMEM);
		return;
	}
	s->depth++;
	/* Only the text directly inside an element counts: a child starts afresh. */
	akr_buf_reset(&s->text);
	if (s->h->start) {
		path = (struct akr_xml_path){ .names = (const char *const *)s->names,
					      .depth = s->depth };
		r = s->h->start(s->userdata, &path, &s->err);
		if (r < 0)
			stop(s, r);
	}
}

static void XMLCALL on_end(void *data, const XML_Char *name)
{
	struct xml_state *s = data;
	struct akr_xml_path path;
	int r = 0;

	(void)name;
	if (s->r || s->depth == 0)
		return;
	if (s->h->end) {
		path = (struct akr_xml_path){ .names = (const char *const *)s->names,
					      .depth = s->depth };
		r = s->h->end(s->userdata, &path, s->text.data ? s->text.data : "", s->text.len,
			      &s->err);
	}
	akr_buf_reset(&s->text);
	s->depth--;
	free(s->names[s->depth]);
	s->names[s->depth] = NULL;
	if (r < 0)
		stop(s, r);
}

static void XMLCALL on_text(void *data, const XML_Char *text, int len)
{
	struct xml_state *s = data;
	int r;

	if (s->r || s->depth == 0 || len <= 0)
		return;
	r = akr_buf_append(&s->text, text, (size_t)len);
	if (r == -E2BIG)
		(void)akr_error_malformed(&s->err,
		                          "XML element '%s' has more than %zu bytes of text",
		                          s->names[s->depth - 1], s->limits.max_text);
	if (r < 0)
		stop(s, r);
}

static void XMLCALL on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	struct xml_state *s = data;

	(void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
	/* AWS never sends a DTD; refusing one rules out entity expansion attacks. */
	(void)akr_error_malformed(&s->err, "XML document type declarations are not accepted");
	stop(s, -EBADMSG);
}

static void XMLCALL on_entity(void *data, const XML_Char *name, int is_param, const XML_Char *value,
			      int value_len, const XML_Char *base, const XML_Char *sysid,
			      const XML_Char *pubid, const XML_Char *notation)
{
	struct xml_state *s = data;

	(void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid;
	(void)pubid, (void)notation;
	(void)akr_error_malformed(&s->err, "XML entity declarations are not accepted");
	stop(s, -EBADMSG);
}

static void add_position(struct xml_state *s)
{
	akr_docread_add_position(&s->err, (unsigned long)XML_GetCurrentLineNumber(s->parser),
				 (unsigned long)XML_GetCurrentColumnNumber(s->parser) + 1);
}

int akr_xml_parse(const char *data, size_t len, const struct akr_xml_limits *limits,
		  const struct akr_xml_handler *h, void *userdata, struct akr_error *reterr)
{
	struct xml_state s = { .h = h, .userdata = userdata };
	size_t off = 0;
	int r = 0;

	if (limits)
		s.limits = *limits;
	s.limits.max_depth = akr_docread_limit(s.limits.max_depth, AKR_XML_MAX_DEPTH_DEFAULT);
	s.limits.max_text = akr_docread_limit(s.limits.max_text, AKR_XML_MAX_TEXT_DEFAULT);
	s.limits.max_elements =
	    akr_docread_limit(s.limits.max_elements, AKR_XML_MAX_ELEMENTS_DEFAULT);
	if (!data && len)
		return -EINVAL;

	s.names = calloc(s.limits.max_depth, sizeof(char *));
	if (!s.names)
		return -ENOMEM;
	akr_buf_init(&s.text, s.limits.max_text, s.limits.sensitive);
	s.parser = XML_ParserCreate_MM(NULL, s.limits.sensitive ? &wipe_suite : NULL, "\x01");
	if (!s.parser) {
		free(s.names);
		return -ENOMEM;
	}
	XML_SetUserData(s.parser, &s);
	XML_SetElementHandler(s.parser, on_start, on_end);
	XML_SetCharacterDataHandler(s.parser, on_text);
	XML_SetStartDoctypeDeclHandler(s.parser, on_doctype);
	XML_SetEntityDeclHandler(s.parser, on_entity);

	do {
		size_t n = len - off < FEED_CHUNK ? len - off : FEED_CHUNK;
		bool final = off + n == len;

		if (XML_Parse(s.parser, data ? data + off : "", (int)n, final) != XML_STATUS_OK) {
			if (s.r == 0) {
				enum XML_Error code = XML_GetErrorCode(s.parser);

				s.r = code == XML_ERROR_NO_MEMORY ? -ENOMEM : -EBADMSG;
				(void)akr_error_malformed(&s.err, "malformed XML: %s",
				                          XML_ErrorString(code));
			} else if (s.err.kind == AKR_ERROR_NONE && s.r != -ENOMEM) {
				(void)akr_error_malformed(&s.err, "unexpected XML content");
			}
			if (s.err.kind != AKR_ERROR_NONE)
				add_position(&s);
			r = s.r;
			break;
		}
		off += n;
	} while (off < len);

	XML_ParserFree(s.parser);
	while (s.depth > 0)
		free(s.names[--s.depth]);
	free(s.names);
	akr_buf_done(&s.text);
	if (r < 0 && reterr)
		*reterr = s.err;
	return r;
}

bool akr_xml_path_is(const struct akr_xml_path *path, const char *pattern)
{
	/* "" matches nothing here: every document has a root element. */
	return *pattern && akr_docread_path_is(path->names, path->depth, pattern);
}

int akr_xml_dup_text(const char *text, size_t len, char **dst, const char *field,
		     struct akr_error *err)
{
	char *s;

	if (*dst)
		return akr_error_malformed(err, "duplicate element '%s'", field);
	if (memchr(text, '\0', len))
		return akr_error_malformed(err, "element '%s' contains a NUL byte", field);
	s = strndup(text, len);
	if (!s)
		return -ENOMEM;
	*dst = s;
	return 0;
}
