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

/* ---- partitions ---------------------------------------------------------- */

static const struct {
	const char *name;
	const char *dns_suffix;
} partitions[_AKR_PARTITION_MAX] = {
	[AKR_PARTITION_AWS] = { "aws", "amazonaws.com" },
	[AKR_PARTITION_AWS_CN] = { "aws-cn", "amazonaws.com.cn" },
	[AKR_PARTITION_AWS_US_GOV] = { "aws-us-gov", "amazonaws.com" },
};

const char *akr_partition_to_string(enum akr_partition p)
{
	return (unsigned)p < _AKR_PARTITION_MAX ? partitions[p].name : NULL;
}

/* botocore's partitions.json: aws-cn is ^cn-, aws-us-gov ^us-gov-, the
 * isolated partitions ^us-iso-, ^us-isob-, ^us-isof-, ^eu-isoe-, ^eusc-;
 * every other region (also one unknown to it) is in aws. */
int akr_partition_of_region(const char *region, enum akr_partition *ret)
{
	static const char *const isolated[] = { "us-iso-", "us-isob-", "us-isof-", "eu-isoe-",
						"eusc-" };

	if (!akr_endpoints_is_region(region))
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(isolated); i++)
		if (strncmp(region, isolated[i], strlen(isolated[i])) == 0)
			return -EOPNOTSUPP;
	if (strncmp(region, "cn-", 3) == 0)
		*ret = AKR_PARTITION_AWS_CN;
	else if (strncmp(region, "us-gov-", 7) == 0)
		*ret = AKR_PARTITION_AWS_US_GOV;
	else
		*ret = AKR_PARTITION_AWS;
	return 0;
}

int akr_partition_of_region_checked(const char *region, enum akr_partition *ret,
				    struct akr_error *reterr)
{
	int r = akr_partition_of_region(region, ret);

	if (r == -EOPNOTSUPP)
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config",
			      "region '%s' is in an isolated AWS partition, which has no built-in "
			      "endpoints: set AWS_ENDPOINT_URL_<SERVICE> for each service",
			      region);
	else if (r < 0)
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config", "invalid region '%s'",
			      region ? region : "");
	return r;
}

/* The URL and signing region of @s in @region as the SDKs resolve them
 * (botocore's endpoint rule sets, compared in tests/unit/test_partitions.py):
 * regional services at <prefix>[-fips].<region>.<dns suffix>; IAM and
 * Organizations at their partition's global endpoint, signed for the
 * partition's home region. GovCloud has no -fips host for STS, SNS, IAM and
 * Organizations: their regular endpoints there are FIPS endpoints. */
static int default_endpoint(enum akr_service s, const char *region, bool fips, char **ret_url,
			    char **ret_region)
{
	const struct service_info *si = &services[s];
	_cleanup_free_ char *url = NULL, *sregion = NULL;
	const char *dns, *host_fips = fips ? "-fips" : "", *home = region;
	enum akr_partition p;
	int r;

	r = akr_partition_of_region(region, &p);
	if (r < 0)
		return r;
	dns = partitions[p].dns_suffix;
	if (p == AKR_PARTITION_AWS_US_GOV && s != AKR_SERVICE_SES)
		host_fips = "";

	switch (s) {
	case AKR_SERVICE_IAM:
		if (p == AKR_PARTITION_AWS) {
			r = asprintf(&url, "https://iam%s.amazonaws.com", host_fips);
			home = "us-east-1";
		} else if (p == AKR_PARTITION_AWS_CN) {
			r = fips ? asprintf(&url, "https://iam-fips.amazonaws.com.cn")
				 : asprintf(&url, "https://iam.cn-north-1.amazonaws.com.cn");
			home = fips ? "cn-northwest-1" : "cn-north-1";
		} else {
			r = asprintf(&url, "https://iam.us-gov.amazonaws.com");
			home = "us-gov-west-1";
		}
		break;
	case AKR_SERVICE_ORGANIZATIONS:
		if (p == AKR_PARTITION_AWS) {
			r = asprintf(&url, "https://organizations%s.us-east-1.amazonaws.com", host_fips);
			home = "us-east-1";
		} else if (p == AKR_PARTITION_AWS_CN) {
			r = fips ? asprintf(&url, "https://organizations-fips.%s.amazonaws.com.cn", region)
				 : asprintf(&url,
					    "https://organizations.cn-northwest-1.amazonaws.com.cn");
			home = "cn-northwest-1";
		} else {
			r = asprintf(&url, "https://organizations.us-gov-west-1.amazonaws.com");
			home = "us-gov-west-1";
		}
		break;
	default:
		r = asprintf(&url, "https://%s%s.%s.%s", si->host_prefix, host_fips, region, dns);
		break;
	}
	if (r < 0)
		url = NULL;
	sregion = strdup(home);
	if (!url || !sregion)
		return -ENOMEM;
	*ret_url = TAKE_PTR(url);
	*ret_region = TAKE_PTR(sregion);
	return 0;
}

int akr_endpoints_for_region(const struct akr_endpoints *e, enum akr_service s, const char *region,
			     char **ret_url, char **ret_signing_region)
{
	if (!e || (unsigned)s >= _AKR_SERVICE_MAX || !e->url[s])
		return -EINVAL;
	if (e->custom[s] || !region || !*region)
		return -ENOENT;
	return default_endpoint(s, region, e->fips, ret_url, ret_signing_region);
}

/* $AWS_USE_FIPS_ENDPOINT, else the profile's use_fips_endpoint: "true" or
 * "false" (any case); anything else is an error naming where it was set. */
static int use_fips(const struct akr_awsconfig *cfg, const char *profile, bool *ret,
		    struct akr_error *reterr)
{
	const char *v = getenv("AWS_USE_FIPS_ENDPOINT");
	char where[512];
	unsigned line = 0;

	if (v && *v) {
		snprintf(where, sizeof(where), "$AWS_USE_FIPS_ENDPOINT");
	} else {
		v = akr_awsconfig_get(cfg, profile, "use_fips_endpoint", &line);
		snprintf(where, sizeof(where), "%s:%u: use_fips_endpoint", akr_awsconfig_path(cfg),
			 line);
	}
	if (!v || !*v || strcasecmp(v, "false") == 0) {
		*ret = false;
		return 0;
	}
	if (strcasecmp(v, "true") == 0) {
		*ret = true;
		return 0;
	}
	akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config", "%s: '%.40s' is not true or false", where,
		      v);
	return -EINVAL;
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
	r = akr_partition_of_region_checked(region, &e.partition, reterr);
	if (r < 0)
		return -EINVAL;
	profile = akr_awsconfig_profile_name(profile);
	r = akr_awsconfig_load_default(AKR_AWSCONFIG_CONFIG, &cfg, reterr);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	r = use_fips(cfg, profile, &e.fips, reterr);
	if (r < 0)
		goto out;

	ignore = akr_awsconfig_is_true(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"));
	if (!getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"))
		ignore = akr_awsconfig_is_true(
			akr_awsconfig_get(cfg, profile, "ignore_configured_endpoint_urls", NULL));

	for (enum akr_service s = 0; s < _AKR_SERVICE_MAX; s++) {
		char where[512] = "";
		const char *url = ignore ? NULL
					 : configured_url(s, cfg, profile, where, sizeof(where));

		if (!url) {
			r = default_endpoint(s, region, e.fips, &e.url[s], &e.signing_region[s]);
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

int akr_endpoints_check_arn(const char *arn, const char *what, const char *region,
			    struct akr_error *reterr)
{
	enum akr_partition p;
	const char *part, *end;
	size_t n;
	int r;

	if (!arn || !what)
		return -EINVAL;
	r = akr_partition_of_region_checked(region, &p, reterr);
	if (r < 0)
		return -EINVAL;
	part = strncmp(arn, "arn:", 4) == 0 ? arn + 4 : NULL;
	end = part ? strchr(part, ':') : NULL;
	if (!end) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config", "%s '%.200s' is not an ARN", what,
			      arn);
		return -EINVAL;
	}
	n = (size_t)(end - part);
	if (n == strlen(partitions[p].name) && memcmp(part, partitions[p].name, n) == 0)
		return 0;
	akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "config",
		      "%s '%.200s' is in partition '%.*s', but region '%s' is in partition '%s' "
		      "(an ARN there starts with 'arn:%s:'): set the ARN or the region to match",
		      what, arn, (int)(n < 32 ? n : 32), part, region, partitions[p].name,
		      partitions[p].name);
	return -EINVAL;
}
