#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/base/xml.h"
#include "tests/unit/testutil.h"

struct collect {
	struct akr_buf log;
	char *user;
	int fail_at_end; /* return this from end() on <Fail> */
};

static int c_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	struct collect *c = userdata;

	(void)err;
	return akr_buf_appendf(&c->log, "+%s/%zu ", akr_xml_path_name(path), path->depth);
}

static int c_end(void *userdata, const struct akr_xml_path *path, const char *text, size_t len,
		 struct akr_error *err)
{
	struct collect *c = userdata;

	if (strcmp(akr_xml_path_name(path), "Fail") == 0 && c->fail_at_end)
		return akr_error_malformed(err, "callback says no");
	if (akr_xml_path_is(path, "*/ListUsersResult/Users/member/UserName"))
		return akr_xml_dup_text(text, len, &c->user, "UserName", err);
	return akr_buf_appendf(&c->log, "-%s[%s] ", akr_xml_path_name(path), text);
}

static const struct akr_xml_handler handler = { .start = c_start, .end = c_end };

static int parse(struct collect *c, const char *doc, const struct akr_xml_limits *l,
		 struct akr_error *err)
{
	akr_buf_init(&c->log, 1 << 16, false);
	return akr_xml_parse(doc, strlen(doc), l, &handler, c, err);
}

static void collect_done(struct collect *c)
{
	akr_buf_done(&c->log);
	free(c->user);
}

static void test_paths_namespaces(void **state)
{
	static const char doc[] =
		"<?xml version=\"1.0\"?>\n"
		"<ListUsersResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n"
		"  <ListUsersResult><Users><member><UserName>al&amp;ice</UserName></member></Users>"
		"</ListUsersResult></ListUsersResponse>";
	static const char prefixed[] =
		"<a:ListUsersResponse xmlns:a=\"urn:x\"><a:ListUsersResult><a:Users><a:member>"
		"<a:UserName>bob</a:UserName></a:member></a:Users></a:ListUsersResult>"
		"</a:ListUsersResponse>";
	struct collect c = { 0 };
	struct akr_error err = { 0 };

	(void)state;
	assert_int_equal(parse(&c, doc, NULL, &err), 0);
	assert_string_equal(c.user, "al&ice");
	assert_non_null(strstr(c.log.data, "+ListUsersResponse/1 +ListUsersResult/2"));
	collect_done(&c);

	c = (struct collect){ 0 };
	assert_int_equal(parse(&c, prefixed, NULL, &err), 0);
	assert_string_equal(c.user, "bob");
	collect_done(&c);
}

static void test_own_text_only(void **state)
{
	struct collect c = { 0 };

	(void)state;
	assert_int_equal(parse(&c, "<a>x<b>in</b></a>", NULL, NULL), 0);
	assert_string_equal(c.log.data, "+a/1 +b/2 -b[in] -a[] ");
	collect_done(&c);
}

static void test_path_is(void **state)
{
	const char *names[] = { "A", "B", "C" };
	struct akr_xml_path p = { .names = names, .depth = 3 };

	(void)state;
	assert_true(akr_xml_path_is(&p, "A/B/C"));
	assert_true(akr_xml_path_is(&p, "*/B/C"));
	assert_true(akr_xml_path_is(&p, "*/*/*"));
	assert_false(akr_xml_path_is(&p, "A/B"));
	assert_false(akr_xml_path_is(&p, "A/B/C/D"));
	assert_false(akr_xml_path_is(&p, "A/B/CC"));
	assert_false(akr_xml_path_is(&p, "A/BB/C"));
	assert_false(akr_xml_path_is(&p, ""));
}

static void expect_error(const char *doc, const struct akr_xml_limits *l, int want,
			 const char *needle)
{
	struct collect c = { .fail_at_end = 1 };
	struct akr_error err = { 0 };

	testutil_expect_error(parse(&c, doc, l, &err), &err, want, AKR_ERROR_PARSE, needle);
	collect_done(&c);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("", NULL, -EBADMSG, "line 1, column 1");
	expect_error("<a><b></a>", NULL, -EBADMSG, "mismatched tag");
	expect_error("<a>\n<b>text</b>\n<c", NULL, -EBADMSG, "line 3");
	expect_error("<ListUsersResponse><ListUsersResult>", NULL, -EBADMSG, "malformed XML");
	expect_error("<a>&bogus;</a>", NULL, -EBADMSG, "malformed XML");
	expect_error("<a></a><b/>", NULL, -EBADMSG, "junk after document element");
	expect_error("<x:a/>", NULL, -EBADMSG, "unbound prefix");
	expect_error("<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>", NULL, -EBADMSG,
		     "document type declarations");
	expect_error("<!DOCTYPE a><a/>", NULL, -EBADMSG, "document type declarations");
	expect_error("<a><Fail/></a>", NULL, -EBADMSG, "callback says no at line 1");
}

static void test_limits(void **state)
{
	struct akr_xml_limits l = { .max_depth = 3, .max_text = 8, .max_elements = 4 };
	struct collect c = { 0 };

	(void)state;
	expect_error("<a><b><c><d/></c></b></a>", &l, -E2BIG, "deeper than 3");
	expect_error("<a>123456789</a>", &l, -E2BIG, "more than 8 bytes");
	expect_error("<a><b/><b/><b/><b/></a>", &l, -E2BIG, "more than 4 elements");
	assert_int_equal(parse(&c, "<a><b>12345678</b><b/><b/></a>", &l, NULL), 0);
	collect_done(&c);

	/* Sensitive mode parses the same. */
	l.sensitive = true;
	c = (struct collect){ 0 };
	assert_int_equal(parse(&c, "<a><b>secret</b></a>", &l, NULL), 0);
	assert_string_equal(c.log.data, "+a/1 +b/2 -b[secret] -a[] ");
	collect_done(&c);
}

static void test_duplicate(void **state)
{
	(void)state;
	expect_error("<R><ListUsersResult><Users><member><UserName>a</UserName>"
		     "<UserName>b</UserName></member></Users></ListUsersResult></R>",
		     NULL, -EBADMSG, "duplicate element 'UserName'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_namespaces),
		cmocka_unit_test(test_own_text_only),
		cmocka_unit_test(test_path_is),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_duplicate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
