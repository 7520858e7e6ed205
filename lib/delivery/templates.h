#pragma once
/* Mail templates from email.template_directory: one file per kind of mail
 * (rotation.txt, password.txt, reminder.txt, deactivated.txt, deleted.txt,
 * address-changed.txt),
 * each "Subject: ..." on its first line, a blank line, then the body. A file
 * that is absent keeps the built-in template of its kind. Every template is
 * validated (placeholders known, {password} only in password.txt). */

#include "lib/delivery/delivery.h"

struct akr_error;

/** Loads the templates of @dir. On success *@ret is a new set the caller frees
 * with akr_templates_free(). Errors name the file: -ENOENT (no directory),
 * -EINVAL (a bad template, with @reterr), -EFBIG, -ENOMEM. */
int akr_templates_load(const char *dir, struct akr_delivery_templates **ret, struct akr_error *reterr);
struct akr_delivery_templates *akr_templates_free(struct akr_delivery_templates *t);
