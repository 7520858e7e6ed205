#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <uv.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/http/engine-internal.h"
#include "lib/http/engine.h"
#include "lib/http/retry.h"
#include "lib/base/log.h"
#include "lib/base/ratelimit.h"

#define HTTP_DEFAULT_MAX_IN_FLIGHT 64
#define HTTP_DEFAULT_MAX_PER_KEY 8
#define HTTP_DEFAULT_MAX_ATTEMPTS 3
#define HTTP_DEFAULT_BASE_DELAY_MS 1000
#define HTTP_DEFAULT_MAX_DELAY_MS 20000
#define HTTP_DEFAULT_RETRY_QUOTA 500
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define HTTP_DEFAULT_TIMEOUT_MS 30000
#define HTTP_DEFAULT_MAX_RESPONSE (256 * 1024)
/* A retry is made only if its attempt would still have this long. */
#define HTTP_MIN_ATTEMPT_MS 100
#define HTTP_DEFAULT_MAX_BUFFERED (24 * 1024 * 1024)
#define HTTP_MIN_BUFFERED (1024 * 1024)
/* Reuse: easy handles kept for the next attempts, and answer buffers up to
 * this size (most answers are a few KiB; larger ones are freed). */
#define HTTP_EASY_POOL 64
#define HTTP_BUF_POOL 128
#define HTTP_BUF_POOL_MAX_CAP (16 * 1024)

/* Everything the caps and the rate limit know about one key (an account). */
struct http_key {
	struct http_key *hash_next;
	char *name; /* NULL for the requests without a key */
	size_t in_flight;
	size_t n_reqs; /* requests pointing here, whatever their state */
	struct akr_adaptive_rate rate; /* capped by akr_http_set_rate() */
	struct link queue; /* FIFO of REQ_QUEUED requests */
	struct link ready; /* on h->ready: may start one now */
	struct link wait;  /* on h->rate_wait: only a token is missing */
};

/* One socket curl watches. A connection the engine opened (owned) keeps its
 * uv_poll_t from its opening to its closing (CURLOPT_OPEN/CLOSESOCKETFUNCTION),
 * across the transfers of a keep-alive connection, so that a request on a
 * reused connection costs no epoll_ctl; other sockets (the resolver's) get
 * one for as long as curl watches them. */
struct http_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct akr_http *h;
	struct link link; /* on h->sockets */
	int events;       /* UV_READABLE | UV_WRITABLE the poll runs with, 0 = stopped */
	bool owned;       /* opened by akr__http_open_socket() */
	bool idle;        /* owned, and no transfer uses it now */
};

struct pooled_buf {
	char *data;
	size_t cap;
};


struct akr_http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t curl_timer; /* CURLMOPT_TIMERFUNCTION's one timer */
	uv_timer_t rate_timer; /* wakes the keys waiting for a token */
	uv_timer_t stop_timer; /* the end of the grace after akr_http_shutdown() */
	struct akr_http_options opts;
	struct akr_sigv4_key_cache *keys; /* signing keys, one per secret/day/region/service */
	char *ca_bundle;

	struct link sockets;   /* struct http_sock */
	struct link requests;  /* every request whose callback has not run */
	struct link ready;     /* keys that may start a request now, in turn */
	struct link rate_wait; /* keys waiting for a token */
	struct http_key **buckets;
	size_t n_buckets, n_keys;
	struct http_key anon; /* the requests without a key: no per-key cap */

	struct http_sock **by_fd; /* the sockets above, by descriptor */
	size_t n_by_fd;
	CURL *easy_pool[HTTP_EASY_POOL]; /* reset handles for the next attempts */
	size_t n_easy_pool;
	struct pooled_buf buf_pool[HTTP_BUF_POOL];
	size_t n_buf_pool;

	struct akr_retry_quota quota;
	struct akr_retry_rng rng;
	struct akr_http_stats stats;

	unsigned busy; /* engine frames on the stack that may call back the user */
	unsigned refs; /* open engine timers + requests not yet freed */
	bool freeing, torn_down;
	bool shutting_down;         /* akr_http_shutdown(): no more retries */
	int64_t shutdown_deadline_ms; /* ... and everything ends by then */
	bool shutdown_halfway_done;   /* the writes left on the wire were canceled */
};

static void dispatch(struct akr_http *h);
static void check_done(struct akr_http *h);
static void finish_now(struct akr_http_request *req);
static void req_abort(struct akr_http_request *req, int r, enum akr_error_kind kind,
		      const char *code, const char *msg);

static int64_t now_ms(void)
{
	/* The monotonic clock, not uv_now(): the loop's cached time may be stale
	 * when requests are queued before uv_run(). */
	return (int64_t)(uv_hrtime() / 1000000);
}

/* Keys. */

static uint64_t key_hash(const char *s)
{
	uint64_t x = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		x = (x ^ (uint8_t)*s) * 0x100000001b3ULL;
	return x;
}

static void key_init(struct http_key *k)
{
	link_init(&k->queue);
	link_init(&k->ready);
	link_init(&k->wait);
	akr_adaptive_rate_init(&k->rate, 0, now_ms());
}

static struct http_key *key_find(struct akr_http *h, const char *name)
{
	if (!name)
		return &h->anon;
	if (!h->n_buckets)
		return NULL;
	for (struct http_key *k = h->buckets[key_hash(name) & (h->n_buckets - 1)]; k;
	     k = k->hash_next)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

static int key_table_grow(struct akr_http *h)
{
	size_t n = h->n_buckets ? h->n_buckets * 2 : 64;
	struct http_key **b;

	if (n > SIZE_MAX / sizeof(*b))
		return -ENOMEM;
	b = calloc(n, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < h->n_buckets; i++)
		while (h->buckets[i]) {
			struct http_key *k = h->buckets[i];
			size_t j = key_hash(k->name) & (n - 1);

			h->buckets[i] = k->hash_next;
			k->hash_next = b[j];
			b[j] = k;
		}
	free(h->buckets);
	h->buckets = b;
	h->n_buckets = n;
	return 0;
}

static int key_get(struct akr_http *h, const char *name, struct http_key **ret)
{
	struct http_key *k = key_find(h, name);
	size_t j;

	if (k) {
		*ret = k;
		return 0;
	}
	if (h->n_keys >= h->n_buckets && key_table_grow(h) < 0)
		return -ENOMEM;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->name = strdup(name);
	if (!k->name) {
		free(k);
		return -ENOMEM;
	}
	key_init(k);
	j = key_hash(name) & (h->n_buckets - 1);
	k->hash_next = h->buckets[j];
	h->buckets[j] = k;
	h->n_keys++;
	*ret = k;
	return 0;
}

static void key_free(struct http_key *k)
{
	free(k->name);
	free(k);
}

/* Forgets a key nothing refers to and that carries no rate: neither a cap
 * nor what throttling taught. */
static void key_gc(struct akr_http *h, struct http_key *k)
{
	struct http_key **p;

	if (k == &h->anon || k->n_reqs > 0 || k->rate.max_rate > 0 || k->rate.engaged)
		return;
	link_del(&k->ready);
	link_del(&k->wait);
	for (p = &h->buckets[key_hash(k->name) & (h->n_buckets - 1)]; *p; p = &(*p)->hash_next)
		if (*p == k) {
			*p = k->hash_next;
			h->n_keys--;
			key_free(k);
			return;
		}
}

static size_t key_cap(const struct akr_http *h, const struct http_key *k)
{
	return k == &h->anon ? SIZE_MAX : h->opts.max_per_key;
}

/* Puts @k on the ready ring when it may start a request now, on the
 * rate-wait list when only a token is missing, on neither otherwise. A key
 * already on the ready ring keeps its turn. */
static void key_update(struct akr_http *h, struct http_key *k)
{
	bool ready = false, wait = false;

	if (!link_empty(&k->queue) && k->in_flight < key_cap(h, k)) {
		if (akr_adaptive_rate_wait_ms(&k->rate, now_ms()) == 0)
			ready = true;
		else
			wait = true;
	}
	if (ready && link_empty(&k->ready))
		link_add_tail(&h->ready, &k->ready);
	else if (!ready)
		link_del(&k->ready);
	if (wait && link_empty(&k->wait))
		link_add_tail(&h->rate_wait, &k->wait);
	else if (!wait)
		link_del(&k->wait);
}

/* libuv glue: sockets and timers. */

static void sock_close_cb(uv_handle_t *handle)
{
	free(handle->data);
}

static struct http_sock *sock_find(struct akr_http *h, curl_socket_t fd)
{
	return fd >= 0 && (size_t)fd < h->n_by_fd ? h->by_fd[fd] : NULL;
}

/* Stops watching @sk and forgets it; libuv drops the descriptor from epoll
 * now (uv_close), so curl may close it right after. */
static void sock_close(struct http_sock *sk)
{
	struct akr_http *h = sk->h;

	if (sock_find(h, sk->fd) == sk)
		h->by_fd[sk->fd] = NULL;
	link_del(&sk->link);
	uv_close((uv_handle_t *)&sk->poll, sock_close_cb);
}

/* An idle connection is watched only for its end: it must not keep the
 * loop running on its own. */
static void sock_set_idle(struct http_sock *sk, bool idle)
{
	sk->idle = idle;
	if (idle)
		uv_unref((uv_handle_t *)&sk->poll);
	else
		uv_ref((uv_handle_t *)&sk->poll);
}

static struct http_sock *sock_new(struct akr_http *h, curl_socket_t fd, bool owned)
{
	struct http_sock *sk;

	if (fd < 0)
		return NULL;
	if ((size_t)fd >= h->n_by_fd) {
		size_t n = h->n_by_fd ? h->n_by_fd : 64;
		struct http_sock **p;

		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(h->by_fd, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + h->n_by_fd, 0, (n - h->n_by_fd) * sizeof(*p));
		h->by_fd = p;
		h->n_by_fd = n;
	}
	if (akr_fails_assert(!h->by_fd[fd]))
		return NULL;
	sk = calloc(1, sizeof(*sk));
	if (!sk)
		return NULL;
	if (uv_poll_init_socket(h->loop, &sk->poll, fd) < 0) {
		free(sk);
		return NULL;
	}
	sk->poll.data = sk;
	sk->fd = fd;
	sk->h = h;
	sk->owned = owned;
	sock_set_idle(sk, owned);
	link_add_tail(&h->sockets, &sk->link);
	h->by_fd[fd] = sk;
	return sk;
}

curl_socket_t akr__http_open_socket(void *clientp, curlsocktype purpose,
				    struct curl_sockaddr *address)
{
	struct akr_http *h = clientp;
	int fd;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	fd = socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
	if (fd < 0)
		return CURL_SOCKET_BAD;
	if (!sock_new(h, fd, true)) {
		(void)close(fd);
		return CURL_SOCKET_BAD;
	}
	return fd;
}

int akr__http_close_socket(void *clientp, curl_socket_t fd)
{
	struct akr_http *h = clientp;
	struct http_sock *sk = sock_find(h, fd);

	if (sk)
		sock_close(sk);
	return close(fd);
}

/* Easy handles and answer buffers, kept for reuse. */

static CURL *easy_get(struct akr_http *h)
{
	return h->n_easy_pool ? h->easy_pool[--h->n_easy_pool] : NULL;
}

static void easy_put(struct akr_http *h, CURL *e)
{
	if (h->freeing || h->n_easy_pool == HTTP_EASY_POOL) {
		curl_easy_cleanup(e);
		return;
	}
	/* Every option goes back to its default; the caches stay. */
	curl_easy_reset(e);
	h->easy_pool[h->n_easy_pool++] = e;
}

/* Takes @b's memory for the pool (wiped if it may have held a secret). */
static void buf_recycle(struct akr_http *h, struct akr_buf *b)
{
	if (!b->data || b->cap > HTTP_BUF_POOL_MAX_CAP || h->n_buf_pool == HTTP_BUF_POOL ||
	    h->freeing)
		return;
	if (b->sensitive)
		OPENSSL_cleanse(b->data, b->cap);
	h->buf_pool[h->n_buf_pool++] = (struct pooled_buf){ b->data, b->cap };
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Gives the empty @b memory from the pool. */
static void buf_reuse(struct akr_http *h, struct akr_buf *b)
{
	struct pooled_buf p;

	if (b->data || !h->n_buf_pool)
		return;
	p = h->buf_pool[--h->n_buf_pool];
	b->data = p.data;
	b->cap = p.cap;
	b->len = 0;
	b->data[0] = '\0';
}

static void engine_enter(struct akr_http *h)
{
	h->busy++;
}

static void engine_teardown(struct akr_http *h);

static void engine_leave(struct akr_http *h)
{
	if (--h->busy == 0 && h->freeing && !h->torn_down)
		engine_teardown(h);
}


static int curl_timer_fn(CURLM *multi, long timeout_ms, void *userp);
static int curl_socket_fn(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);

/* A multi handle with the engine's callbacks and caps; NULL without memory. */
static CURLM *multi_new(struct akr_http *h)
{
	CURLM *m = curl_multi_init();

	if (!m)
		return NULL;
	if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, curl_socket_fn) != CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, (void *)h) != CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, curl_timer_fn) != CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_TIMERDATA, (void *)h) != CURLM_OK ||
	    /* Our caps come first; these keep curl's connection pool in step:
	     * as many idle keep-alive connections as requests may be in flight. */
	    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)h->opts.max_in_flight) !=
		    CURLM_OK ||
	    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)h->opts.max_in_flight) != CURLM_OK) {
		(void)curl_multi_cleanup(m);
		return NULL;
	}
	return m;
}

/* After a failing multi call curl's own bookkeeping is incomplete (it may
 * have closed a socket it still had us watch, without CURL_POLL_REMOVE or
 * our close-socket callback, and its socket hash may be broken): the multi
 * handle is given up for a fresh one. No attempt may be on it any more.
 * Its clean-up still reports the sockets it knows (the polls stay valid
 * until it returns); every socket left is then no longer watched, so libuv
 * never asks epoll about a descriptor curl closed behind our back, and a
 * close-socket callback that comes later finds nothing. The easy handles
 * kept for reuse went through the broken multi: they are freed. Returns
 * false (the old multi stays) if no fresh one can be made. */
static bool multi_replace(struct akr_http *h)
{
	CURLM *fresh = multi_new(h), *old = h->multi;

	if (!fresh)
		return false;
	while (h->n_easy_pool)
		curl_easy_cleanup(h->easy_pool[--h->n_easy_pool]);
	(void)curl_multi_cleanup(old);
	h->multi = fresh;
	(void)uv_timer_stop(&h->curl_timer);
	while (!link_empty(&h->sockets))
		sock_close(container_of(h->sockets.next, struct http_sock, link));
	return true;
}

/* @call (a curl_multi_*() call) returned @mc. On an error (out of memory,
 * or a callback of ours refused and curl gave the multi up), curl may have
 * left the transfers it was driving half-way, never to complete, and its
 * own state is not to be trusted: the answers that did come are taken
 * first, then every attempt still on the wire is taken off it, the multi
 * handle is replaced by a fresh one (multi_replace()), and those attempts
 * end, through the normal completion path (from the loop), with -ENOMEM
 * (-EIO for another error) and a message naming @call. A sweep waiting on
 * them then ends instead of hanging, and the requests its callbacks start
 * go to the fresh multi. */
static void multi_check(struct akr_http *h, CURLMcode mc, const char *call)
{
	char msg[160];
	int r = mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;

	check_done(h);
	if (mc == CURLM_OK || h->torn_down)
		return;
	(void)snprintf(msg, sizeof(msg), "%s failed: %s", call, curl_multi_strerror(mc));
	akr_log_error("http: %s, ending every request on the wire", msg);
	/* req_abort() takes each attempt off the old multi (attempt_detach())
	 * and only schedules the callback: none runs before the multi is
	 * replaced. */
	for (struct link *l = h->requests.next; l != &h->requests; l = l->next) {
		struct akr_http_request *req = container_of(l, struct akr_http_request, all);

		if (req->state == REQ_RUNNING)
			req_abort(req, r, AKR_ERROR_LOCAL, r == -ENOMEM ? "out-of-memory" : "http-engine",
				  msg);
	}
	if (!h->freeing && !multi_replace(h))
		akr_log_error("http: cannot make a fresh multi handle, keeping the old one");
}

static void poll_cb(uv_poll_t *handle, int status, int events)
{
	struct http_sock *sk = handle->data;
	struct akr_http *h = sk->h;
	int flags = 0, running;

	if (sk->idle) {
		/* An idle keep-alive connection became readable: the server
		 * closed it (or sent what nobody asked for). Stop watching it;
		 * curl finds it dead when it next picks it and closes it. */
		(void)uv_poll_stop(&sk->poll);
		sk->events = 0;
		return;
	}
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	engine_enter(h);
	/* May close this very handle (CURL_POLL_REMOVE): that is fine, its
	 * memory is freed from the close callback. */
	multi_check(h, curl_multi_socket_action(h->multi, sk->fd, flags, &running),
		    "curl_multi_socket_action");
	dispatch(h);
	engine_leave(h);
}

static void curl_timeout_cb(uv_timer_t *t)
{
	struct akr_http *h = t->data;
	int running;

	engine_enter(h);
	multi_check(h, curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running),
		    "curl_multi_socket_action");
	dispatch(h);
	engine_leave(h);
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms the timer. Even a 0 ms timeout goes
 * through the loop, since libcurl must not be re-entered from here. */
static int curl_timer_fn(CURLM *multi, long timeout_ms, void *userp)
{
	struct akr_http *h = userp;

	if (timeout_ms < 0)
		(void)uv_timer_stop(&h->curl_timer);
	else
		(void)uv_timer_start(&h->curl_timer, curl_timeout_cb, (uint64_t)timeout_ms, 0);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: one uv_poll_t per socket, found again through
 * curl_multi_assign(). */
static int curl_socket_fn(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct akr_http *h = userp;
	struct http_sock *sk = socketp ? socketp : sock_find(h, s);
	int events = 0;

	if (what == CURL_POLL_REMOVE) {
		/* curl forgets the association itself. A connection of ours
		 * stays watched (for its end) while it waits for the next
		 * transfer; another socket curl closes right after this. */
		if (!sk)
			return 0;
		if (!sk->owned) {
			sock_close(sk);
			return 0;
		}
		sock_set_idle(sk, true);
		if (sk->events & UV_WRITABLE) {
			/* Writable would wake the loop at once, forever. */
			sk->events = UV_READABLE;
			if (uv_poll_start(&sk->poll, sk->events, poll_cb) < 0)
				sk->events = 0;
		}
		return 0;
	}
	if (!sk) {
		sk = sock_new(h, s, false);
		if (!sk)
			return -1;
	}
	if (!socketp && curl_multi_assign(h->multi, s, sk) != CURLM_OK) {
		if (!sk->owned)
			sock_close(sk);
		return -1;
	}
	sock_set_idle(sk, false);
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	/* uv_poll_start() costs an epoll_ctl() even with the same events. */
	if (events == sk->events)
		return 0;
	sk->events = events;
	return uv_poll_start(&sk->poll, events, poll_cb) < 0 ? -1 : 0;
}

static void rate_timer_cb(uv_timer_t *t);

static void rate_timer_rearm(struct akr_http *h)
{
	int64_t now = now_ms(), min = -1;

	for (struct link *l = h->rate_wait.next; l != &h->rate_wait; l = l->next) {
		struct http_key *k = container_of(l, struct http_key, wait);
		int64_t w = akr_adaptive_rate_wait_ms(&k->rate, now);

		if (min < 0 || w < min)
			min = w;
	}
	if (min < 0)
		(void)uv_timer_stop(&h->rate_timer);
	else
		(void)uv_timer_start(&h->rate_timer, rate_timer_cb, (uint64_t)min, 0);
}

static void rate_timer_cb(uv_timer_t *t)
{
	struct akr_http *h = t->data;
	struct link *l, *next;

	engine_enter(h);
	for (l = h->rate_wait.next; l != &h->rate_wait; l = next) {
		next = l->next;
		key_update(h, container_of(l, struct http_key, wait));
	}
	dispatch(h);
	engine_leave(h);
}


/* The moment @req must be over by: its own deadline, or the end of the
 * shutdown grace if that comes first. */
static int64_t req_deadline(const struct akr_http_request *req)
{
	const struct akr_http *h = req->h;

	if (h->shutting_down && h->shutdown_deadline_ms < req->deadline_ms)
		return h->shutdown_deadline_ms;
	return req->deadline_ms;
}

static int attempt_start(struct akr_http_request *req)
{
	struct curl_slist *l = NULL;
	CURL *e = NULL;
	int64_t now = now_ms(), left;
	int r;

	/* The request's time runs from its first attempt: the time spent
	 * queued behind the caps and the rate limit is not its fault. */
	if (!req->deadline_ms)
		req->deadline_ms = now + req->timeout_ms;
	left = req_deadline(req) - now;
	if (left <= 0)
		return -ETIMEDOUT;
	req->attempt_timeout_ms = left;
	req->connect_timeout_ms =
		req->h->opts.connect_timeout_ms < left ? req->h->opts.connect_timeout_ms : left;

	akr_buf_reset(&req->resp_body);
	akr_buf_reset(&req->resp_headers);
	req->n_resp_headers = 0;
	req->cb_error = 0;
	req->status = 0;
	req->errbuf[0] = '\0';

	r = akr__http_easy_new(req, &req->h->opts, req->h->keys, easy_get(req->h), &e, &l);
	if (r < 0)
		return r;
	if (curl_multi_add_handle(req->h->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		akr__http_slist_free_wiped(l);
		return -EIO;
	}
	req->easy = e;
	req->slist = l;
	return 0;
}

/* Takes the attempt off the wire and gives its slot back. */
static void attempt_detach(struct akr_http_request *req)
{
	struct akr_http *h = req->h;

	(void)curl_multi_remove_handle(h->multi, req->easy);
	easy_put(h, req->easy);
	req->easy = NULL;
	akr__http_slist_free_wiped(req->slist);
	req->slist = NULL;
	h->stats.in_flight--;
	h->stats.reserved_bytes -= req->reserve;
	req->key->in_flight--;
	key_update(h, req->key);
}

/* Whether the answer of @req's next attempt fits in the budget now. */
static bool room_for(struct akr_http *h, struct akr_http_request *req)
{
	if (req->reserve <= h->opts.max_buffered_bytes - h->stats.reserved_bytes)
		return true;
	if (!req->waited_room) {
		req->waited_room = true;
		h->stats.room_waits++;
		akr_log_debug("http: '%s' waits for %zu bytes of answer room", req->url, req->reserve);
	}
	return false;
}


static void req_timer_cb(uv_timer_t *t);

/* The callback runs from the loop, on the request's timer. */
static void finish_later(struct akr_http_request *req, int r)
{
	req->r = r;
	req->state = REQ_FINISHING;
	(void)uv_timer_start(&req->timer, req_timer_cb, 0, 0);
}

/* Decides, after a failed attempt, whether and when to try again. */
static bool retry_schedule(struct akr_http_request *req, enum akr_retry_class cls, bool not_sent,
			   bool timed_out)
{
	struct akr_http *h = req->h;
	unsigned cost;
	int64_t delay;

	if (h->freeing || h->shutting_down || !akr_retry_allowed(cls, not_sent, req->idempotent) ||
	    req->attempts >= h->opts.max_attempts)
		return false;
	/* The wait must leave the next attempt some time before the deadline;
	 * decided before the quota is touched. */
	delay = akr_retry_backoff_ms(req->attempts, h->opts.base_delay_ms, h->opts.max_delay_ms,
				     akr_retry_rng_next(&h->rng));
	if (req->status)
		delay = akr_retry_apply_hint(
			delay,
			akr_retry_parse_hint_ms(akr__http_resp_header(req, "retry-after"),
						akr__http_resp_header(req, "x-amz-retry-after")),
			h->opts.max_delay_ms);
	if (now_ms() + delay + HTTP_MIN_ATTEMPT_MS > req_deadline(req)) {
		akr_log_debug("http: attempt %u of '%s' failed (%s), no time left for another",
			      req->attempts, req->url, req->err.code);
		return false;
	}
	cost = akr_retry_quota_acquire(&h->quota, timed_out);
	if (!cost) {
		h->stats.quota_exhausted++;
		akr_log_debug("http: retry quota exhausted, not retrying '%s'", req->url);
		return false;
	}
	req->last_retry_cost = cost;
	h->stats.retries++;
	akr_log_debug("http: attempt %u of '%s' failed (%s), retrying in %lld ms", req->attempts,
		      req->url, req->err.code, (long long)delay);
	req->state = REQ_BACKOFF;
	(void)uv_timer_start(&req->timer, req_timer_cb, (uint64_t)delay, 0);
	return true;
}

static void attempt_done(struct akr_http_request *req, CURLcode res)
{
	struct akr_http *h = req->h;
	enum akr_retry_class cls = AKR_RETRY_NONE;
	bool not_sent = false, timed_out = false;
	const char *tag;
	long status = 0;
	int r;

	(void)curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
	req->status = status;
	if (res == CURLE_OK && !(status >= 200 && status < 300))
		cls = akr__http_classify_answer(req);
	/* Every answer teaches the key's adaptive rate; a throttled one slows it. */
	if (res == CURLE_OK)
		akr_adaptive_rate_record(&req->key->rate, cls == AKR_RETRY_THROTTLING, now_ms());
	attempt_detach(req);

	if (res == CURLE_OK && status >= 200 && status < 300) {
		akr_retry_quota_release(&h->quota, req->last_retry_cost);
		akr_error_clear(&req->err);
		req->r = 0;
		finish_now(req);
		return;
	}
	if (res == CURLE_OK) {
		if (cls == AKR_RETRY_THROTTLING) {
			h->stats.throttled++;
			akr_log_debug("http: throttled on key '%s', its rate is now %.2f/s",
				      req->key->name ? req->key->name : "-",
				      akr_adaptive_rate_current(&req->key->rate));
		}
		r = -EPROTO;
	} else if (req->cb_error) {
		r = req->cb_error;
		akr_error_set(&req->err, AKR_ERROR_PARSE, status, "response-too-large",
			      "%s %s: the answer exceeds %zu bytes of body or the header limits, "
			      "refused", req->method, req->url, req->max_response_bytes);
	} else {
		r = akr__http_map_curl_error(res, &tag, &cls, &not_sent, &timed_out);
		/* Name the endpoint: "timed out" alone does not say which. */
		akr_error_set(&req->err, AKR_ERROR_TRANSPORT, status, tag, "%s %s: %s (attempt %u)",
			      req->method, req->url,
			      req->sends > 1 ? "the connection closed before any answer, not sent "
					       "again (the server may have acted on it)"
			      : req->errbuf[0] ? req->errbuf
					       : curl_easy_strerror(res),
			      req->attempts);
		req->err.retry = cls;
	}
	if (retry_schedule(req, cls, not_sent, timed_out))
		return;
	req->r = r;
	finish_now(req);
}

static void check_done(struct akr_http *h)
{
	CURLMsg *msg;
	int left;

	/* A callback may cancel another finished transfer: removing its handle
	 * also drops its pending message, so the loop never sees it. */
	while (!h->torn_down && (msg = curl_multi_info_read(h->multi, &left))) {
		struct akr_http_request *req = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		if (akr_fails_assert(req && req->easy == msg->easy_handle))
			continue;
		attempt_done(req, msg->data.result);
	}
}

static void dispatch(struct akr_http *h)
{
	if (h->freeing)
		return;
	while (h->stats.in_flight < h->opts.max_in_flight && !link_empty(&h->ready)) {
		struct http_key *k = container_of(h->ready.next, struct http_key, ready);
		struct akr_http_request *req;
		int r;

		/* No room for the answer of the next in turn: nothing starts
		 * until attempts on the wire give some back (they call dispatch()
		 * when they end), so a large answer is not passed over forever. */
		if (!link_empty(&k->queue) && k->in_flight < key_cap(h, k) &&
		    !room_for(h, container_of(k->queue.next, struct akr_http_request, queue)))
			break;
		link_del(&k->ready);
		if (link_empty(&k->queue) || k->in_flight >= key_cap(h, k) ||
		    !akr_adaptive_rate_take(&k->rate, now_ms())) {
			key_update(h, k);
			continue;
		}
		req = container_of(k->queue.next, struct akr_http_request, queue);
		link_del(&req->queue);
		h->stats.queued--;
		req->attempts++;
		r = attempt_start(req);
		if (r == -ETIMEDOUT) {
			/* A retry (or, while stopping, any request) whose time ran out
			 * while it waited for a slot or a token. */
			akr_error_set(&req->err, AKR_ERROR_TRANSPORT, 0, "timeout",
				      "%s %s: %s", req->method, req->url,
				      h->shutting_down ? "the daemon is stopping, no time left"
						       : "no time left for another attempt");
			req->err.retry = AKR_RETRY_TRANSIENT;
			finish_later(req, r);
		} else if (r < 0) {
			akr_error_set(&req->err, AKR_ERROR_LOCAL, 0, r == -ENOKEY ? "no-credentials" : "request",
				      "cannot start the request: %s", strerror(-r));
			finish_later(req, r);
		} else {
			req->state = REQ_RUNNING;
			k->in_flight++;
			h->stats.reserved_bytes += req->reserve;
			if (h->stats.reserved_bytes > h->stats.max_reserved_bytes_seen)
				h->stats.max_reserved_bytes_seen = h->stats.reserved_bytes;
			if (++h->stats.in_flight > h->stats.max_in_flight_seen)
				h->stats.max_in_flight_seen = h->stats.in_flight;
		}
		/* Back at the end of the ring: keys take turns. */
		key_update(h, k);
	}
	rate_timer_rearm(h);
}

static void engine_unref(struct akr_http *h)
{
	if (--h->refs > 0)
		return;
	for (size_t i = 0; i < h->n_buckets; i++)
		while (h->buckets[i]) {
			struct http_key *k = h->buckets[i];

			h->buckets[i] = k->hash_next;
			key_free(k);
		}
	free(h->buckets);
	free(h->by_fd);
	for (size_t i = 0; i < h->n_buf_pool; i++)
		free(h->buf_pool[i].data);
	(void)akr_sigv4_key_cache_free(h->keys);
	free(h->ca_bundle);
	free(h);
	curl_global_cleanup();
}

static void engine_timer_close_cb(uv_handle_t *handle)
{
	engine_unref(handle->data);
}

static void req_close_cb(uv_handle_t *handle)
{
	struct akr_http_request *req = handle->data;
	struct akr_http *h = req->h;

	free(req);
	engine_unref(h);
}

/* Frees everything but the request itself, then closes its timer. */
static void req_release(struct akr_http_request *req)
{
	buf_recycle(req->h, &req->resp_body);
	buf_recycle(req->h, &req->resp_headers);
	akr__http_request_clear(req);
	req->state = REQ_DONE;
	uv_close((uv_handle_t *)&req->timer, req_close_cb);
}

static void finish_now(struct akr_http_request *req)
{
	struct akr_http *h = req->h;
	struct akr_http_header hdrs[HTTP_MAX_RESPONSE_HEADERS];
	struct akr_http_response resp = { 0 };
	bool have_resp = req->status != 0 && req->r != -ECANCELED;

	link_del(&req->all);
	req->key->n_reqs--;
	key_gc(h, req->key);
	req->key = NULL;
	if (req->r == 0)
		h->stats.succeeded++;
	else
		h->stats.failed++;
	if (have_resp) {
		const char *p = req->resp_headers.data;

		for (size_t i = 0; i < req->n_resp_headers && i < HTTP_MAX_RESPONSE_HEADERS; i++) {
			hdrs[i].name = p;
			hdrs[i].value = p + strlen(p) + 1;
			p = hdrs[i].value + strlen(hdrs[i].value) + 1;
		}
		resp = (struct akr_http_response){
			.status = req->status,
			.headers = hdrs,
			.n_headers = req->n_resp_headers,
			.body = req->resp_body.data ? req->resp_body.data : "",
			.body_len = req->resp_body.len,
			.attempts = req->attempts,
		};
	}
	req->state = REQ_DONE;
	req->cb(req->userdata, req->r, have_resp ? &resp : NULL, req->r < 0 ? &req->err : NULL);
	req_release(req);
}

static void req_timer_cb(uv_timer_t *t)
{
	struct akr_http_request *req = t->data;
	struct akr_http *h = req->h;

	engine_enter(h);
	if (req->state == REQ_FINISHING) {
		finish_now(req);
	} else if (req->state == REQ_BACKOFF) {
		/* A retry goes first in its key's queue: it has waited already. */
		req->state = REQ_QUEUED;
		link_add_head(&req->key->queue, &req->queue);
		h->stats.queued++;
		key_update(h, req->key);
		dispatch(h);
	}
	engine_leave(h);
}

/* Ends @req now, whatever its state, with @r and an error of @kind/@code. */
static void req_abort(struct akr_http_request *req, int r, enum akr_error_kind kind,
		      const char *code, const char *msg)
{
	struct akr_http *h = req->h;

	switch (req->state) {
	case REQ_QUEUED:
		link_del(&req->queue);
		h->stats.queued--;
		key_update(h, req->key);
		break;
	case REQ_RUNNING:
		attempt_detach(req);
		break;
	case REQ_BACKOFF:
		(void)uv_timer_stop(&req->timer);
		break;
	case REQ_FINISHING:
		break;
	case REQ_DONE:
		return;
	}
	req->status = 0;
	akr_error_set(&req->err, kind, 0, code, "%s %s: %s", req->method, req->url, msg);
	finish_later(req, r);
}

static void req_cancel(struct akr_http_request *req)
{
	req_abort(req, -ECANCELED, AKR_ERROR_LOCAL, "canceled", "request canceled");
}

/* The public interface. */

int akr_http_new(uv_loop_t *loop, const struct akr_http_options *opts, struct akr_http **ret)
{
	struct akr_http_options o = opts ? *opts : (struct akr_http_options){ 0 };
	const char *ca;
	struct akr_http *h;

	if (!loop || !ret)
		return -EINVAL;
	if (o.max_in_flight == 0)
		o.max_in_flight = HTTP_DEFAULT_MAX_IN_FLIGHT;
	if (o.max_per_key == 0)
		o.max_per_key = HTTP_DEFAULT_MAX_PER_KEY;
	if (o.max_attempts == 0)
		o.max_attempts = HTTP_DEFAULT_MAX_ATTEMPTS;
	if (o.base_delay_ms <= 0)
		o.base_delay_ms = HTTP_DEFAULT_BASE_DELAY_MS;
	if (o.max_delay_ms <= 0)
		o.max_delay_ms = HTTP_DEFAULT_MAX_DELAY_MS;
	if (o.retry_quota == 0)
		o.retry_quota = HTTP_DEFAULT_RETRY_QUOTA;
	if (o.connect_timeout_ms <= 0)
		o.connect_timeout_ms = HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	if (o.max_in_flight > LONG_MAX)
		o.max_in_flight = LONG_MAX;
	if (o.max_buffered_bytes == 0)
		o.max_buffered_bytes = HTTP_DEFAULT_MAX_BUFFERED;
	if (o.max_buffered_bytes < HTTP_MIN_BUFFERED)
		o.max_buffered_bytes = HTTP_MIN_BUFFERED;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	ca = o.ca_bundle && *o.ca_bundle ? o.ca_bundle : getenv("AWS_CA_BUNDLE");
	if (ca && *ca) {
		h->ca_bundle = strdup(ca);
		if (!h->ca_bundle) {
			free(h);
			return -ENOMEM;
		}
	}
	o.ca_bundle = h->ca_bundle;
	h->keys = akr_sigv4_key_cache_new();
	if (!h->keys) {
		free(h->ca_bundle);
		free(h);
		return -ENOMEM;
	}
	h->opts = o;
	h->loop = loop;
	link_init(&h->sockets);
	link_init(&h->requests);
	link_init(&h->ready);
	link_init(&h->rate_wait);
	key_init(&h->anon);
	akr_retry_quota_init(&h->quota, o.retry_quota);
	akr_retry_rng_seed(&h->rng, (uint64_t)(uintptr_t)h);

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		(void)akr_sigv4_key_cache_free(h->keys);
		free(h->ca_bundle);
		free(h);
		return -EIO;
	}
	h->multi = multi_new(h);
	if (!h->multi) {
		curl_global_cleanup();
		(void)akr_sigv4_key_cache_free(h->keys);
		free(h->ca_bundle);
		free(h);
		return -EIO;
	}
	(void)uv_timer_init(loop, &h->curl_timer);
	(void)uv_timer_init(loop, &h->rate_timer);
	(void)uv_timer_init(loop, &h->stop_timer);
	h->curl_timer.data = h;
	h->rate_timer.data = h;
	h->stop_timer.data = h;
	/* It bounds the work left; it is no work of its own to wait for. */
	uv_unref((uv_handle_t *)&h->stop_timer);
	h->refs = 3;
	*ret = h;
	return 0;
}

static void engine_teardown(struct akr_http *h)
{
	h->torn_down = true;
	while (h->n_easy_pool)
		curl_easy_cleanup(h->easy_pool[--h->n_easy_pool]);
	/* No easy handle is left (all were canceled). curl_multi_cleanup() may
	 * still call the socket callback, so the loop and the polls stay valid
	 * until it returns; whatever socket it did not report is closed here. */
	(void)curl_multi_cleanup(h->multi);
	h->multi = NULL;
	while (!link_empty(&h->sockets))
		sock_close(container_of(h->sockets.next, struct http_sock, link));
	uv_close((uv_handle_t *)&h->curl_timer, engine_timer_close_cb);
	uv_close((uv_handle_t *)&h->rate_timer, engine_timer_close_cb);
	uv_close((uv_handle_t *)&h->stop_timer, engine_timer_close_cb);
}

void akr_http_free(struct akr_http *h)
{
	if (!h || h->freeing)
		return;
	akr_http_cancel_all(h);
	h->freeing = true;
	/* Inside one of our callbacks the stack still uses the multi handle:
	 * engine_leave() tears down once it unwinds. */
	if (h->busy == 0)
		engine_teardown(h);
}


int akr_http_request_start(struct akr_http *h, const struct akr_http_request_desc *desc,
			   akr_http_done_cb cb, void *userdata, struct akr_http_request **ret_req)
{
	struct akr_http_request *req;
	struct http_key *k;
	int r;

	if (!h || !desc || !cb)
		return -EINVAL;
	if (h->freeing)
		return -ECANCELED;
	r = akr__http_desc_validate(desc);
	if (r < 0)
		return r;
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->h = h;
	link_init(&req->all);
	link_init(&req->queue);
	req->timeout_ms = desc->timeout_ms ? desc->timeout_ms : HTTP_DEFAULT_TIMEOUT_MS;
	req->max_response_bytes = desc->max_response_bytes ? desc->max_response_bytes
							   : HTTP_DEFAULT_MAX_RESPONSE;
	/* One answer alone always fits in the budget. */
	if (req->max_response_bytes > h->opts.max_buffered_bytes - HTTP_MAX_RESPONSE_HEADER_BYTES)
		req->max_response_bytes = h->opts.max_buffered_bytes - HTTP_MAX_RESPONSE_HEADER_BYTES;
	req->reserve = req->max_response_bytes + HTTP_MAX_RESPONSE_HEADER_BYTES;
	req->sensitive = desc->sensitive;
	req->idempotent = desc->idempotent;
	req->survives_shutdown = desc->survives_shutdown;
	req->signer = desc->signer;
	req->parse_error = desc->parse_error;
	req->cb = cb;
	req->userdata = userdata;
	r = akr__http_request_copy(req, desc);
	if (r == 0)
		r = key_get(h, desc->key, &k);
	if (r == 0) {
		buf_reuse(h, &req->resp_body);
		buf_reuse(h, &req->resp_headers);
	}
	if (r < 0) {
		akr__http_request_clear(req);
		free(req);
		return r;
	}

	(void)uv_timer_init(h->loop, &req->timer);
	req->timer.data = req;
	h->refs++;
	req->key = k;
	k->n_reqs++;
	req->state = REQ_QUEUED;
	link_add_tail(&h->requests, &req->all);
	link_add_tail(&k->queue, &req->queue);
	h->stats.started++;
	h->stats.queued++;
	key_update(h, k);
	/* Failures found while starting are delivered from the loop, never
	 * from here (see finish_later()). */
	dispatch(h);
	if (ret_req)
		*ret_req = req;
	return 0;
}

void akr_http_request_cancel(struct akr_http_request *req)
{
	struct akr_http *h;

	if (!req || req->state == REQ_DONE)
		return;
	h = req->h;
	req_cancel(req);
	dispatch(h);
}

void akr_http_cancel_all(struct akr_http *h)
{
	if (!h)
		return;
	for (struct link *l = h->requests.next; l != &h->requests; l = l->next)
		req_cancel(container_of(l, struct akr_http_request, all));
}

/* Halfway through the grace: the writes still on the wire are canceled (a
 * rollback gets the other half). At its end whatever is left fails. */
static void stop_timer_cb(uv_timer_t *t)
{
	struct akr_http *h = t->data;
	int64_t left = h->shutdown_deadline_ms - now_ms();
	bool halfway = !h->shutdown_halfway_done;

	engine_enter(h);
	h->shutdown_halfway_done = true;
	for (struct link *l = h->requests.next; l != &h->requests; l = l->next) {
		struct akr_http_request *req = container_of(l, struct akr_http_request, all);

		if (req->state == REQ_FINISHING)
			continue;
		if (!halfway)
			req_abort(req, -ETIMEDOUT, AKR_ERROR_TRANSPORT, "timeout",
				  "the daemon is stopping and the time given to finish ran out");
		else if (!req->survives_shutdown)
			req_cancel(req);
	}
	if (halfway)
		(void)uv_timer_start(&h->stop_timer, stop_timer_cb, (uint64_t)(left > 0 ? left : 0), 0);
	dispatch(h);
	engine_leave(h);
}

void akr_http_shutdown(struct akr_http *h, int64_t grace_ms)
{
	int64_t deadline, left;

	if (!h || h->freeing)
		return;
	deadline = now_ms() + (grace_ms > 0 ? grace_ms : 0);
	if (h->shutting_down && deadline >= h->shutdown_deadline_ms)
		return;
	akr_log_debug("http: shutting down, %lld ms for what is left", (long long)grace_ms);
	h->shutting_down = true;
	h->shutdown_deadline_ms = deadline;
	for (struct link *l = h->requests.next; l != &h->requests; l = l->next) {
		struct akr_http_request *req = container_of(l, struct akr_http_request, all);

		if (req->survives_shutdown)
			continue;
		/* A write on the wire may already have taken effect: canceling it
		 * now would race its rollback (which could list the keys before
		 * the service applied it). It gets half the grace to answer. */
		if (req->state == REQ_RUNNING && !req->idempotent)
			continue;
		if (req->state == REQ_BACKOFF || req->state == REQ_QUEUED ||
		    req->state == REQ_RUNNING)
			req_cancel(req);
	}
	/* Attempts on the wire keep the timeout they started with; the stop
	 * timer cuts them: the writes halfway, everything at the deadline. */
	h->shutdown_halfway_done = false;
	left = (deadline - now_ms()) / 2;
	(void)uv_timer_start(&h->stop_timer, stop_timer_cb, (uint64_t)(left > 0 ? left : 0), 0);
	dispatch(h);
}

int akr_http_set_rate(struct akr_http *h, const char *key, double rps)
{
	struct http_key *k;
	int r;

	if (!h || !(rps >= 0) || !isfinite(rps))
		return -EINVAL;
	k = key_find(h, key);
	if (!k) {
		if (rps == 0)
			return 0;
		r = key_get(h, key, &k);
		if (r < 0)
			return r;
	}
	akr_adaptive_rate_set_max(&k->rate, rps, now_ms());
	key_update(h, k);
	key_gc(h, k);
	dispatch(h);
	return 0;
}

double akr_http_get_rate(struct akr_http *h, const char *key)
{
	struct http_key *k = h ? key_find(h, key) : NULL;

	return k ? akr_adaptive_rate_current(&k->rate) : 0;
}

void akr_http_get_stats(const struct akr_http *h, struct akr_http_stats *ret)
{
	*ret = h->stats;
}
