/*
 * request.h: one client request through ghp's pipeline.
 *
 *	head parsed (server.c) -> route by host and path -> find the token
 *	-> resolve it (tcache.c, the keyholder) -> check the scope
 *	(scope.c) -> write the audit record -> swap the credential ->
 *	forward and stream both ways (upstream.c) -> access record
 *
 * Everything refused is answered here in GitHub's error shape and never
 * reaches upstream.  The credential is copied into the request for the
 * transfer's set-up only and zeroed at once.
 */
#ifndef GHP_REQUEST_H
#define GHP_REQUEST_H

#include "config.h"

struct chan;

/* The worker's config and master channel, for records. */
struct event_base;
void	request_init(const struct config *, struct chan *master,
	    struct event_base *);
/* Send the audit and access records queued in this turn now (exiting). */
void	records_flush(void);
/*
 * Before privileges are dropped: the mirrors' addresses and the netrc
 * credentials for checking them (sites.c).
 */
int	sites_init(const struct config *);
/* The master cannot write the audit log: refuse every request (503). */
void	request_audit_failing(void);

#endif /* GHP_REQUEST_H */
