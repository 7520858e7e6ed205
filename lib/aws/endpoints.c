#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/aws/sharedconfig.h"
#include "lib/aws/endpoints.h"
#include "lib/base/error.h"
#include "lib/base/macro.h"

#define ENDPOINT_URL_MAX 2048

struct service_info {
	const char *env_suffix[2]; /* AWS_ENDPOINT_URL_<x>: serviceId upper-cased */
	const char *config_key[2]; /* key in a [services] section */
	const char *host_prefix;   /* endpointPrefix */
	const char *global_region; /* signing region of a global endpoint, or NULL */
};

/* aws-wire.md §1: SES v1 and SESv2 share a host and a signing name, so either
 * setting configures our SES client. */
static const struct service_info services[_AKR_SERVICE_MAX] = {
	[AKR_SERVICE_STS] = { { "STS", NULL }, { "sts", NULL }, "sts", NULL },
	[AKR_SERVICE_IAM] = { { "IAM", NULL }, { "iam", NULL }, "iam", "us-east-1" },
	[AKR_SERVICE_ORGANIZATIONS] = { { "ORGANIZATIONS", NULL },
					{ "organizations", NULL },
					"organizations",
					"us-east-1" },
	[AKR_SERVICE_SES] = { { "SES", "SESV2" }, { "ses", "sesv2" }, "email", NULL },
	[AKR_SERVICE_SNS] = { { "SNS", NULL }, { "sns", NULL }, "sns", NULL },
};

void akr_endpoints_done(struct akr_endpoints *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < _AKR_SERVICE_MAX; i++) {
		free(e->url[i]);
		free(e->signing_region[i]);
	}
	*e = (struct akr_endpoints){ 0 };
}

bool akr_endpoints_is_region(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 4 || n > 32 || !(s[0] >= 'a' && s[0] <= 'z') || !(s[n - 1] >= '0' && s[n - 1] <= '9') ||
	    !strchr(s, '-'))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static bool is_host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == ':' || c == '[' || c == ']' || c == '%';
}

/* An absolute http(s) URL that a path can be appended to: scheme, a host of
 * plain characters (names, IPv4, [IPv6], :port), an optional path prefix, no
 * query or fragment, nothing that could split an HTTP header. On success
 * *@ret is a copy without trailing '/'. */
static int normalize_url(const char *url, char **ret)
{
	const char *host, *end;
	size_t len;
	char *copy;

	if (!url)
		return -EINVAL;
	len = strlen(url);
	if (len == 0 || len > ENDPOINT_URL_MAX)
		return -EINVAL;
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' || *p == '#' ||
		    *p == '"' || *p == '\\')
			return -EINVAL;
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return -EINVAL;
	end = host + strcspn(host, "/");
	if (end == host || memchr(host, '@', (size_t)(end - host)))
		return -EINVAL;
	for (const char *p = host; p < end; p++)
		if (!is_host_char(*p))
			return -EINVAL;
	if (host[0] == ':' || end[-1] == ':')
		return -EINVAL;

	while (len > (size_t)(end - url) && url[len - 1] == '/')
		len--;
	copy = strndup(url, len);
	if (!copy)
		return -ENOMEM;
	*ret = copy;
	return 0;
}

/* The first configured URL for @s and where it came from (for errors). */
static const char *configured_url(enum akr_service s, const struct akr_awsconfig *cfg,
				  const char *profile, char *where, size_t where_size)
{
	const struct service_info *si = &services[s];
	const char *v, *services_name;
	unsigned line = 0;

	for (size_t k = 0; k < ELEMENTSOF(si->env_suffix) && si->env_suffix[k]; k++) {
		char name[64];

		snprintf(name, sizeof(name), "AWS_ENDPOINT_URL_%s", si->env_suffix[k]);
		v = getenv(name);
		if (v && *v) {
			snprintf(where, where_size, "$%s", name);
			return v;
		}
	}
	v = getenv("AWS_ENDPOINT_URL");
	if (v && *v) {
		snprintf(where, where_size, "$AWS_ENDPOINT_URL");
		return v;
	}

	services_name = akr_awsconfig_get(cfg, profile, "services", NULL);
	for (size_t k = 0; services_name && k < ELEMENTSOF(si->config_key) && si->config_key[k];
	     k++) {
		v = akr_awsconfig_get_service(cfg, services_name, si->config_key[k], "endpoint_url",
					      &line);
		if (v && *v) {
			snprintf(where, where_size, "%s:%u", akr_awsconfig_path(cfg), line);
			return v;
		}
	}
	v = akr_awsconfig_get(cfg, profile, "endpoint_url", &line);
	if (v && *v) {
		snprintf(where, where_size, "%s:%u", akr_awsconfig_path(cfg), line);
		return v;
	}
	return NULL;
}

static int default_endpoint(enum akr_service s, const char *region, char **ret_url,
			    char **ret_region)
{
	const struct service_info *si = &services[s];
	_cleanup_free_ char *url = NULL, *sregion = NULL;

	/* The aws partition only; other partitions go through endpoint URLs. */
	if (s == AKR_SERVICE_IAM)
		url = strdup("https://iam.amazonaws.com");
	else if (s == AKR_SERVICE_ORGANIZATIONS)
		url = strdup("https://organizations.us-east-1.amazonaws.com");
	else if (asprintf(&url, "https://%s.%s.amazonaws.com", si->host_prefix, region) < 0)
		url = NULL;
	sregion = strdup(si->global_region ? si->global_region : region);
	if (!url || !sregion)
		return -ENOMEM;
	*ret_url = TAKE_PTR(url);
	*ret_region = TAKE_PTR(sregion);
	return 0;
}

int akr_endpoints_resolve(struct akr_endpoints *ret, const char *region, const char *profile,
			  struct akr_error *reterr)
{
	_cleanup_(akr_endpoints_done) struct akr_endpoints e = { 0 };
	struct akr_awsconfig *cfg = NULL;
	bool ignore;
	int r;

	if (!ret)
		return -EINVAL;
	if (!akr_endpoints_is_region(region)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config", "invalid region '%s'",
			      region ? region : "");
		return -EINVAL;
	}
	profile = akr_awsconfig_profile_name(profile);
	r = akr_awsconfig_load_default(AKR_AWSCONFIG_CONFIG, &cfg, reterr);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;

	ignore = akr_awsconfig_is_true(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"));
	if (!getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
		ignore = akr_awsconfig_is_true(
			akr_awsconfig_get(cfg, profile, "ignore_configured_endpoint_urls", NULL));

	for (enum akr_service s = 0; s < _AKR_SERVICE_MAX; s++) {
		char where[512] = "";
		const char *url = ignore ? NULL
					 : configured_url(s, cfg, profile, where, sizeof(where));

		if (!url) {
			r = default_endpoint(s, region, &e.url[s], &e.signing_region[s]);
			if (r < 0)
				goto out;
			continue;
		}
		r = normalize_url(url, &e.url[s]);
		if (r == -EINVAL)
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config",
				      "%s: invalid endpoint URL '%.200s' for %s (need "
				      "http:// or https://, a host, no spaces, query or fragment)",
				      where, url, services[s].config_key[0]);
		if (r < 0)
			goto out;
		/* With a custom endpoint the SDKs sign with the client's region,
		 * even for the global services. */
		e.signing_region[s] = strdup(region);
		if (!e.signing_region[s]) {
			r = -ENOMEM;
			goto out;
		}
		e.custom[s] = true;
	}
	*ret = e;
	e = (struct akr_endpoints){ 0 };
	r = 0;
out:
	akr_awsconfig_free(cfg);
	return r;
}
