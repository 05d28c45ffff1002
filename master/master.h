/*
 * master.h: the master process's modules and the state they share.
 *
 * ghp.c       main(): options, -n, start-up, signals, the loop, reload
 * proc.c      the children: fork, hand over descriptors, supervise,
 *             respawn with backoff, drain and stop
 * listen.c    listening sockets, kept by address across reloads
 * control.c   the control socket that ghpctl talks to
 *
 * The master never parses client traffic.  It parses the config, owns
 * the listening sockets and log files, and forks everything else.
 */
#ifndef GHP_MASTER_H
#define GHP_MASTER_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include "compat.h"
#include "config.h"
#include "msg.h"
#include "sandbox.h"

struct event_base;
struct chan;

enum proc_role {
	ROLE_MASTER,
	ROLE_KEYHOLDER,
	ROLE_WORKER
};

enum proc_state {
	PROC_STARTING,	/* forked, not ready yet */
	PROC_RUNNING,
	PROC_DRAINING,	/* told to stop, finishing in-flight requests */
	PROC_EXITED
};

struct proc {
	TAILQ_ENTRY(proc) entry;
	enum proc_role	 role;
	enum proc_state	 state;
	uint32_t	 id;		/* unique for the master's lifetime */
	int		 slot;		/* worker slot in its generation */
	int		 generation;
	pid_t		 pid;
	time_t		 started;	/* monotonic */
	time_t		 started_wall;
	struct chan	*chan;
	uint64_t	 requests;	/* last reported */
	uint32_t	 connections;
	uint32_t	 stats_answered;	/* last stats round answered */
	int		 stats_gone;	/* no longer counted in rounds */
};
TAILQ_HEAD(proc_list, proc);

/* A listening socket the master holds for its workers. */
struct listener {
	TAILQ_ENTRY(listener) entry;
	int		 fd;
	char		*addr;		/* as configured */
	uint16_t	 port;
	int		 tls;
	const char	*tls_cert;	/* in master->conf */
	const char	*tls_key;
	int		 proxy;
	int		 mark;		/* reconcile scratch */
};
TAILQ_HEAD(listener_list, listener);

struct master {
	struct event_base *base;
	struct config	*conf;
	const char	*conf_path;
	int		 generation;
	int		 foreground;
	int		 verbose;
	int		 stopping;
	time_t		 started;	/* monotonic */
	struct priv_account worker_acct;
	struct priv_account keyholder_acct;
	int		 privileged;	/* running as root */
	struct proc_list procs;
	struct listener_list listeners;
	uint32_t	 next_id;
	int		 audit_fd;
	int		 access_fd;
	int		 audit_failing;	/* a write failed: workers refuse */
	int		 audit_losing;	/* ... or, "unwritable serve", go on */
	uint64_t	 audit_lost;	/* records that could not be written */
	int		 access_failing; /* a write failed: said once */
	char		*control_path;	/* bound at start, kept */
	uint8_t		 box_public_key[32];
	int		 have_public_key;
};

extern struct master *master;

/* resolver.c: a worker asks for a tunnel host's address. */
void	 resolver_init(struct event_base *);
int	 resolver_request(struct proc *, const struct msg *);

/* ghp.c */
int	 master_reload(char *err, size_t errlen);
void	 master_exit_if_done(void);
void	 master_log_record(int fd, const void *, size_t);

/* proc.c */
void	 proc_init(void);
void	 proc_start_keyholder(void);
void	 proc_start_generation(void);
void	 proc_stop_old_generations(void);
void	 proc_stop_all(void);
void	 proc_reap(void);
/* Tell running workers (or one starting) that the audit log fails. */
/* Lines per writev(2) of MSG_RECORDS (IOV_MAX is 1024). */
#define MASTER_RECORDS_MAX	1024
struct iovec;
int	 master_log_records(const uint8_t *, size_t);
void	 master_log_lines(int, const struct iovec *, int, size_t, size_t);
void	 proc_audit_failing(struct proc *);
void	 proc_kill_all(void);
int	 proc_count_live(enum proc_role);
const char *proc_role_name(enum proc_role);
const char *proc_state_name(enum proc_state);

/* listen.c */
int	 listen_reconcile(const struct config *, char *err, size_t errlen);
void	 listen_close_unmarked(void);
void	 listen_close_all(void);
int	 listen_count(void);

/* metrics.c */
void	 metrics_init(const struct config *);
void	 metrics_reply(struct proc *, const struct msg *);

/* control.c */
void	 control_init(const char *path);
void	 control_cleanup(void);
void	 control_stats_reply(struct proc *, const struct msg_stats *,
	    uint32_t reqid);
void	 control_proc_gone(struct proc *);
void	 control_keyholder_answer(uint32_t id, int status, const char *,
	    size_t);

#endif /* GHP_MASTER_H */
