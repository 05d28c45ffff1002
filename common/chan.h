/*
 * chan.h: a message channel on a libevent loop.
 *
 * One struct chan wraps one SOCK_SEQPACKET socket speaking msg.h's
 * protocol.  Received records are decoded with msg_decode() and handed to
 * the dispatch callback; a malformed record, or a dispatch that returns
 * -1, is logged and ends the channel: the closed callback runs once and
 * the owner then calls chan_free().  Nothing a peer sends can crash us.
 *
 * chan_send() never blocks: what the socket does not take at once is
 * queued and written when it becomes writable.  The queue is bounded
 * (CHAN_QUEUE_MAX bytes); past that, log lines are dropped and anything
 * else ends the channel, since a peer that stops reading is broken.
 * chan_send() takes ownership of fd (closes it once sent or dropped).
 *
 * Ownership: the dispatch callback owns m->fd (closes or keeps it).  When
 * a channel dies the closed callback runs once; the owner must forget its
 * pointer there, and chan.c frees the channel itself on the next turn of
 * the loop.  chan_free() is for tearing down a live channel, never from
 * inside its own callbacks.
 */
#ifndef GHP_CHAN_H
#define GHP_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

#define CHAN_QUEUE_MAX	(4 * 1024 * 1024)
#define CHAN_READ_BURST	64	/* records per wake-up, for fairness */

struct event_base;
struct chan;

/* Return 0 to go on, -1 to close the channel. Must not free the chan. */
typedef int	(*chan_dispatch_fn)(struct chan *, struct msg *, void *);
/* The channel is dead (EOF, error, malformed input); do not free it. */
typedef void	(*chan_closed_fn)(struct chan *, void *);

struct chan	*chan_new(struct event_base *, int fd, const char *peer,
		    chan_dispatch_fn, chan_closed_fn, void *arg);
int		 chan_send(struct chan *, uint16_t type, uint32_t peerid,
		    uint32_t reqid, int fd, const void *data, size_t len);
/* Dispatch whatever the peer left in the socket (before freeing). */
void		 chan_read_all(struct chan *);
/* Flush what can be sent now without waiting (before exiting). */
void		 chan_flush(struct chan *);
void		 chan_free(struct chan *);
int		 chan_fd(const struct chan *);
const char	*chan_peer(const struct chan *);
int		 chan_dead(const struct chan *);
/* Bytes waiting to be written to the peer. */
size_t		 chan_queued(const struct chan *);

#endif /* GHP_CHAN_H */
