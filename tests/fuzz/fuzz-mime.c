/* The MIME builder's inputs (lib/delivery/mime): the first 8 bytes are the
 * Date, the rest is split at NUL bytes into From, the display name, To, the
 * Subject, the body, and (when present) the attachment's file name, content
 * type and data. What akr_mime_build() accepts must be a well-formed
 * message: 7-bit ASCII, CRLF line ends only, ending in CRLF, no line over
 * RFC 5322's 998 characters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/delivery/mime.h"
#include "tests/fuzz/fuzz.h"

static void check_message(const struct akr_buf *b)
{
	size_t line = 0;

	if (b->len < 2 || b->data[b->len - 2] != '\r' || b->data[b->len - 1] != '\n') {
		fprintf(stderr, "the message does not end in CRLF\n");
		abort();
	}
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->data[i];

		if (c >= 0x80 || c == 0) {
			fprintf(stderr, "byte 0x%02x at %zu is not 7-bit text\n", c, i);
			abort();
		}
		if (c == '\r') {
			if (i + 1 >= b->len || b->data[i + 1] != '\n') {
				fprintf(stderr, "a bare CR at %zu\n", i);
				abort();
			}
			line = 0;
			i++;
			continue;
		}
		if (c == '\n') {
			fprintf(stderr, "a bare LF at %zu\n", i);
			abort();
		}
		if (++line > 998) {
			fprintf(stderr, "a line longer than 998 characters at %zu\n", i);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *f[8], *block;
	struct akr_mime_attachment att;
	struct akr_mime_message m;
	struct akr_error err;
	struct akr_buf out;
	int64_t date = 1795784400;
	size_t n;
	char datebuf[64];

	if (size >= 8) {
		memcpy(&date, data, 8);
		data += 8;
		size -= 8;
	}
	(void)akr_mime_format_date(date, datebuf, sizeof(datebuf));
	n = fuzz_split(data, size, '\0', f, 8, &block);
	m = (struct akr_mime_message){
		.from = f[0], .from_name = f[1], .to = f[2], .subject = f[3],
		.date_sec = date, .body = f[4],
	};
	if (n > 5) {
		att = (struct akr_mime_attachment){
			.filename = f[5], .content_type = *f[6] ? f[6] : NULL,
			.data = (const uint8_t *)f[7], .len = strlen(f[7]),
		};
		m.attachment = &att;
	}
	if (akr_mime_build(&m, &out, &err) == 0) {
		check_message(&out);
		akr_buf_done(&out);
	}
	free(block);
	return 0;
}
