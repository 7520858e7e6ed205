#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "lib/aws/client.h"
#include "lib/aws/sts.h"
#include "lib/aws/assumed_role.h"
#include "lib/aws/creds.h"
#include "lib/aws/endpoints.h"
#include "lib/base/error.h"
#include "lib/http/engine.h"
#include "lib/aws/imds.h"
#include "lib/base/secret.h"
#include "tests/unit/testutil.h"

#define EXAMPLE_AKID "AKIAIOSFODNN7EXAMPLE"
#define EXAMPLE_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static char tmpdir[] = "/tmp/akr-creds-XXXXXX";

static const char *const env_vars[] = {
	"AWS_ACCESS_KEY_ID",       "AWS_SECRET_ACCESS_KEY",  "AWS_SESSION_TOKEN",
	"AWS_PROFILE",             "AWS_CONFIG_FILE",        "AWS_SHARED_CREDENTIALS_FILE",
	"CREDENTIALS_DIRECTORY",   "AWS_REGION",             "AWS_DEFAULT_REGION",
	"AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
	"AWS_ENDPOINT_URL",        "AWS_METADATA_SERVICE_TIMEOUT",
	"AWS_EC2_METADATA_V1_DISABLED",
};

static void path_in_tmp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void write_file(const char *name, const char *text)
{
	char path[512];

	path_in_tmp(path, sizeof(path), name);
	testutil_write_file(path, text);
}

static void use_file(const char *var, const char *name, const char *text)
{
	char path[512];

	write_file(name, text);
	path_in_tmp(path, sizeof(path), name);
	assert_int_equal(setenv(var, path, 1), 0);
}

static int setup(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(env_vars); i++)
		unsetenv(env_vars[i]);
	/* Never read the real ~/.aws of whoever runs the tests, nor a real IMDS. */
	setenv("HOME", tmpdir, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	return 0;
}

static int load(struct akr_aws_creds *c, struct akr_creds_role *role,
		enum akr_creds_source *src, struct akr_error *err)
{
	akr_error_clear(err);
	*c = (struct akr_aws_creds){ 0 };
	*role = (struct akr_creds_role){ 0 };
	*src = AKR_CREDS_SOURCE_NONE;
	return akr_creds_load_static(NULL, c, role, src, err);
}

/* ---- sources without network ------------------------------------------- */

static void test_env(void **state)
{
	struct akr_aws_creds c;
	struct akr_creds_role role;
	enum akr_creds_source src;
	struct akr_error err;

	assert_int_equal(load(&c, &role, &src, &err), 0);

	setenv("AWS_ACCESS_KEY_ID", EXAMPLE_AKID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET, 1);
	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_int_equal(src, AKR_CREDS_SOURCE_ENV);
	assert_string_equal(c.access_key_id, EXAMPLE_AKID);
	assert_string_equal(akr_secret_str(c.secret_access_key), EXAMPLE_SECRET);
	assert_null(c.session_token);
	akr_aws_creds_done(&c);

	setenv("AWS_SESSION_TOKEN", "session-token", 1);
	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_string_equal(akr_secret_str(c.session_token), "session-token");
	akr_aws_creds_done(&c);

	/* The environment wins over a profile. */
	use_file("AWS_SHARED_CREDENTIALS_FILE", "credentials",
		 "[default]\naws_access_key_id = AKIAPROFILE000000000\naws_secret_access_key = s\n");
	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_int_equal(src, AKR_CREDS_SOURCE_ENV);
	akr_aws_creds_done(&c);
}

static void test_env_half_pair(void **state)
{
	struct akr_aws_creds c;
	struct akr_creds_role role;
	enum akr_creds_source src;
	struct akr_error err;

	setenv("AWS_ACCESS_KEY_ID", EXAMPLE_AKID, 1);
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	assert_non_null(strstr(err.message, "AWS_SECRET_ACCESS_KEY"));
	assert_non_null(strstr(err.message, "environment"));
	assert_null(c.access_key_id);

	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET, 1);
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	assert_non_null(strstr(err.message, "AWS_ACCESS_KEY_ID is not"));
	/* The secret never appears in an error. */
	assert_null(strstr(err.message, EXAMPLE_SECRET));
}

static void test_profiles(void **state)
{
	struct akr_aws_creds c;
	struct akr_creds_role role;
	enum akr_creds_source src;
	struct akr_error err;

	use_file("AWS_SHARED_CREDENTIALS_FILE", "credentials",
		 "[default]\n"
		 "aws_access_key_id = AKIADEFAULT000000000\n"
		 "aws_secret_access_key = default-secret\n"
		 "[dev]\n"
		 "aws_access_key_id = AKIADEV0000000000000\n"
		 "aws_secret_access_key = dev-secret\n"
		 "aws_session_token = dev-token\n"
		 "[half]\n"
		 "\n"
		 "aws_access_key_id = AKIAHALF000000000000\n");
	use_file("AWS_CONFIG_FILE", "config",
		 "[default]\n"
		 "region = eu-west-3\n"
		 "[profile cfgonly]\n"
		 "aws_access_key_id = AKIACFG0000000000000\n"
		 "aws_secret_access_key = cfg-secret\n"
		 "[profile admin]\n"
		 "role_arn = arn:aws:iam::111111111111:role/provisioning-admin\n"
		 "source_profile = dev\n"
		 "external_id = ext-1\n"
		 "role_session_name = rotator\n"
		 "duration_seconds = 1800\n"
		 "[profile badduration]\n"
		 "role_arn = arn:aws:iam::111111111111:role/x\n"
		 "source_profile = dev\n"
		 "duration_seconds = 60\n"
		 "[profile chained]\n"
		 "role_arn = arn:aws:iam::111111111111:role/y\n"
		 "source_profile = admin\n"
		 "[profile nosource]\n"
		 "role_arn = arn:aws:iam::111111111111:role/z\n"
		 "[profile keyless]\n"
		 "region = us-west-1\n");

	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_int_equal(src, AKR_CREDS_SOURCE_PROFILE);
	assert_string_equal(c.access_key_id, "AKIADEFAULT000000000");
	akr_aws_creds_done(&c);

	setenv("AWS_PROFILE", "dev", 1);
	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_string_equal(c.access_key_id, "AKIADEV0000000000000");
	assert_string_equal(akr_secret_str(c.session_token), "dev-token");
	akr_aws_creds_done(&c);

	setenv("AWS_PROFILE", "cfgonly", 1);
	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_string_equal(akr_secret_str(c.secret_access_key), "cfg-secret");
	akr_aws_creds_done(&c);

	/* role_arn + source_profile: the source's keys and the role to assume. */
	setenv("AWS_PROFILE", "admin", 1);
	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_int_equal(src, AKR_CREDS_SOURCE_ASSUME_ROLE);
	assert_string_equal(c.access_key_id, "AKIADEV0000000000000");
	assert_string_equal(role.role_arn, "arn:aws:iam::111111111111:role/provisioning-admin");
	assert_string_equal(role.source_profile, "dev");
	assert_string_equal(role.external_id, "ext-1");
	assert_string_equal(role.session_name, "rotator");
	assert_int_equal(role.duration_sec, 1800);
	akr_aws_creds_done(&c);
	akr_creds_role_done(&role);

	/* Errors name the file and line at fault. */
	setenv("AWS_PROFILE", "half", 1);
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	assert_non_null(strstr(err.message, "/credentials:10"));
	assert_non_null(strstr(err.message, "aws_secret_access_key"));
	setenv("AWS_PROFILE", "badduration", 1);
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	assert_non_null(strstr(err.message, "/config:15"));
	setenv("AWS_PROFILE", "chained", 1);
	assert_int_equal(load(&c, &role, &src, &err), -EOPNOTSUPP);
	setenv("AWS_PROFILE", "nosource", 1);
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	assert_non_null(strstr(err.message, "/config:20"));
	setenv("AWS_PROFILE", "keyless", 1);
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	setenv("AWS_PROFILE", "missing", 1);
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	assert_non_null(strstr(err.message, "'missing' not found"));
	/* Without a role-capable caller a role profile is refused. */
	setenv("AWS_PROFILE", "admin", 1);
	assert_int_equal(akr_creds_load_static(NULL, &c, NULL, &src, &err), -EOPNOTSUPP);

	/* A broken file is an error with its line, not a silent skip. */
	unsetenv("AWS_PROFILE");
	use_file("AWS_CONFIG_FILE", "config", "[default]\nthis is not ini\n");
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	assert_non_null(strstr(err.message, "/config:2"));
}

static void test_systemd_credentials(void **state)
{
	struct akr_aws_creds c;
	struct akr_creds_role role;
	enum akr_creds_source src;
	struct akr_error err;
	char dir[512];

	path_in_tmp(dir, sizeof(dir), "creds.d");
	assert_int_equal(mkdir(dir, 0700), 0);
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	assert_int_equal(load(&c, &role, &src, &err), 0);

	write_file("creds.d/aws_access_key_id", "AKIASYSTEMD000000000\n");
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	assert_non_null(strstr(err.message, "systemd credentials"));
	assert_non_null(strstr(err.message, "aws_secret_access_key"));

	write_file("creds.d/aws_secret_access_key", "  systemd-secret\n");
	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_int_equal(src, AKR_CREDS_SOURCE_SYSTEMD);
	assert_string_equal(c.access_key_id, "AKIASYSTEMD000000000");
	assert_string_equal(akr_secret_str(c.secret_access_key), "systemd-secret");
	assert_null(c.session_token);
	akr_aws_creds_done(&c);

	write_file("creds.d/aws_session_token", "systemd-token");
	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_string_equal(akr_secret_str(c.session_token), "systemd-token");
	akr_aws_creds_done(&c);

	write_file("creds.d/aws_secret_access_key", "two\nlines\n");
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);

	/* The INI form, for the chosen profile. */
	path_in_tmp(dir, sizeof(dir), "creds.d/aws_access_key_id");
	unlink(dir);
	path_in_tmp(dir, sizeof(dir), "creds.d/aws_secret_access_key");
	unlink(dir);
	write_file("creds.d/aws-credentials", "[default]\naws_access_key_id = AKIAINI0000000000000\n"
					      "aws_secret_access_key = ini-secret\n");
	assert_int_equal(load(&c, &role, &src, &err), 1);
	assert_int_equal(src, AKR_CREDS_SOURCE_SYSTEMD);
	assert_string_equal(c.access_key_id, "AKIAINI0000000000000");
	akr_aws_creds_done(&c);
	setenv("AWS_PROFILE", "other", 1);
	assert_int_equal(load(&c, &role, &src, &err), -EINVAL);
	assert_non_null(strstr(err.message, "'other'"));
}

static void test_region(void **state)
{
	struct akr_error err;
	char *region = NULL;

	assert_int_equal(akr_creds_resolve_region(NULL, &region, &err), 0);
	assert_string_equal(region, "us-east-1");
	free(region);

	use_file("AWS_CONFIG_FILE", "config",
		 "[default]\nregion = eu-west-3\n[profile p]\nregion = ap-south-1\n"
		 "[profile bad]\nregion = Mars 1\n");
	assert_int_equal(akr_creds_resolve_region(NULL, &region, &err), 0);
	assert_string_equal(region, "eu-west-3");
	free(region);
	assert_int_equal(akr_creds_resolve_region("p", &region, &err), 0);
	assert_string_equal(region, "ap-south-1");
	free(region);
	setenv("AWS_PROFILE", "p", 1);
	assert_int_equal(akr_creds_resolve_region(NULL, &region, &err), 0);
	assert_string_equal(region, "ap-south-1");
	free(region);
	assert_int_equal(akr_creds_resolve_region("bad", &region, &err), -EINVAL);
	assert_non_null(strstr(err.message, "/config:6"));

	setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
	assert_int_equal(akr_creds_resolve_region(NULL, &region, &err), 0);
	assert_string_equal(region, "eu-central-1");
	free(region);
	setenv("AWS_REGION", "sa-east-1", 1);
	assert_int_equal(akr_creds_resolve_region(NULL, &region, &err), 0);
	assert_string_equal(region, "sa-east-1");
	free(region);
}

/* ---- the asynchronous provider ------------------------------------------ */

struct waiter {
	bool done;
	int r;
	struct akr_error err;
};

static void refresh_done(void *userdata, int r, const struct akr_error *err)
{
	struct waiter *w = userdata;

	assert_false(w->done);
	w->done = true;
	w->r = r;
	if (err)
		w->err = *err;
}

static void run_until(uv_loop_t *loop, const struct waiter *w)
{
	for (int i = 0; !w->done && i < 100000; i++)
		uv_run(loop, UV_RUN_ONCE);
	assert_true(w->done);
}

static void close_loop(uv_loop_t *loop, struct akr_http *http)
{
	akr_http_free(http);
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

static void test_provider_without_network(void **state)
{
	struct akr_creds_options opts = { 0 };
	struct akr_creds_provider *p = NULL;
	struct akr_aws_identity *id;
	struct waiter w = { 0 };
	uv_loop_t loop;

	assert_int_equal(uv_loop_init(&loop), 0);
	opts.loop = &loop;
	assert_int_equal(akr_creds_provider_new(&opts, &p), 0);
	id = akr_creds_provider_identity(p);

	/* Nothing anywhere and IMDS disabled: -ENOKEY, from the loop. */
	assert_int_equal(akr_creds_provider_resolve(p, refresh_done, &w), 0);
	assert_false(w.done);
	run_until(&loop, &w);
	assert_int_equal(w.r, -ENOKEY);
	assert_non_null(strstr(w.err.message, "no AWS credentials"));

	/* Half a pair: the source's error reaches the caller. */
	w = (struct waiter){ 0 };
	setenv("AWS_ACCESS_KEY_ID", EXAMPLE_AKID, 1);
	assert_int_equal(akr_creds_provider_resolve(p, refresh_done, &w), 0);
	run_until(&loop, &w);
	assert_int_equal(w.r, -EINVAL);
	assert_non_null(strstr(w.err.message, "AWS_SECRET_ACCESS_KEY"));

	w = (struct waiter){ 0 };
	setenv("AWS_SECRET_ACCESS_KEY", EXAMPLE_SECRET, 1);
	assert_int_equal(akr_creds_provider_resolve(p, refresh_done, &w), 0);
	run_until(&loop, &w);
	assert_int_equal(w.r, 0);
	assert_int_equal(akr_creds_provider_source(p), AKR_CREDS_SOURCE_ENV);
	assert_string_equal(id->creds.access_key_id, EXAMPLE_AKID);

	/* Freed with an answer pending: the waiter hears -ECANCELED once. */
	w = (struct waiter){ 0 };
	assert_int_equal(akr_creds_provider_resolve(p, refresh_done, &w), 0);
	p = akr_creds_provider_free(p);
	assert_true(w.done);
	assert_int_equal(w.r, -ECANCELED);
	close_loop(&loop, NULL);
}

/* ---- helpers for the python servers -------------------------------------- */

struct server {
	struct testutil_server srv;
	const char *url; /* srv.url */
	const char *log; /* srv.log */
};

/* Starts @script (relative to the source tree) with "@arg1 @arg2", its
 * stderr in the test directory's @logname; fails the test if it does not start. */
static void server_start(struct server *s, const char *script, const char *arg1,
			 const char *arg2, const char *logname)
{
	const char *args[] = { arg1, arg2, NULL };
	char log[512];

	path_in_tmp(log, sizeof(log), logname);
	testutil_server_start(&s->srv, script, args, log);
	s->url = s->srv.url;
	s->log = s->srv.log;
}

static void server_stop(struct server *s)
{
	testutil_server_stop(&s->srv);
}

/* ---- IMDSv2 ------------------------------------------------------------- */

static void imds_resolve(const char *mode, struct waiter *w, struct akr_creds_provider **ret_p,
			 uv_loop_t *loop, struct akr_http **ret_http, struct server *s)
{
	struct akr_creds_options opts = { 0 };

	server_start(s, "tests/unit/creds_imds_server.py", "--mode", mode, "imds.log");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", s->url, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
	assert_int_equal(uv_loop_init(loop), 0);
	assert_int_equal(akr_http_new(loop, NULL, ret_http), 0);
	opts.loop = loop;
	opts.http = *ret_http;
	assert_int_equal(akr_creds_provider_new(&opts, ret_p), 0);
	*w = (struct waiter){ 0 };
	assert_int_equal(akr_creds_provider_resolve(*ret_p, refresh_done, w), 0);
	run_until(loop, w);
}

static void test_imds(void **state)
{
	struct akr_creds_provider *p = NULL;
	struct akr_http *http = NULL;
	struct akr_aws_identity *id;
	struct server s;
	struct waiter w;
	uv_loop_t loop;
	char *log;

	imds_resolve("ok", &w, &p, &loop, &http, &s);
	server_stop(&s);
	assert_int_equal(w.r, 0);
	assert_int_equal(akr_creds_provider_source(p), AKR_CREDS_SOURCE_IMDS);
	id = akr_creds_provider_identity(p);
	assert_string_equal(id->creds.access_key_id, "ASIAIMDSEXAMPLE00001");
	assert_string_equal(akr_secret_str(id->creds.secret_access_key),
			    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYIMDSSECRET");
	assert_string_equal(akr_secret_str(id->creds.session_token),
			    "IQoJb3JpZ2luX2VjEIMDS//////////token");
	assert_int_equal(id->creds.expiration_sec, 1894723200); /* 2030-01-15T16:00:00Z */
	/* The token dance happened: PUT first, then both GETs carried the token
	 * (the server answers 401 without it). */
	log = testutil_slurp(s.log);
	assert_non_null(strstr(log, "PUT /latest/api/token token=no\n"
				    "GET /latest/meta-data/iam/security-credentials/ token=yes\n"
				    "GET /latest/meta-data/iam/security-credentials/"
				    "akr-test-instance-role token=yes\n"));
	free(log);
	akr_creds_provider_free(p);
	close_loop(&loop, http);
}

static void test_imds_failures(void **state)
{
	struct akr_creds_provider *p = NULL;
	struct akr_http *http = NULL;
	struct server s;
	struct waiter w;
	uv_loop_t loop;

	/* A 200 whose Code is not Success is a failure. */
	imds_resolve("failure", &w, &p, &loop, &http, &s);
	server_stop(&s);
	assert_int_equal(w.r, -EBADMSG);
	assert_non_null(strstr(w.err.message, "AssumeRoleUnauthorizedAccess"));
	akr_creds_provider_free(p);
	close_loop(&loop, http);

	/* IMDSv1 only: the token request is refused; we go on without a token
	 * unless told not to. */
	imds_resolve("v1only", &w, &p, &loop, &http, &s);
	assert_int_equal(w.r, 0);
	akr_creds_provider_free(p);
	close_loop(&loop, http);
	server_stop(&s);

	setenv("AWS_EC2_METADATA_V1_DISABLED", "true", 1);
	imds_resolve("v1only", &w, &p, &loop, &http, &s);
	server_stop(&s);
	assert_int_equal(w.r, -EPROTO);
	akr_creds_provider_free(p);
	close_loop(&loop, http);
}

/* ---- AssumeRole through the fake AWS endpoint ---------------------------- */

/* Starts tests/fakeaws; fails the test if it does not start (a missing
 * prerequisite is a failure, never a skip). */
static void fake_start(struct server *s)
{
	server_start(s, "tests/fakeaws", "--port", "0", "fakeaws.log");
	setenv("AWS_ENDPOINT_URL", s->url, 1);
}

static void test_profile_assume_role_via_fake(void **state)
{
	struct akr_creds_options opts = { 0 };
	struct akr_creds_provider *p = NULL;
	struct akr_http *http = NULL;
	struct akr_endpoints ep;
	struct akr_aws_identity *id;
	struct akr_error err;
	struct server s;
	struct waiter w = { 0 };
	uv_loop_t loop;

	fake_start(&s);
	use_file("AWS_SHARED_CREDENTIALS_FILE", "credentials",
		 "[base]\naws_access_key_id = " EXAMPLE_AKID "\n"
		 "aws_secret_access_key = " EXAMPLE_SECRET "\n");
	use_file("AWS_CONFIG_FILE", "config",
		 "[profile admin]\n"
		 "role_arn = arn:aws:iam::111111111111:role/provisioning-admin\n"
		 "source_profile = base\n"
		 "role_session_name = akr-unit-test\n");
	setenv("AWS_PROFILE", "admin", 1);
	assert_int_equal(akr_endpoints_resolve(&ep, "us-east-1", NULL, &err), 0);

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(akr_http_new(&loop, NULL, &http), 0);
	opts = (struct akr_creds_options){
		.loop = &loop, .http = http, .endpoints = &ep, .region = "us-east-1",
	};
	assert_int_equal(akr_creds_provider_new(&opts, &p), 0);
	assert_int_equal(akr_creds_provider_resolve(p, refresh_done, &w), 0);
	run_until(&loop, &w);
	server_stop(&s);
	if (w.r < 0)
		print_error("assume role: %s\n", w.err.message);
	assert_int_equal(w.r, 0);
	id = akr_creds_provider_identity(p);
	assert_int_equal(akr_creds_provider_source(p), AKR_CREDS_SOURCE_ASSUME_ROLE);
	assert_string_equal(id->account_id, "111111111111");
	assert_true(strncmp(id->creds.access_key_id, "ASIA", 4) == 0);
	assert_non_null(id->creds.session_token);
	assert_true(id->creds.expiration_sec > 0);
	akr_creds_provider_free(p);
	close_loop(&loop, http);
	akr_endpoints_done(&ep);
}

static void test_assumed_role_identity_via_fake(void **state)
{
	struct akr_aws_identity base;
	struct akr_assumed_role *ar = NULL;
	struct akr_http *http = NULL;
	struct akr_endpoints ep;
	struct akr_aws_client parent;
	struct akr_error err;
	struct server s;
	struct waiter w = { 0 };
	uv_loop_t loop;
	struct akr_sts_assume_role_params params = {
		.role_arn = "arn:aws:iam::111111111111:role/provisioning-admin",
		.session_name = "akr-unit-test",
	};
	struct akr_aws_identity *id;

	/* Bad parameters are refused up front. */
	parent = (struct akr_aws_client){ 0 };
	params.role_arn = "arn:aws:iam::12345:role/x";
	assert_int_equal(akr_assumed_role_new(&parent, &params, &ar), -EINVAL);
	params.role_arn = "arn:aws:s3:::bucket";
	assert_int_equal(akr_assumed_role_new(&parent, &params, &ar), -EINVAL);
	params.role_arn = "arn:aws:iam::111111111111:role/provisioning-admin";
	params.session_name = "x";
	assert_int_equal(akr_assumed_role_new(&parent, &params, &ar), -EINVAL);
	params.session_name = "akr-unit-test";

	fake_start(&s);
	assert_int_equal(akr_endpoints_resolve(&ep, "us-east-1", NULL, &err), 0);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(akr_http_new(&loop, NULL, &http), 0);
	akr_aws_identity_init(&base);
	base.creds.access_key_id = strdup(EXAMPLE_AKID);
	base.creds.secret_access_key = akr_secret_new_str(EXAMPLE_SECRET);
	parent = (struct akr_aws_client){
		.http = http, .endpoints = &ep, .identity = &base, .region = "us-east-1",
	};
	assert_int_equal(akr_assumed_role_new(&parent, &params, &ar), 0);
	id = akr_assumed_role_identity(ar);
	assert_string_equal(id->account_id, "111111111111");
	assert_null(id->creds.access_key_id);

	assert_int_equal(akr_aws_identity_refresh(id, refresh_done, &w), 0);
	run_until(&loop, &w);
	if (w.r < 0)
		print_error("assume role: %s\n", w.err.message);
	assert_int_equal(w.r, 0);
	assert_true(strncmp(id->creds.access_key_id, "ASIA", 4) == 0);
	assert_non_null(strstr(akr_assumed_role_arn(ar), "assumed-role/provisioning-admin/"));

	/* A wrong parent secret: the STS error reaches the refresh caller. */
	akr_secret_free(base.creds.secret_access_key);
	base.creds.secret_access_key = akr_secret_new_str("wrong-secret");
	w = (struct waiter){ 0 };
	assert_int_equal(akr_aws_identity_refresh(id, refresh_done, &w), 0);
	run_until(&loop, &w);
	assert_true(w.r < 0);
	assert_int_equal(w.err.kind, AKR_ERROR_AWS);

	server_stop(&s);
	akr_assumed_role_free(ar);
	akr_aws_identity_done(&base);
	close_loop(&loop, http);
	akr_endpoints_done(&ep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_env, setup),
		cmocka_unit_test_setup(test_env_half_pair, setup),
		cmocka_unit_test_setup(test_profiles, setup),
		cmocka_unit_test_setup(test_systemd_credentials, setup),
		cmocka_unit_test_setup(test_region, setup),
		cmocka_unit_test_setup(test_provider_without_network, setup),
		cmocka_unit_test_setup(test_imds, setup),
		cmocka_unit_test_setup(test_imds_failures, setup),
		cmocka_unit_test_setup(test_profile_assume_role_via_fake, setup),
		cmocka_unit_test_setup(test_assumed_role_identity_via_fake, setup),
	};
	int r;

	if (!mkdtemp(tmpdir))
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	(void)testutil_rm_rf(tmpdir);
	return r;
}
