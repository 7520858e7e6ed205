#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "lib/aws/ses.h"
#include "lib/base/buf.h"
#include "lib/delivery/delivery.h"
#include "lib/base/error.h"
#include "lib/base/ratelimit.h"
#include "lib/base/strutil.h"

/* ---- sending ---- */

struct send_item {
	struct send_item *next;
	struct akr_delivery_sender *sender;
	char *source;
	char *recipient;
	struct akr_buf msg;
	akr_delivery_sent_cb cb;
	void *userdata;
	bool over_quota; /* queued when today's quota was used up */
};

struct akr_delivery_sender {
	uv_loop_t *loop;
	const struct akr_aws_client *client;
	akr_delivery_transport_fn transport;
	char *configuration_set;
	struct akr_token_bucket bucket; /* messages per second, on uv_now() */
	double cap;         /* the configured max_send_rate, 0 = none */
	int64_t day_left;   /* messages today's quota still takes, reservations out; -1 = no limit */
	size_t reserved;    /* of them, promised to akr_delivery_send_reserved() */
	uv_timer_t timer;  /* paces the queue */
	struct send_item *head, *tail;
	size_t queued;
	size_t in_flight;
	bool quota_exhausted; /* SES said the daily quota is used up */
	bool freeing;
	bool timer_closed;
};

/* The daemon passes akr_ses_send_raw_email as the transport; checked here
 * without referencing it, so that composing does not link the AWS stack. */
_Static_assert(__builtin_types_compatible_p(typeof(&akr_ses_send_raw_email),
					    akr_delivery_transport_fn),
	       "akr_ses_send_raw_email must fit akr_delivery_transport_fn");

static const char daily_quota_message[] = "Daily message quota exceeded";

static void item_free(struct send_item *it)
{
	if (!it)
		return;
	free(it->source);
	free(it->recipient);
	akr_buf_done(&it->msg); /* wiped when sensitive */
	free(it);
}

static void sender_release_if_idle(struct akr_delivery_sender *s)
{
	if (s->freeing && s->timer_closed && s->in_flight == 0) {
		free(s->configuration_set);
		free(s);
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	struct akr_delivery_sender *s = h->data;

	s->timer_closed = true;
	sender_release_if_idle(s);
}

static int64_t now_ms(const struct akr_delivery_sender *s)
{
	return (int64_t)uv_now(s->loop);
}

static void schedule(struct akr_delivery_sender *s);

static void on_sent(void *userdata, int r, const char *message_id, const struct akr_error *err)
{
	struct send_item *it = userdata;
	struct akr_delivery_sender *s = it->sender;
	struct akr_error quota;

	/* SES answers both rate and daily-quota overruns with "Throttling"; only
	 * the first clears within a retry window (aws-wire.md §8). */
	if (r < 0 && err && strcmp(err->code, "Throttling") == 0 &&
	    strstr(err->message, daily_quota_message)) {
		quota = *err;
		quota.retry = AKR_RETRY_NONE;
		s->quota_exhausted = true;
		s->day_left = 0;
		r = -EDQUOT;
		err = &quota;
	}
	s->in_flight--;
	it->cb(it->userdata, r, r < 0 ? NULL : message_id, err);
	item_free(it);
	sender_release_if_idle(s);
}

static void dispatch(struct akr_delivery_sender *s, struct send_item *it)
{
	struct akr_ses_raw_email m = {
		.source = it->source,
		.destinations = (const char *const *)&it->recipient,
		.n_destinations = 1,
		.configuration_set = s->configuration_set,
		.raw = (const uint8_t *)it->msg.data,
		.raw_len = it->msg.len,
	};
	struct akr_error err = { 0 };
	int r;

	if (s->quota_exhausted || it->over_quota) {
		if (s->quota_exhausted)
			akr_error_set(&err, AKR_ERROR_AWS, 400, "Throttling",
				      "%s (an earlier answer of SES); not sent", daily_quota_message);
		else
			akr_error_set(&err, AKR_ERROR_LOCAL, 0, "DailyQuota",
				      "SES's daily sending quota (Max24HourSend) is used up; not sent");
		err.retry = AKR_RETRY_NONE;
		it->cb(it->userdata, -EDQUOT, NULL, &err);
		item_free(it);
		return;
	}
	s->in_flight++;
	r = s->transport(s->client, &m, on_sent, it);
	if (r < 0) {
		s->in_flight--;
		akr_error_set(&err, AKR_ERROR_LOCAL, 0, "SendFailed",
			      "SendRawEmail could not be started");
		it->cb(it->userdata, r, NULL, &err);
		item_free(it);
	}
}

static void on_timer(uv_timer_t *t)
{
	struct akr_delivery_sender *s = t->data;

	while (s->head) {
		if (!akr_token_bucket_take(&s->bucket, now_ms(s)))
			break;
		struct send_item *it = s->head;
		s->head = it->next;
		if (!s->head)
			s->tail = NULL;
		s->queued--;
		dispatch(s, it);
	}
	schedule(s);
}

/* Arms the timer for the next message the bucket allows; 0 ms still goes
 * through the loop, so no callback runs from inside akr_delivery_send(). */
static void schedule(struct akr_delivery_sender *s)
{
	if (!s->head || s->freeing)
		return;
	(void)uv_timer_start(&s->timer, on_timer,
			     (uint64_t)akr_token_bucket_wait_ms(&s->bucket, now_ms(s)), 0);
}

int akr_delivery_sender_new(uv_loop_t *loop, const struct akr_aws_client *client,
			    const struct akr_delivery_sender_options *opts,
			    struct akr_delivery_sender **ret)
{
	struct akr_delivery_sender *s;

	if (!loop || !opts || !opts->transport || !ret || !(opts->max_send_rate >= 0))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (opts->configuration_set && *opts->configuration_set) {
		s->configuration_set = strdup(opts->configuration_set);
		if (!s->configuration_set) {
			free(s);
			return -ENOMEM;
		}
	}
	s->loop = loop;
	s->client = client;
	s->transport = opts->transport;
	s->cap = opts->max_send_rate;
	s->day_left = -1;
	akr_token_bucket_init(&s->bucket, opts->max_send_rate, now_ms(s));
	(void)uv_timer_init(loop, &s->timer);
	s->timer.data = s;
	*ret = s;
	return 0;
}

void akr_delivery_sender_set_quota(struct akr_delivery_sender *s, double max_send_rate,
				   double remaining_today)
{
	double rate = max_send_rate > 0 && isfinite(max_send_rate) ? max_send_rate : 0;

	if (!s)
		return;
	if (s->cap > 0 && (rate == 0 || s->cap < rate))
		rate = s->cap;
	akr_token_bucket_set_rate(&s->bucket, rate, now_ms(s));
	if (!(remaining_today >= 0))
		s->day_left = -1;
	else if (remaining_today > (double)INT64_MAX / 2)
		s->day_left = INT64_MAX / 2;
	else
		s->day_left = (int64_t)remaining_today;
	/* Reservations already made stay promised. */
	if (s->day_left >= 0)
		s->day_left = s->day_left > (int64_t)s->reserved ? s->day_left - (int64_t)s->reserved : 0;
}

int akr_delivery_sender_reserve(struct akr_delivery_sender *s, size_t n)
{
	if (!s)
		return -EINVAL;
	if (s->quota_exhausted || (s->day_left >= 0 && (uint64_t)s->day_left < n))
		return -EDQUOT;
	if (s->day_left >= 0)
		s->day_left -= (int64_t)n;
	s->reserved += n;
	return 0;
}

void akr_delivery_sender_release(struct akr_delivery_sender *s, size_t n)
{
	if (!s)
		return;
	if (n > s->reserved)
		n = s->reserved;
	s->reserved -= n;
	if (s->day_left >= 0)
		s->day_left += (int64_t)n;
}

double akr_delivery_sender_rate(const struct akr_delivery_sender *s)
{
	return s ? s->bucket.rate : 0;
}

static int enqueue(struct akr_delivery_sender *s, const char *source, const char *recipient,
		   struct akr_buf *msg, akr_delivery_sent_cb cb, void *userdata, bool reserved)
{
	struct send_item *it;

	if (!s || !cb || !msg || !msg->data || s->freeing || !akr_is_valid_email(recipient) ||
	    !akr_is_valid_email(source) || (reserved && s->reserved == 0)) {
		if (msg)
			akr_buf_done(msg);
		return -EINVAL;
	}
	it = calloc(1, sizeof(*it));
	if (it) {
		it->source = strdup(source);
		it->recipient = strdup(recipient);
	}
	if (!it || !it->source || !it->recipient) {
		akr_buf_done(msg);
		item_free(it);
		return -ENOMEM;
	}
	it->sender = s;
	it->msg = *msg;
	*msg = (struct akr_buf){ .max = msg->max, .sensitive = msg->sensitive };
	it->cb = cb;
	it->userdata = userdata;
	/* A message counts against today's quota when it is queued; one
	 * reserved for it was counted already. */
	if (reserved)
		s->reserved--;
	else if (s->day_left == 0)
		it->over_quota = true;
	else if (s->day_left > 0)
		s->day_left--;
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	s->queued++;
	if (!uv_is_active((uv_handle_t *)&s->timer))
		schedule(s);
	return 0;
}

int akr_delivery_send(struct akr_delivery_sender *s, const char *source, const char *recipient,
		      struct akr_buf *msg, akr_delivery_sent_cb cb, void *userdata)
{
	return enqueue(s, source, recipient, msg, cb, userdata, false);
}

int akr_delivery_send_reserved(struct akr_delivery_sender *s, const char *source,
			       const char *recipient, struct akr_buf *msg, akr_delivery_sent_cb cb,
			       void *userdata)
{
	return enqueue(s, source, recipient, msg, cb, userdata, true);
}

size_t akr_delivery_sender_queued(const struct akr_delivery_sender *s)
{
	return s ? s->queued : 0;
}

void akr_delivery_sender_free(struct akr_delivery_sender *s)
{
	struct akr_error err = { 0 };

	if (!s || s->freeing)
		return;
	s->freeing = true;
	akr_error_set(&err, AKR_ERROR_LOCAL, 0, "Canceled", "the sender was stopped");
	while (s->head) {
		struct send_item *it = s->head;
		s->head = it->next;
		s->queued--;
		it->cb(it->userdata, -ECANCELED, NULL, &err);
		item_free(it);
	}
	s->tail = NULL;
	(void)uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, on_timer_closed);
}
