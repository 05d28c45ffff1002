/*
 * proc.c: the master's children.
 *
 * Every child is forked from the master with a SOCK_SEQPACKET channel on
 * fd 3 (and, for workers, the listening sockets on 4, 5, ...); all other
 * descriptors are closed, so a child holds nothing of the master's but
 * what it is given.  A child exits when its channel reads EOF.
 *
 * Supervision: a child that dies unasked is restarted, at once if it had
 * run PROC_STABLE seconds or more, otherwise after a delay of 1 second
 * that doubles (up to PROC_BACKOFF_MAX seconds) while it keeps dying
 * within PROC_STABLE seconds of its start.  A child that
 * exits with EX_CONFIG (78) is not restarted: its config cannot work and
 * a crash loop would only hide that.  A child whose channel breaks (EOF
 * or a malformed message) is killed, since we can no longer speak to it.
 *
 * Workers and the keyholder meet through socketpairs the master makes
 * and passes with SCM_RIGHTS: one end to the worker (MSG_KEYHOLDER_FD),
 * the other to the keyholder (MSG_WORKER_CHANNEL, peerid = worker id).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "keyholder.h"
#include "log.h"
#include "master.h"
#include "util.h"
#include "worker.h"

#define PROC_STABLE		10	/* seconds alive that count as healthy */
#define PROC_BACKOFF_MAX	30	/* seconds */
#define PROC_CHILD_FD		3	/* the channel's fd in a child */

struct backoff {
	int	failures;
};

struct respawn {
	enum proc_role	role;
	int		slot;
	int		generation;
};

static struct backoff	 worker_backoff[CONFIG_MAX_WORKERS];
static struct backoff	 keyholder_backoff;

static int	proc_dispatch(struct chan *, struct msg *, void *);
static void	proc_chan_closed(struct chan *, void *);
static void	proc_spawn(enum proc_role, int slot);

void
proc_init(void)
{
	TAILQ_INIT(&master->procs);
}

const char *
proc_role_name(enum proc_role r)
{
	switch (r) {
	case ROLE_MASTER:
		return "master";
	case ROLE_KEYHOLDER:
		return "keyholder";
	case ROLE_WORKER:
		return "worker";
	}
	return "?";
}

const char *
proc_state_name(enum proc_state s)
{
	switch (s) {
	case PROC_STARTING:
		return "starting";
	case PROC_RUNNING:
		return "running";
	case PROC_DRAINING:
		return "draining";
	case PROC_EXITED:
		return "exited";
	}
	return "?";
}

static struct proc *
proc_keyholder(void)
{
	struct proc *p;

	TAILQ_FOREACH(p, &master->procs, entry)
		if (p->role == ROLE_KEYHOLDER && p->state != PROC_DRAINING)
			return p;
	return NULL;
}

int
proc_count_live(enum proc_role role)
{
	struct proc *p;
	int n = 0;

	TAILQ_FOREACH(p, &master->procs, entry)
		if (p->role == role)
			n++;
	return n;
}

/*
 * In the child: put the descriptors it keeps on 3, 4, ... in order and
 * close every other one above stderr.
 */
static void
proc_child_fds(int *fds, int n)
{
	int i, tmp[1 + 2 * CONFIG_MAX_WORKERS];

	if (n > (int)(sizeof(tmp) / sizeof(tmp[0])))
		fatalx("%s: too many descriptors", __func__);
	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(fds[i], F_DUPFD, PROC_CHILD_FD + n)) == -1)
			fatal("%s: dup", __func__);
	for (i = 0; i < n; i++) {
		if (dup2(tmp[i], PROC_CHILD_FD + i) == -1)
			fatal("%s: dup2", __func__);
		fds[i] = PROC_CHILD_FD + i;
	}
	closefrom(PROC_CHILD_FD + n);
}

/* Children leave signals to the master: it tells them what to do. */
static void
proc_child_signals(void)
{
	sigset_t set;

	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

static void __attribute__((__noreturn__))
proc_run_worker(struct proc *p, int chan_fd)
{
	struct worker_listener wl[2 * CONFIG_MAX_WORKERS];
	struct worker_args args;
	struct listener *l;
	int fds[1 + 2 * CONFIG_MAX_WORKERS], n = 0, i;

	fds[n++] = chan_fd;
	TAILQ_FOREACH(l, &master->listeners, entry) {
		if (n >= (int)(sizeof(fds) / sizeof(fds[0])))
			fatalx("too many listeners");
		wl[n - 1].tls = l->tls;
		wl[n - 1].tls_cert = l->tls_cert;
		wl[n - 1].tls_key = l->tls_key;
		wl[n - 1].proxy = l->proxy;
		fds[n++] = l->fd;
	}
	proc_child_fds(fds, n);
	for (i = 1; i < n; i++)
		wl[i - 1].fd = fds[i];
	memset(&args, 0, sizeof(args));
	args.conf = master->conf;
	args.acct = &master->worker_acct;
	args.id = p->id;
	args.slot = p->slot;
	args.generation = p->generation;
	args.chan_fd = fds[0];
	args.listeners = wl;
	args.nlisteners = n - 1;
	worker_main(&args);
}

static void
proc_spawn(enum proc_role role, int slot)
{
	struct proc *p;
	char name[64];
	int sv[2], fd;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("%s: socketpair", __func__);
	p = xcalloc(1, sizeof(*p));
	p->role = role;
	p->slot = slot;
	p->generation = master->generation;
	p->id = ++master->next_id;
	p->state = PROC_STARTING;
	p->started = monotime();
	p->started_wall = time(NULL);
	switch ((pid = fork())) {
	case -1:
		fatal("%s: fork", __func__);
	case 0:
		close(sv[0]);
		proc_child_signals();
		if (role == ROLE_WORKER)
			proc_run_worker(p, sv[1]);
		fd = sv[1];
		proc_child_fds(&fd, 1);
		keyholder_main(master->conf, &master->keyholder_acct, fd);
	}
	close(sv[1]);
	p->pid = pid;
	if (role == ROLE_WORKER)
		(void)snprintf(name, sizeof(name), "worker %d.%d pid %d",
		    p->generation, slot, (int)pid);
	else
		(void)snprintf(name, sizeof(name), "keyholder pid %d",
		    (int)pid);
	p->chan = chan_new(master->base, sv[0], name, proc_dispatch,
	    proc_chan_closed, p);
	TAILQ_INSERT_TAIL(&master->procs, p, entry);
	log_debug("started %s", name);
}

/* Give a worker a fresh channel to the keyholder, if there is one. */
static void
proc_pair(struct proc *w, struct proc *kh)
{
	int sv[2];

	if (w->chan == NULL || kh->chan == NULL)
		return;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", __func__);
		return;
	}
	chan_send(kh->chan, MSG_WORKER_CHANNEL, w->id, 0, sv[0], NULL, 0);
	chan_send(w->chan, MSG_KEYHOLDER_FD, w->id, 0, sv[1], NULL, 0);
}

static void
proc_pair_all(struct proc *kh)
{
	struct proc *p;

	TAILQ_FOREACH(p, &master->procs, entry)
		if (p->role == ROLE_WORKER)
			proc_pair(p, kh);
}

void
proc_start_keyholder(void)
{
	proc_spawn(ROLE_KEYHOLDER, 0);
}

void
proc_start_generation(void)
{
	struct proc *kh = proc_keyholder(), *p;
	int slot;

	for (slot = 0; slot < master->conf->workers; slot++) {
		worker_backoff[slot].failures = 0;
		proc_spawn(ROLE_WORKER, slot);
		p = TAILQ_LAST(&master->procs, proc_list);
		if (kh != NULL && kh->state == PROC_RUNNING)
			proc_pair(p, kh);
	}
}

static void
proc_stop(struct proc *p)
{
	if (p->state == PROC_DRAINING)
		return;
	p->state = PROC_DRAINING;
	if (p->chan != NULL)
		chan_send(p->chan, MSG_STOP, 0, 0, -1, NULL, 0);
	else
		kill(p->pid, SIGTERM);
}

void
proc_stop_old_generations(void)
{
	struct proc *p;

	TAILQ_FOREACH(p, &master->procs, entry)
		if (p->role == ROLE_WORKER &&
		    p->generation < master->generation)
			proc_stop(p);
}

/* Graceful stop: workers first; the keyholder once they are gone. */
void
proc_stop_all(void)
{
	struct proc *p;
	int workers = 0;

	TAILQ_FOREACH(p, &master->procs, entry) {
		if (p->role == ROLE_WORKER) {
			proc_stop(p);
			workers++;
		}
	}
	if (workers == 0)
		TAILQ_FOREACH(p, &master->procs, entry)
			proc_stop(p);
}

void
proc_kill_all(void)
{
	struct proc *p;

	TAILQ_FOREACH(p, &master->procs, entry) {
		log_warnx("%s pid %d did not stop within the shutdown "
		    "timeout, killing it", proc_role_name(p->role),
		    (int)p->pid);
		kill(p->pid, SIGKILL);
	}
}

static int
proc_dispatch_log(struct proc *p, struct msg *m)
{
	struct msg_log ml;
	char line[2048];
	size_t n;

	memcpy(&ml, m->data, sizeof(ml));
	if (ml.priority < LOG_EMERG || ml.priority > LOG_DEBUG)
		return -1;
	n = m->len - sizeof(ml);
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, m->data + sizeof(ml), n);
	line[n] = '\0';
	log_emit(ml.priority, line);
	return 0;
}

static int
proc_dispatch(struct chan *c, struct msg *m, void *arg)
{
	struct proc *p = arg;
	struct msg_keyholder_ready kr;
	struct msg_ctl_end end;
	struct msg_stats st;

	switch (m->hdr.type) {
	case MSG_LOG:
		return proc_dispatch_log(p, m);
	case MSG_WORKER_READY:
		if (p->role != ROLE_WORKER)
			return -1;
		if (p->state == PROC_STARTING)
			p->state = PROC_RUNNING;
		if (master->audit_failing)
			proc_audit_failing(p);
		if (p->generation == master->generation)
			proc_stop_old_generations();
		return 0;
	case MSG_STATS:
		if (p->role != ROLE_WORKER)
			return -1;
		memcpy(&st, m->data, sizeof(st));
		p->requests = st.requests;
		p->connections = st.connections;
		control_stats_reply(p, &st, m->hdr.reqid);
		return 0;
	case MSG_METRICS:
		if (p->role != ROLE_WORKER)
			return -1;
		metrics_reply(p, m);
		return 0;
	case MSG_RESOLVE:
		if (p->role != ROLE_WORKER)
			return -1;
		return resolver_request(p, m);
	case MSG_AUDIT:
	case MSG_ACCESS:
		if (p->role != ROLE_WORKER || memchr(m->data, '\n', m->len))
			return -1;
		master_log_record(m->hdr.type == MSG_AUDIT ?
		    master->audit_fd : master->access_fd, m->data, m->len);
		return 0;
	case MSG_RECORDS:
		if (p->role != ROLE_WORKER)
			return -1;
		return master_log_records(m->data, m->len);
	case MSG_KH_CTL_ANSWER:
		if (p->role != ROLE_KEYHOLDER)
			return -1;
		memcpy(&end, m->data, sizeof(end));
		control_keyholder_answer(m->hdr.peerid, end.status,
		    (const char *)m->data + sizeof(end), m->len - sizeof(end));
		return 0;
	case MSG_KEYHOLDER_READY:
		if (p->role != ROLE_KEYHOLDER || p->state != PROC_STARTING)
			return -1;
		memcpy(&kr, m->data, sizeof(kr));
		memcpy(master->box_public_key, kr.box_public_key,
		    sizeof(master->box_public_key));
		master->have_public_key = 1;
		p->state = PROC_RUNNING;
		log_debug("keyholder pid %d ready", (int)p->pid);
		proc_pair_all(p);
		return 0;
	default:
		return -1;
	}
}

static void
proc_chan_closed(struct chan *c, void *arg)
{
	struct proc *p = arg;

	p->chan = NULL;
	control_proc_gone(p);
	/* We cannot talk to it any more: make sure it is gone. */
	if (p->pid > 0 && !master->stopping)
		kill(p->pid, SIGKILL);
}

static void
proc_respawn_cb(int fd, short ev, void *arg)
{
	struct respawn *r = arg;

	if (!master->stopping && (r->role == ROLE_KEYHOLDER ||
	    r->generation == master->generation)) {
		proc_spawn(r->role, r->slot);
		if (r->role == ROLE_WORKER && proc_keyholder() != NULL &&
		    proc_keyholder()->state == PROC_RUNNING)
			proc_pair(TAILQ_LAST(&master->procs, proc_list),
			    proc_keyholder());
	}
	free(r);
}

static void
proc_schedule_respawn(struct proc *p)
{
	struct backoff *b;
	struct respawn *r;
	struct timeval tv = { 0, 0 };

	b = p->role == ROLE_WORKER ? &worker_backoff[p->slot] :
	    &keyholder_backoff;
	if (monotime() - p->started < PROC_STABLE)
		b->failures++;
	else
		b->failures = 0;
	if (b->failures > 0) {
		tv.tv_sec = b->failures > 5 ? PROC_BACKOFF_MAX :
		    1 << (b->failures - 1);
		if (tv.tv_sec > PROC_BACKOFF_MAX)
			tv.tv_sec = PROC_BACKOFF_MAX;
		log_warnx("%s slot %d keeps dying: restarting in %lds",
		    proc_role_name(p->role), p->slot, (long)tv.tv_sec);
	}
	r = xcalloc(1, sizeof(*r));
	r->role = p->role;
	r->slot = p->slot;
	r->generation = p->generation;
	if (event_base_once(master->base, -1, EV_TIMEOUT, proc_respawn_cb, r,
	    &tv) == -1)
		fatalx("%s: event_base_once", __func__);
}

static void
proc_exited(struct proc *p, int status)
{
	int expected = master->stopping || p->state == PROC_DRAINING;
	char how[64];

	if (WIFEXITED(status))
		(void)snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		(void)snprintf(how, sizeof(how), "killed by signal %d%s",
		    WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
		    " (sandbox violation)" : "");
	else
		(void)snprintf(how, sizeof(how), "gone (status %#x)", status);
	if (expected && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_debug("%s pid %d %s", proc_role_name(p->role),
		    (int)p->pid, how);
	else
		log_warnx("%s pid %d %s", proc_role_name(p->role),
		    (int)p->pid, how);
	if (expected)
		return;
	if (p->role == ROLE_WORKER && p->generation != master->generation)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) == EX_CONFIG) {
		log_warnx("%s pid %d cannot run with this configuration: "
		    "not restarting it", proc_role_name(p->role), (int)p->pid);
		return;
	}
	proc_schedule_respawn(p);
}

void
proc_reap(void)
{
	struct proc *p;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		TAILQ_FOREACH(p, &master->procs, entry)
			if (p->pid == pid)
				break;
		if (p == NULL)
			continue;
		TAILQ_REMOVE(&master->procs, p, entry);
		p->pid = -1;	/* reaped: never signal it again */
		/* Its last words (a fatal error, say) are still queued. */
		if (p->chan != NULL)
			chan_read_all(p->chan);
		if (p->chan != NULL) {
			chan_free(p->chan);
			p->chan = NULL;
		}
		p->pid = pid;
		control_proc_gone(p);
		proc_exited(p, status);
		free(p);
	}
	master_exit_if_done();
}

void
proc_audit_failing(struct proc *one)
{
	struct proc *p, *tmp;

	TAILQ_FOREACH_SAFE(p, &master->procs, entry, tmp)
		if (p->role == ROLE_WORKER && p->chan != NULL &&
		    (one == NULL || p == one))
			(void)chan_send(p->chan, MSG_AUDIT_FAILING, 0, 0, -1,
			    NULL, 0);
}
