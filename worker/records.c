/*
 * records.c: audit and access records on their way to the master, and
 * the transfers that wait for their audit record (contract in
 * request_priv.h).
 *
 * A record is one line of JSON.  Rather than one message per record,
 * what a turn of the worker's loop produces goes to the master in one
 * MSG_RECORDS message, each line led by 'a' (audit) or 'x' (access), and
 * the master writes each log's lines with one write.  The flush is an
 * event made active when the first record of a turn comes, so it runs
 * once the callbacks already due in that turn have run.
 *
 * The promise that nothing is forwarded before its audit record is
 * kept by order: a request ready to go upstream waits in a queue, and
 * the flush sends the records first, then starts the queued transfers.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "chan.h"
#include "log.h"
#include "msg.h"
#include "request.h"
#include "request_priv.h"
#include "util.h"

/* A batch stays well under what one message may carry. */
#define RECORDS_BATCH	(MSG_MAX_PAYLOAD - 4096)

static struct chan	*rec_master;
static struct evbuffer	*rec_batch;
static struct evbuffer	*rec_line;	/* the record being written */
static struct event	*rec_flush_ev;
static int		 rec_flush_due;
static TAILQ_HEAD(, request) rec_waiting =
    TAILQ_HEAD_INITIALIZER(rec_waiting);

static void	records_flush_cb(int, short, void *);

void
records_init(struct event_base *base, struct chan *master)
{
	rec_master = master;
	if ((rec_batch = evbuffer_new()) == NULL ||
	    (rec_line = evbuffer_new()) == NULL ||
	    (rec_flush_ev = event_new(base, -1, 0, records_flush_cb,
	    NULL)) == NULL)
		fatalx("%s: out of memory", __func__);
}

static void
records_due(void)
{
	if (rec_flush_due)
		return;
	rec_flush_due = 1;
	event_active(rec_flush_ev, EV_TIMEOUT, 1);
}

void
records_flush(void)
{
	size_t len = evbuffer_get_length(rec_batch);

	if (len == 0 || rec_master == NULL)
		return;
	(void)chan_send(rec_master, MSG_RECORDS, 0, 0, -1,
	    evbuffer_pullup(rec_batch, -1), len);
	evbuffer_drain(rec_batch, len);
}

struct evbuffer *
records_line(void)
{
	evbuffer_drain(rec_line, evbuffer_get_length(rec_line));
	return rec_line;
}

void
records_commit(uint16_t type)
{
	size_t n = evbuffer_get_length(rec_line);

	if (n + 2 > RECORDS_BATCH) {
		log_warnx("a %s record of %zu bytes is too long to send",
		    type == MSG_AUDIT ? "audit" : "access", n);
		evbuffer_drain(rec_line, n);
		return;
	}
	if (evbuffer_get_length(rec_batch) + n + 2 > RECORDS_BATCH)
		records_flush();
	evbuffer_add(rec_batch, type == MSG_AUDIT ? "a" : "x", 1);
	evbuffer_add_buffer(rec_batch, rec_line);
	evbuffer_add(rec_batch, "\n", 1);
	records_due();
}

void
records_then_start(struct request *r)
{
	TAILQ_INSERT_TAIL(&rec_waiting, r, rec_entry);
	r->rec_waiting = 1;
	records_due();
}

void
records_forget(struct request *r)
{
	if (!r->rec_waiting)
		return;
	TAILQ_REMOVE(&rec_waiting, r, rec_entry);
	r->rec_waiting = 0;
	request_unstarted_free(r);
}

static void
records_flush_cb(int fd, short ev, void *arg)
{
	struct request *r;

	rec_flush_due = 0;
	records_flush();
	while ((r = TAILQ_FIRST(&rec_waiting)) != NULL) {
		TAILQ_REMOVE(&rec_waiting, r, rec_entry);
		r->rec_waiting = 0;
		request_start_upstream(r);	/* may end r */
	}
}
