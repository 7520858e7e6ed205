#pragma once
/* Shared between the files of the http module: http.c (the engine: caps,
 * queues, rate limit, retries, libuv glue) and http_wire.c (one request on
 * the wire: validation and copy of the description, headers and signing,
 * the curl easy handle, reading the answer, mapping curl's errors). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/http/engine.h"
#include "lib/http/sigv4.h"

#define HTTP_MAX_REQUEST_HEADERS 64
#define HTTP_MAX_RESPONSE_HEADERS 100
#define HTTP_MAX_RESPONSE_HEADER_BYTES (64 * 1024)
#define HTTP_MAX_LINE (64 * 1024) /* one request header line, session tokens included */

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* An intrusive circular list with a sentinel; a node that is not on a list
 * points to itself. */
struct link {
	struct link *prev, *next;
};

static inline void link_init(struct link *l)
{
	l->prev = l->next = l;
}

static inline bool link_empty(const struct link *l)
{
	return l->next == l;
}

static inline void link_del(struct link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	link_init(l);
}

static inline void link_add_tail(struct link *head, struct link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static inline void link_add_head(struct link *head, struct link *l)
{
	link_add_tail(head->next, l);
}

enum req_state {
	REQ_QUEUED,    /* in its key's queue, waiting for a slot or a token */
	REQ_RUNNING,   /* an attempt is on the wire */
	REQ_BACKOFF,   /* waiting on its timer before the next attempt */
	REQ_FINISHING, /* outcome known; the callback runs from its timer */
	REQ_DONE,      /* the callback ran; the timer is closing */
};

struct http_key;

struct akr_http_request {
	struct akr_http *h;
	struct http_key *key;
	uv_timer_t timer; /* backoff, and the deferred completion */
	enum req_state state;
	struct link all;   /* on h->requests until the callback runs */
	struct link queue; /* on key->queue while REQ_QUEUED */

	/* The copied description. */
	char *method;
	char *url;         /* as curl re-serialised it, so the path signed is the path sent */
	char *host_header; /* "host[:port]", exactly what goes on the wire */
	char *path;
	char *query;
	struct akr_sigv4_header *headers;
	size_t n_headers;
	bool has_content_type;
	uint8_t *body;
	size_t body_len;
	int64_t timeout_ms;
	int64_t deadline_ms;        /* monotonic; 0 until the first attempt */
	int64_t attempt_timeout_ms; /* what the current attempt may take */
	int64_t connect_timeout_ms; /* ... and to connect */
	size_t max_response_bytes;
	size_t reserve;   /* bytes of the answer budget an attempt holds */
	bool waited_room; /* counted once in stats.room_waits */
	bool survives_shutdown;
	bool sensitive;
	bool idempotent;
	const struct akr_sigv4_signer *signer;
	int (*parse_error)(long status, const char *body, size_t len, struct akr_error *reterr);
	akr_http_done_cb cb;
	void *userdata;

	/* The current attempt. */
	CURL *easy;
	struct curl_slist *slist;
	struct akr_buf resp_body;
	struct akr_buf resp_headers; /* "name\0value\0" pairs, names lower-cased */
	size_t n_resp_headers;
	int cb_error; /* set by the write/header callbacks when they abort */
	unsigned sends; /* CURLOPT_PREREQFUNCTION calls: how often curl was about to send it */
	char errbuf[CURL_ERROR_SIZE];

	/* The outcome. */
	unsigned attempts;
	unsigned last_retry_cost;
	long status;
	int r;
	struct akr_error err;
};

/** Checks a description: method, URL, headers the engine owns, body on GET.
 * Returns 0 or -EINVAL. */
int akr__http_desc_validate(const struct akr_http_request_desc *d);
/** Copies what @d describes into @req (method, URL parts, headers, body) and
 * sets up the response buffers. On failure, akr__http_request_clear() frees
 * what was copied. Returns 0, -EINVAL (URL), -ENOMEM. */
int akr__http_request_copy(struct akr_http_request *req, const struct akr_http_request_desc *d);
/** Frees (and wipes: body, sensitive answer) everything copy allocated. */
void akr__http_request_clear(struct akr_http_request *req);

/** Builds and signs the headers and a configured easy handle for one
 * attempt of @req (CURLOPT_PRIVATE = @req), signing with the keys of @keys
 * (borrowed, may be NULL): @reuse (a handle reset with
 * curl_easy_reset(), taken over even on failure) or a new one. The caller
 * adds it to the multi handle and owns both: free the list with
 * akr__http_slist_free_wiped(). Returns 0, -ENOKEY and the other errors of
 * akr_sigv4_sign_request(), -ENOMEM, -EINVAL. */
int akr__http_easy_new(struct akr_http_request *req, const struct akr_http_options *opts,
		       struct akr_sigv4_key_cache *keys, CURL *reuse, CURL **ret_easy,
		       struct curl_slist **ret_slist);

/** CURLOPT_OPENSOCKETFUNCTION / CURLOPT_CLOSESOCKETFUNCTION of every easy
 * handle (clientp = the engine): the engine keeps one uv_poll_t per
 * connection it opened for as long as the connection lives, instead of one
 * per transfer. */
curl_socket_t akr__http_open_socket(void *clientp, curlsocktype purpose,
				    struct curl_sockaddr *address);
int akr__http_close_socket(void *clientp, curl_socket_t fd);
/** Wipes every line (a session token may be among them), then frees. */
void akr__http_slist_free_wiped(struct curl_slist *l);

/** The value of the answer's header @name (lower case), or NULL. Borrowed. */
const char *akr__http_resp_header(const struct akr_http_request *req, const char *name);

/** Maps a failed transfer to an -errno, a short tag and its retry class.
 * @not_sent: the request provably never reached the server. */
int akr__http_map_curl_error(CURLcode c, const char **tag, enum akr_retry_class *cls,
			     bool *not_sent, bool *timed_out);
/** Fills req->err from a non-2xx answer (desc->parse_error, the status, the
 * request id header) and returns its retry class. */
enum akr_retry_class akr__http_classify_answer(struct akr_http_request *req);
