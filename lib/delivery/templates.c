#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/error.h"
#include "lib/delivery/templates.h"

#define TEMPLATE_MAX (64 * 1024)

static const char *const template_files[_AKR_MAIL_KIND_MAX] = {
	[AKR_MAIL_ROTATION] = "rotation.txt",
	[AKR_MAIL_PASSWORD] = "password.txt",
	[AKR_MAIL_REMINDER] = "reminder.txt",
	[AKR_MAIL_DEACTIVATED] = "deactivated.txt",
	[AKR_MAIL_DELETED] = "deleted.txt",
	[AKR_MAIL_ADDRESS_CHANGED] = "address-changed.txt",
};

struct akr_delivery_templates *akr_templates_free(struct akr_delivery_templates *t)
{
	if (!t)
		return NULL;
	for (int k = 0; k < _AKR_MAIL_KIND_MAX; k++) {
		if (t->kind[k].subject != akr_delivery_default_template(k)->subject)
			free((char *)t->kind[k].subject);
		if (t->kind[k].body != akr_delivery_default_template(k)->body)
			free((char *)t->kind[k].body);
	}
	free(t);
	return NULL;
}

static int read_file(const char *path, char **ret)
{
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	buf = malloc(TEMPLATE_MAX + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while ((n = read(fd, buf + len, TEMPLATE_MAX + 1 - len)) > 0) {
		len += (size_t)n;
		if (len > TEMPLATE_MAX)
			break;
	}
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r == 0 && len > TEMPLATE_MAX)
		r = -EFBIG;
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	return 0;
}

static int parse_template(const char *path, char *text, enum akr_mail_kind kind, struct akr_mail_template *t,
			  struct akr_error *reterr)
{
	char *nl, *subject, *body;
	struct akr_error err = { 0 };

	if (strncmp(text, "Subject:", 8) != 0) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "template", "%s:1: the first line must be 'Subject: ...'", path);
		return -EINVAL;
	}
	nl = strchr(text, '\n');
	if (!nl || (nl[1] != '\n' && !(nl[1] == '\r' && nl[2] == '\n'))) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "template", "%s:2: a blank line must follow the subject", path);
		return -EINVAL;
	}
	*nl = '\0';
	if (nl > text && nl[-1] == '\r')
		nl[-1] = '\0';
	subject = strdup(text + 8 + strspn(text + 8, " \t"));
	body = strdup(nl + (nl[1] == '\r' ? 3 : 2));
	if (!subject || !body) {
		free(subject);
		free(body);
		return -ENOMEM;
	}
	if (akr_delivery_subject_validate(kind, subject, &err) < 0 ||
	    akr_delivery_template_validate(kind, body, &err) < 0) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "template", "%s: %s", path, err.message);
		free(subject);
		free(body);
		return -EINVAL;
	}
	t->subject = subject;
	t->body = body;
	return 0;
}

int akr_templates_load(const char *dir, struct akr_delivery_templates **ret, struct akr_error *reterr)
{
	struct akr_delivery_templates *t = calloc(1, sizeof(*t));
	char path[4096];
	int r = 0;

	struct stat st;

	if (!t)
		return -ENOMEM;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = stat(dir, &st) < 0 ? -errno : -ENOTDIR;
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "template", "%s: %s", dir, strerror(-r));
		free(t);
		return r;
	}
	for (int k = 0; k < _AKR_MAIL_KIND_MAX; k++)
		t->kind[k] = *akr_delivery_default_template(k);
	for (int k = 0; k < _AKR_MAIL_KIND_MAX && r >= 0; k++) {
		char *text = NULL;

		(void)snprintf(path, sizeof(path), "%s/%s", dir, template_files[k]);
		r = read_file(path, &text);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r < 0) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "template", "%s: %s", path, strerror(-r));
			break;
		}
		r = parse_template(path, text, k, &t->kind[k], reterr);
		free(text);
	}
	if (r < 0) {
		akr_templates_free(t);
		return r;
	}
	*ret = t;
	return 0;
}
