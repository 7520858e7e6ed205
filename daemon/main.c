#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define DEFAULT_CONFIG "/etc/iam-access-key-rotator/rotator.conf"

static const char *arg_config = DEFAULT_CONFIG;

static void help(void)
{
	printf("Usage: iam-access-key-rotator [OPTION]...\n"
	       "Keep the IAM access keys of every account of an AWS Organization fresh.\n\n"
	       "  -c, --config FILE   configuration file (default " DEFAULT_CONFIG ")\n"
	       "      --check-config  validate the configuration, print the effective settings\n"
	       "      --once          run one full sweep now, then exit\n"
	       "      --dry-run       run one read-only sweep and print the plan\n"
	       "      --now TIME      evaluate the policy as of TIME (ISO 8601 UTC)\n"
	       "  -v, --verbose       log debug messages\n"
	       "  -h, --help          show this help\n"
	       "      --version       show the version\n\n"
	       "Without --once, --dry-run or --check-config it runs as a daemon.\n"
	       "Exit status: 0 success, 1 failures reported, 2 could not run.\n"
	       "See iam-access-key-rotator(8) and rotator.conf(5).\n");
}

int main(int argc, char **argv)
{
	enum { OPT_VERSION = 0x100, OPT_CHECK, OPT_ONCE, OPT_DRY, OPT_NOW };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, OPT_CHECK },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			arg_config = optarg;
			break;
		case 'h':
			help();
			return 0;
		case OPT_VERSION:
			printf("iam-access-key-rotator %s\n", AKR_VERSION);
			return 0;
		case OPT_CHECK:
		case OPT_ONCE:
		case OPT_DRY:
		case OPT_NOW:
		case 'v':
			break;
		default:
			fprintf(stderr, "Try 'iam-access-key-rotator --help'.\n");
			return 2;
		}
	}
	fprintf(stderr, "iam-access-key-rotator: config '%s': not implemented yet\n", arg_config);
	return 2;
}
