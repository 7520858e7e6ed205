#pragma once
/* The largest answer each AWS call can legitimately get, so that a hostile
 * or broken endpoint cannot make the daemon buffer more (issue 10: a 7 MiB
 * ListAccessKeys answer, 38 of them at once). akr_aws_call() holds every call
 * to the smaller of this and what its service module asks for; the http
 * engine refuses a larger answer (-E2BIG) and counts this size against its
 * budget of answer bytes buffered at once. The sizes and why are in
 * docs/performance.md ("Memory"). */

#include <stddef.h>

#include "lib/aws/client.h"

/** The most bytes an answer to @action of @service may have (the error
 * documents included, which are small); an action not in the table gets
 * AKR_AWS_ANSWER_LIMIT_DEFAULT. @action is borrowed. */
size_t akr_aws_answer_limit(enum akr_service service, const char *action);

#define AKR_AWS_ANSWER_LIMIT_DEFAULT (1024u * 1024)
