/*
 * tunnel.h: a CONNECT that a forward-proxy listener lets through without
 * intercepting it ("proxy allow", "proxy policy permissive" in
 * ghp.conf(5)).
 *
 * The worker cannot reach a name server from its sandbox, so the host's
 * address comes from the master (MSG_RESOLVE; the master checks the
 * name against the config too).  Once connected, tunnel_start() copies
 * bytes both ways as they are, at most TUNNEL_HIGH queued per direction
 * (reading stops until the other side takes them), until either side
 * closes (what is queued is delivered first), nothing moves for the
 * idle timeout, or the tunnel has lasted "proxy tunnel timeout".  The
 * connection is then closed (conn_close()).
 */
#ifndef GHP_TUNNEL_H
#define GHP_TUNNEL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct chan;
struct conn;
struct event_base;
struct msg;
struct resolve_wait;
struct tunnel;

/* status: 0 found (sa), 1 refused by the config, 2 not found. */
typedef void	(*tunnel_resolved_cb)(int status, const struct sockaddr *sa,
		    size_t salen, void *arg);

void	tunnel_init(struct event_base *, struct chan *master);
/* NULL when the master cannot be asked. */
struct resolve_wait *tunnel_resolve(const char *host, tunnel_resolved_cb,
	    void *arg);
void	tunnel_resolve_cancel(struct resolve_wait *);
/* MSG_RESOLVED from the master; -1 if malformed. */
int	tunnel_resolved(const struct msg *);
/* The connection becomes a tunnel to up (connected); up is the tunnel's. */
void	tunnel_start(struct conn *, struct bufferevent *up, int lifetime,
	    int idle);
void	tunnel_free(struct tunnel *);
/* Tunnels opened and bytes copied since the worker started. */
void	tunnel_counts(uint64_t *opened, uint64_t *bytes);

#endif /* GHP_TUNNEL_H */
