/*
 * control.c: the control socket ghpctl talks to.
 *
 * A SOCK_SEQPACKET Unix socket, mode 0600, speaking msg.h: the client
 * sends MSG_CTL_HELLO with its protocol version, then one command; the
 * master answers with MSG_CTL_DATA records (text) and one MSG_CTL_END
 * carrying ghpctl's exit status and, on failure, a reason.
 *
 * status asks every worker for its counters (MSG_STATS_REQ, tagged with a
 * request id) and answers when all have replied or after a second, so a
 * stuck worker cannot stall ghpctl.  reload answers with the parse
 * result: the new generation, or every file:line error.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "chan.h"
#include "log.h"
#include "master.h"
#include "util.h"

#define CONTROL_STATUS_WAIT	1	/* seconds to wait for workers */
#define CONTROL_MAX_CLIENTS	32

struct ctl_client {
	TAILQ_ENTRY(ctl_client) entry;
	struct chan	*chan;
	int		 hello;		/* version agreed */
	int		 busy;		/* a command is being answered */
	uint32_t	 reqid;		/* status: the stats round */
	int		 pending;	/* status: workers yet to answer */
	struct event	*timer;
	uint32_t	 id;		/* peerid for relayed commands */
	int		 at_keyholder;	/* waiting for the keyholder */
	int		 apps_pending;	/* status: the keyholder's Apps */
	json_t		*apps;		/* status: its answer */
};

static TAILQ_HEAD(, ctl_client) ctl_clients =
    TAILQ_HEAD_INITIALIZER(ctl_clients);
static int		 ctl_fd = -1;
static struct event	*ctl_ev;
static uint32_t		 ctl_next_reqid;
static int		 ctl_nclients;
static uint32_t		 ctl_next_id;

static void	control_accept(int, short, void *);
static int	control_dispatch(struct chan *, struct msg *, void *);
static void	control_closed(struct chan *, void *);
static void	control_keyholder_gone(void);
static struct proc *control_keyholder(void);
static void	control_status_done(struct ctl_client *);

void
control_init(const char *path)
{
	struct sockaddr_un sun;
	mode_t old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    path) >= sizeof(sun.sun_path))
		fatalx("control socket %s: path too long", path);
	if ((ctl_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		fatal("control socket");
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("control socket %s: unlink", path);
	old = umask(S_IRWXG | S_IRWXO);
	if (bind(ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("control socket %s: bind", path);
	umask(old);
	if (chmod(path, S_IRUSR | S_IWUSR) == -1)
		fatal("control socket %s: chmod", path);
	if (listen(ctl_fd, 16) == -1)
		fatal("control socket %s: listen", path);
	ctl_ev = event_new(master->base, ctl_fd, EV_READ | EV_PERSIST,
	    control_accept, NULL);
	event_add(ctl_ev, NULL);
	master->control_path = xstrdup(path);
}

void
control_cleanup(void)
{
	if (master->control_path != NULL)
		(void)unlink(master->control_path);
}

static void
control_accept(int fd, short ev, void *arg)
{
	struct ctl_client *cc;
	int s;

	if ((s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("control: accept");
		return;
	}
	if (ctl_nclients >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: too many clients");
		close(s);
		return;
	}
	cc = xcalloc(1, sizeof(*cc));
	cc->id = ++ctl_next_id;
	cc->chan = chan_new(master->base, s, "control client",
	    control_dispatch, control_closed, cc);
	TAILQ_INSERT_TAIL(&ctl_clients, cc, entry);
	ctl_nclients++;
}

static void
control_client_free(struct ctl_client *cc)
{
	TAILQ_REMOVE(&ctl_clients, cc, entry);
	ctl_nclients--;
	if (cc->timer != NULL)
		event_free(cc->timer);
	json_decref(cc->apps);
	free(cc);
}

static void
control_closed(struct chan *c, void *arg)
{
	control_client_free(arg);
}

/* Send text (in pieces that fit a record), then the end record. */
static void
control_answer(struct ctl_client *cc, int status, const char *text,
    const char *reason)
{
	struct msg_ctl_end end;
	uint8_t buf[sizeof(end) + 1024];
	size_t off, n, rlen;

	for (off = 0, n = text ? strlen(text) : 0; off < n; ) {
		rlen = n - off > MSG_MAX_PAYLOAD ? MSG_MAX_PAYLOAD : n - off;
		chan_send(cc->chan, MSG_CTL_DATA, 0, 0, -1, text + off, rlen);
		off += rlen;
	}
	end.status = status;
	rlen = reason ? strlen(reason) : 0;
	if (rlen > sizeof(buf) - sizeof(end))
		rlen = sizeof(buf) - sizeof(end);
	memcpy(buf, &end, sizeof(end));
	if (rlen > 0)
		memcpy(buf + sizeof(end), reason, rlen);
	chan_send(cc->chan, MSG_CTL_END, 0, 0, -1, buf, sizeof(end) + rlen);
	cc->busy = 0;
}

static json_t *
control_proc_json(const char *role, pid_t pid, const char *state,
    time_t started)
{
	return json_pack("{s:s, s:i, s:s, s:I}", "role", role, "pid",
	    (int)pid, "state", state, "uptime_s",
	    (json_int_t)(monotime() - started));
}

static char *
control_status_json(struct ctl_client *cc)
{
	json_t *root, *procs, *o;
	struct proc *p;
	char *s;

	procs = json_array();
	json_array_append_new(procs, control_proc_json("master", getpid(),
	    master->stopping ? "stopping" : "running", master->started));
	TAILQ_FOREACH(p, &master->procs, entry) {
		o = control_proc_json(proc_role_name(p->role), p->pid,
		    proc_state_name(p->state), p->started);
		json_object_set_new(o, "generation",
		    json_integer(p->generation));
		if (p->role == ROLE_WORKER) {
			json_object_set_new(o, "slot", json_integer(p->slot));
			json_object_set_new(o, "requests",
			    json_integer((json_int_t)p->requests));
			json_object_set_new(o, "connections",
			    json_integer(p->connections));
		}
		json_array_append_new(procs, o);
	}
	root = json_pack("{s:i, s:s, s:I, s:o}", "generation",
	    master->generation, "config", master->conf_path, "uptime_s",
	    (json_int_t)(monotime() - master->started), "processes", procs);
	if (root == NULL)
		fatalx("%s: json_pack", __func__);
	json_object_set_new(root, "apps", cc->apps != NULL ? cc->apps :
	    json_array());
	cc->apps = NULL;
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (s == NULL)
		fatalx("%s: json_dumps", __func__);
	return s;
}

static void
control_status_done(struct ctl_client *cc)
{
	char *s;
	size_t n;

	if (cc->timer != NULL)
		event_del(cc->timer);
	cc->pending = 0;
	cc->apps_pending = 0;
	s = control_status_json(cc);
	n = strlen(s);
	s = xreallocarray(s, n + 2, 1);
	s[n] = '\n';
	s[n + 1] = '\0';
	control_answer(cc, 0, s, NULL);
	free(s);
}

static void
control_status_timeout(int fd, short ev, void *arg)
{
	control_status_done(arg);
}

static void
control_status(struct ctl_client *cc)
{
	struct timeval tv = { CONTROL_STATUS_WAIT, 0 };
	struct proc *p;

	cc->reqid = ++ctl_next_reqid;
	cc->pending = 0;
	if ((p = control_keyholder()) != NULL && chan_send(p->chan,
	    MSG_KH_CTL, cc->id, 0, -1, "{\"cmd\":\"app-status\"}", 20) == 0) {
		cc->apps_pending = 1;
		cc->pending++;
	}
	TAILQ_FOREACH(p, &master->procs, entry) {
		if (p->role != ROLE_WORKER || p->chan == NULL)
			continue;
		if (chan_send(p->chan, MSG_STATS_REQ, 0, cc->reqid, -1, NULL,
		    0) == 0)
			cc->pending++;
	}
	if (cc->pending == 0) {
		control_status_done(cc);
		return;
	}
	if (cc->timer == NULL)
		cc->timer = evtimer_new(master->base, control_status_timeout,
		    cc);
	evtimer_add(cc->timer, &tv);
}

/* A worker answered a stats round; finish the round when all have. */
void
control_stats_reply(struct proc *p, const struct msg_stats *st,
    uint32_t reqid)
{
	struct ctl_client *cc;

	p->stats_answered = reqid;
	TAILQ_FOREACH(cc, &ctl_clients, entry) {
		if (cc->pending > 0 && cc->reqid == reqid) {
			if (--cc->pending == 0)
				control_status_done(cc);
			return;
		}
	}
}

/* A worker went away: do not wait for its answer. */
void
control_proc_gone(struct proc *p)
{
	struct ctl_client *cc, *tmp;

	if (p->role == ROLE_KEYHOLDER)
		control_keyholder_gone();
	if (p->role != ROLE_WORKER || p->stats_gone)
		return;
	p->stats_gone = 1;
	TAILQ_FOREACH_SAFE(cc, &ctl_clients, entry, tmp)
		if (cc->pending > 0 && p->stats_answered != cc->reqid &&
		    --cc->pending == 0)
			control_status_done(cc);
}

static void
control_reload(struct ctl_client *cc)
{
	char err[MSG_MAX_PAYLOAD / 2], text[128];

	if (master_reload(err, sizeof(err)) == -1) {
		control_answer(cc, 1, NULL, err);
		return;
	}
	(void)snprintf(text, sizeof(text), "reload: generation %d taken, "
	    "%d workers\n", master->generation, master->conf->workers);
	control_answer(cc, 0, text, NULL);
}

static struct proc *
control_keyholder(void)
{
	struct proc *p;

	TAILQ_FOREACH(p, &master->procs, entry)
		if (p->role == ROLE_KEYHOLDER && p->state == PROC_RUNNING &&
		    p->chan != NULL)
			return p;
	return NULL;
}

/* Token and credential commands: the keyholder's business. */
static void
control_relay(struct ctl_client *cc, struct msg *m)
{
	struct proc *kh;

	if ((kh = control_keyholder()) == NULL) {
		control_answer(cc, 1, NULL, "the keyholder is not running");
		return;
	}
	cc->at_keyholder = 1;
	chan_send(kh->chan, MSG_KH_CTL, cc->id, 0, -1, m->data, m->len);
}

void
control_keyholder_answer(uint32_t id, int status, const char *text,
    size_t len)
{
	struct ctl_client *cc;
	char *s;

	TAILQ_FOREACH(cc, &ctl_clients, entry)
		if (cc->id == id && (cc->at_keyholder || cc->apps_pending))
			break;
	if (cc == NULL)
		return;		/* the client left */
	if (cc->apps_pending) {
		cc->apps_pending = 0;
		json_decref(cc->apps);
		cc->apps = status == 0 ? json_loadb(text, len, 0, NULL) : NULL;
		if (--cc->pending == 0)
			control_status_done(cc);
		return;
	}
	cc->at_keyholder = 0;
	s = xcalloc(1, len + 1);
	memcpy(s, text, len);
	if (status == 0)
		control_answer(cc, 0, s, NULL);
	else
		control_answer(cc, 1, NULL, s);
	free(s);
}

static void
control_keyholder_gone(void)
{
	struct ctl_client *cc;

	TAILQ_FOREACH(cc, &ctl_clients, entry) {
		if (cc->apps_pending) {
			cc->apps_pending = 0;
			if (--cc->pending == 0)
				control_status_done(cc);
			continue;
		}
		if (!cc->at_keyholder)
			continue;
		cc->at_keyholder = 0;
		control_answer(cc, 1, NULL, "the keyholder went away; the "
		    "command may or may not have been carried out");
	}
}

static void
control_pubkey(struct ctl_client *cc)
{
	char hex[sizeof(master->box_public_key) * 2 + 2];
	size_t i;

	if (!master->have_public_key) {
		control_answer(cc, 1, NULL, "the keyholder is not ready");
		return;
	}
	for (i = 0; i < sizeof(master->box_public_key); i++)
		(void)snprintf(hex + 2 * i, 3, "%02x",
		    master->box_public_key[i]);
	hex[2 * i] = '\n';
	hex[2 * i + 1] = '\0';
	control_answer(cc, 0, hex, NULL);
}

static int
control_dispatch(struct chan *c, struct msg *m, void *arg)
{
	struct ctl_client *cc = arg;
	struct msg_ctl_hello hello;

	if (m->hdr.type == MSG_CTL_HELLO) {
		memcpy(&hello, m->data, sizeof(hello));
		if (cc->hello || hello.version != MSG_PROTOCOL_VERSION) {
			log_warnx("control: client speaks protocol %u, "
			    "not %u", hello.version, MSG_PROTOCOL_VERSION);
			return -1;
		}
		cc->hello = 1;
		return 0;
	}
	if (!cc->hello || cc->busy)
		return -1;
	switch (m->hdr.type) {
	case MSG_CTL_STATUS:
		cc->busy = 1;
		control_status(cc);
		return 0;
	case MSG_CTL_RELOAD:
		cc->busy = 1;
		control_reload(cc);
		return 0;
	case MSG_CTL_PUBKEY:
		cc->busy = 1;
		control_pubkey(cc);
		return 0;
	case MSG_CTL_KEYHOLDER:
		cc->busy = 1;
		control_relay(cc, m);
		return 0;
	default:
		return -1;
	}
}
