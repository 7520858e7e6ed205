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
#include "lib/base/json.h"
#include "tests/unit/testutil.h"

struct collect {
	struct akr_buf log;
	char *id;
};

static void put_path(struct akr_buf *b, const struct akr_json_path *p)
{
	for (size_t i = 0; i < p->depth; i++)
		(void)akr_buf_appendf(b, "%s%s", i ? "/" : "", p->names[i]);
}

static int c_start(void *ud, const struct akr_json_path *p, enum akr_json_type t,
		   struct akr_error *err)
{
	struct collect *c = ud;

	(void)err;
	(void)akr_buf_append_str(&c->log, t == AKR_JSON_OBJECT ? "{" : "[");
	put_path(&c->log, p);
	return akr_buf_append_str(&c->log, " ");
}

static int c_end(void *ud, const struct akr_json_path *p, enum akr_json_type t,
		 struct akr_error *err)
{
	struct collect *c = ud;

	(void)err;
	(void)akr_buf_append_str(&c->log, t == AKR_JSON_OBJECT ? "}" : "]");
	put_path(&c->log, p);
	return akr_buf_append_str(&c->log, " ");
}

static int c_value(void *ud, const struct akr_json_path *p, enum akr_json_type t, const char *text,
		   size_t len, struct akr_error *err)
{
	struct collect *c = ud;

	if (akr_json_path_is(p, "Accounts/[]/Id"))
		return akr_json_dup_string(t, text, len, &c->id, "Id", err);
	put_path(&c->log, p);
	return akr_buf_appendf(&c->log, "=%s:%s ", akr_json_type_to_string(t), text);
}

static const struct akr_json_handler handler = { .start = c_start, .end = c_end, .value = c_value };

static int parse(struct collect *c, const char *doc, const struct akr_json_limits *l,
		 struct akr_error *err)
{
	akr_buf_init(&c->log, 1 << 16, false);
	return akr_json_parse(doc, strlen(doc), l, &handler, c, err);
}

static void collect_done(struct collect *c)
{
	akr_buf_done(&c->log);
	free(c->id);
}

static void test_paths(void **state)
{
	struct collect c = { 0 };

	(void)state;
	assert_int_equal(parse(&c,
			       "{\"Accounts\": [{\"Id\": \"2222\", \"T\": 1.5e3, \"N\": null}], "
			       "\"NextToken\": \"a\\\"b\", \"B\": true}",
			       NULL, NULL),
			 0);
	assert_string_equal(c.id, "2222");
	assert_string_equal(c.log.data, "{ [Accounts {Accounts/[] Accounts/[]/T=number:1.5e3 "
					"Accounts/[]/N=null:null }Accounts/[] ]Accounts "
					"NextToken=string:a\"b B=boolean:true } ");
	collect_done(&c);

	c = (struct collect){ 0 };
	assert_int_equal(parse(&c, "\"top\"", NULL, NULL), 0);
	assert_string_equal(c.log.data, "=string:top ");
	collect_done(&c);
}

static void test_path_is(void **state)
{
	const char *names[] = { "Accounts", "[]", "Id" };
	struct akr_json_path p = { .names = names, .depth = 3 };
	struct akr_json_path root = { .names = names, .depth = 0 };

	(void)state;
	assert_true(akr_json_path_is(&p, "Accounts/[]/Id"));
	assert_true(akr_json_path_is(&p, "Accounts/*/Id"));
	assert_false(akr_json_path_is(&p, "Accounts/[]"));
	assert_false(akr_json_path_is(&p, ""));
	assert_true(akr_json_path_is(&root, ""));
	assert_false(akr_json_path_is(&root, "Accounts"));
}

static void expect_error(const char *doc, const struct akr_json_limits *l, int want,
			 const char *needle)
{
	struct collect c = { 0 };
	struct akr_error err = { 0 };

	testutil_expect_error(parse(&c, doc, l, &err), &err, want, AKR_ERROR_PARSE, needle);
	collect_done(&c);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("", NULL, -EBADMSG, "malformed JSON");
	expect_error("{\"a\": [1, 2", NULL, -EBADMSG, "malformed JSON");
	expect_error("{\"a\":\n  tru}", NULL, -EBADMSG, "line 2");
	expect_error("{\"a\": 1} x", NULL, -EBADMSG, "trailing garbage");
	expect_error("{\"a\": 1,}", NULL, -EBADMSG, "malformed JSON");
	expect_error("{\"a\": \"\xff\"}", NULL, -EBADMSG, "malformed JSON");
	expect_error("{\"Accounts\": [{\"Id\": 7}]}", NULL, -EBADMSG, "'Id' is a JSON number");
	expect_error("{\"Accounts\": [{\"Id\": \"a\", \"Id\": \"b\"}]}", NULL, -EBADMSG,
		     "duplicate key 'Id'");
	expect_error("{\"Accounts\": [{\"Id\": \"a\\u0000b\"}]}", NULL, -EBADMSG, "NUL");
}

static void test_limits(void **state)
{
	struct akr_json_limits l = { .max_depth = 2, .max_string = 4, .max_items = 3 };
	struct collect c = { 0 };

	(void)state;
	expect_error("[[[1]]]", &l, -E2BIG, "deeper than 2");
	expect_error("[\"12345\"]", &l, -E2BIG, "longer than 4");
	expect_error("{\"12345\": 1}", &l, -E2BIG, "longer than 4");
	expect_error("[1, 2, 3, 4]", &l, -E2BIG, "more than 3 items");
	expect_error("{\"a\": 1, \"b\": 1, \"c\": 1, \"d\": 1}", &l, -E2BIG, "more than 3 members");
	l.max_values = 3;
	expect_error("[[1], 2]", &l, -E2BIG, "more than 3 values");
	l.max_values = 0;
	assert_int_equal(parse(&c, "[[1, 2, 3], \"1234\"]", &l, NULL), 0);
	collect_done(&c);
	l.sensitive = true;
	c = (struct collect){ 0 };
	assert_int_equal(parse(&c, "[\"s\\u00e9\"]", &l, NULL), 0);
	assert_string_equal(c.log.data, "[ []=string:s\xc3\xa9 ] ");
	collect_done(&c);
}

static void test_writer(void **state)
{
	_cleanup_buf_ struct akr_buf b = { 0 };

	(void)state;
	akr_buf_init(&b, 64, false);
	assert_int_equal(akr_json_append_string(&b, "a\"b\\c\n\x01" "\xc3\xa9", 9), 0);
	assert_string_equal(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"");
	akr_buf_done(&b);
	akr_buf_init(&b, 4, false);
	assert_int_equal(akr_json_append_string(&b, "abcdef", 6), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_path_is),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
