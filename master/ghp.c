/*
 * ghp.c: the master process: options, start-up, signals, reload, stop.
 *
 * Signal handlers only wake the event loop (libevent's signal events);
 * the work is done here, in the loop, as nginx and the OpenBSD daemons do.
 * A reload parses the new file completely before anything changes, and
 * an invalid one leaves the running generation alone.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "jwt.h"
#include "log.h"
#include "netrc.h"
#include "tls.h"
#include "master.h"
#include "util.h"

struct master *master;

static struct event *ev_stop_timer;

static void __attribute__((__noreturn__))
usage(void)
{
	fprintf(stderr, "usage: ghp [-dnv] [-f file] [-D macro=value]\n");
	exit(2);
}

/* Collects config errors for a reload answer, and logs each one. */
struct errbuf {
	char	*buf;
	size_t	 len;
	size_t	 used;
	int	 count;
};

static void
errbuf_add(const char *msg, void *arg)
{
	struct errbuf *eb = arg;
	int n;

	eb->count++;
	log_warnx("%s", msg);
	if (eb->buf == NULL || eb->used >= eb->len)
		return;
	n = snprintf(eb->buf + eb->used, eb->len - eb->used, "%s%s",
	    eb->used ? "\n" : "", msg);
	if (n > 0)
		eb->used += (size_t)n;
}

static void
print_error(const char *msg, void *arg)
{
	fprintf(stderr, "%s\n", msg);
}

static void
log_error(const char *msg, void *arg)
{
	log_warnx("%s", msg);
}

/* mkdir -p, for the parents of the state and chroot directories. */
static int
mkpath(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * The state directory holds the keyholder's keys and database: it must
 * belong to the keyholder's account and be closed to everyone else.
 */
static int
prepare_state_dir(const struct config *conf, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	struct stat st;

	if (lstat(conf->state_dir, &st) == -1) {
		if (errno != ENOENT || mkpath(conf->state_dir, 0700) == -1 ||
		    (master->privileged && chown(conf->state_dir, uid, gid)
		    == -1) || lstat(conf->state_dir, &st) == -1) {
			(void)snprintf(err, errlen, "state directory %s: %s",
			    conf->state_dir, strerror(errno));
			return -1;
		}
		log_info("created state directory %s", conf->state_dir);
	}
	if (!S_ISDIR(st.st_mode)) {
		(void)snprintf(err, errlen, "state directory %s: not a "
		    "directory", conf->state_dir);
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		(void)snprintf(err, errlen, "state directory %s: mode %03o "
		    "lets others in; chmod 700 it", conf->state_dir,
		    (unsigned int)(st.st_mode & 0777));
		return -1;
	}
	if (st.st_uid != uid) {
		(void)snprintf(err, errlen, "state directory %s: owned by "
		    "uid %u, not by the keyholder's uid %u", conf->state_dir,
		    (unsigned int)st.st_uid, (unsigned int)uid);
		return -1;
	}
	return 0;
}

/* The workers' chroot: root's, and nobody else may write into it. */
static int
prepare_chroot(const struct config *conf, char *err, size_t errlen)
{
	struct stat st;

	if (!master->privileged)
		return 0;
	if (lstat(conf->chroot, &st) == -1) {
		if (errno != ENOENT || mkpath(conf->chroot, 0755) == -1 ||
		    lstat(conf->chroot, &st) == -1) {
			(void)snprintf(err, errlen, "chroot %s: %s",
			    conf->chroot, strerror(errno));
			return -1;
		}
		log_info("created chroot directory %s", conf->chroot);
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		(void)snprintf(err, errlen, "chroot %s: must be a directory "
		    "owned by root and writable only by root", conf->chroot);
		return -1;
	}
	return 0;
}

static int
open_log(const char *path, int *fdp, char *err, size_t errlen)
{
	int fd;

	if (path == NULL) {
		fd = -1;
	} else if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1) {
		(void)snprintf(err, errlen, "log %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (*fdp != -1)
		close(*fdp);
	*fdp = fd;
	return 0;
}

/* One record, one line, one write(2): O_APPEND keeps lines whole. */
void
master_log_record(int fd, const void *data, size_t len)
{
	struct iovec iov[2];

	iov[0].iov_base = (void *)data;
	iov[0].iov_len = len;
	iov[1].iov_base = "\n";
	iov[1].iov_len = 1;
	master_log_lines(fd, iov, 2, len + 1, 1);
}

/*
 * A worker's MSG_RECORDS: lines led by 'a' (audit) or 'x' (access).
 * Each log's lines go out in one writev(2) (one per MASTER_RECORDS_MAX
 * lines), whole lines only.  Anything else is -1 (the worker is
 * broken), with nothing written.
 */
int
master_log_records(const uint8_t *data, size_t len)
{
	struct iovec audit[MASTER_RECORDS_MAX], access[MASTER_RECORDS_MAX];
	size_t na = 0, nx = 0, la = 0, lx = 0, n;
	const uint8_t *p = data, *end = data + len, *nl;

	for (p = data; p < end; p = nl + 1)
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    nl - p < 2 || (p[0] != 'a' && p[0] != 'x'))
			return -1;
	for (p = data; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)(nl - p);		/* the line, its '\n' after */
		if (na == MASTER_RECORDS_MAX) {
			master_log_lines(master->audit_fd, audit, (int)na, la,
			    na);
			na = la = 0;
		}
		if (nx == MASTER_RECORDS_MAX) {
			master_log_lines(master->access_fd, access, (int)nx,
			    lx, nx);
			nx = lx = 0;
		}
		if (p[0] == 'a') {
			audit[na].iov_base = (void *)(p + 1);
			audit[na++].iov_len = n;
			la += n;
		} else {
			access[nx].iov_base = (void *)(p + 1);
			access[nx++].iov_len = n;
			lx += n;
		}
	}
	if (na > 0)
		master_log_lines(master->audit_fd, audit, (int)na, la, na);
	if (nx > 0)
		master_log_lines(master->access_fd, access, (int)nx, lx, nx);
	return 0;
}

/* Write n iovecs (len bytes, records lines) to a log; count a failure. */
void
master_log_lines(int fd, const struct iovec *iov, int n, size_t len,
    size_t records)
{
	if (fd == -1)
		return;
	if (writev(fd, iov, n) == (ssize_t)len) {
		if (fd == master->audit_fd && master->audit_losing) {
			log_warnx("audit log: written again, after %llu lost "
			    "records", (unsigned long long)master->audit_lost);
			master->audit_losing = 0;
		}
		return;
	}
	if (fd == master->access_fd) {
		if (!master->access_failing)
			log_warn("access log: write (said once until a "
			    "reload reopens it)");
		master->access_failing = 1;
		return;
	}
	/*
	 * "log audit FILE unwritable serve": requests go on unaudited, the
	 * lost records are counted, and every record is tried again.
	 */
	if (master->conf->audit_serve) {
		if (!master->audit_losing)
			log_warn("audit log: write: serving on, and records "
			    "are lost until it can be written again");
		master->audit_losing = 1;
		master->audit_lost += records;
		return;
	}
	/*
	 * Otherwise nothing must be forwarded without its audit record: the
	 * workers refuse requests until a reload (or log rotation's
	 * SIGUSR1) reopens the file.
	 */
	if (!master->audit_failing)
		log_warn("audit log: write: refusing requests until a reload "
		    "reopens it");
	master->audit_failing = 1;
	proc_audit_failing(NULL);
}

static int
open_logs(const struct config *conf, char *err, size_t errlen)
{
	/* Reopened: to be tried again (new workers start unaware). */
	master->audit_failing = master->access_failing = 0;
	master->audit_losing = 0;
	if (open_log(conf->log_audit, &master->audit_fd, err, errlen) == -1 ||
	    open_log(conf->log_access, &master->access_fd, err, errlen) == -1)
		return -1;
	return 0;
}

/* TLS listeners: their certificate and key must load. */
static int
prepare_tls(const struct config *conf, char *err, size_t errlen)
{
	struct listen_conf *lc;
	char why[512];
	SSL_CTX *ctx;

	TAILQ_FOREACH(lc, &conf->listeners, entry) {
		if (!lc->tls)
			continue;
		if ((ctx = tls_server_ctx(lc->tls_cert, lc->tls_key, why,
		    sizeof(why))) == NULL) {
			(void)snprintf(err, errlen, "listen on %s port %u: %s",
			    lc->addr, lc->port, why);
			return -1;
		}
		SSL_CTX_free(ctx);
	}
	return 0;
}

/* Apps: their private keys must load (the keyholder reads them). */
static int
prepare_apps(const struct config *conf, char *err, size_t errlen)
{
	const struct app_conf *ac;
	char why[512];
	EVP_PKEY *key;

	TAILQ_FOREACH(ac, &conf->apps, entry) {
		if ((key = jwt_load_key(ac->private_key, why,
		    sizeof(why))) == NULL) {
			(void)snprintf(err, errlen, "app \"%s\": %s",
			    ac->name, why);
			return -1;
		}
		EVP_PKEY_free(key);
	}
	return 0;
}

/* A mirror's netrc must hold credentials for it (workers read it). */
static int
prepare_mirrors(const struct config *conf, char *err, size_t errlen)
{
	const struct policy_conf *pcs[] = { &conf->releases, &conf->codeload };
	char login[NETRC_WORD_MAX], pass[NETRC_WORD_MAX];
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(pcs) / sizeof(pcs[0]) && r == 0; i++) {
		if (pcs[i]->mode != POLICY_REDIRECT || pcs[i]->netrc == NULL)
			continue;
		if (netrc_read_file(pcs[i]->netrc, pcs[i]->url, login,
		    sizeof(login), pass, sizeof(pass), err, errlen) != 0)
			r = -1;
		sodium_memzero(login, sizeof(login));
		sodium_memzero(pass, sizeof(pass));
	}
	return r;
}

/* Everything a config needs from the system, checked before it is used. */
static int
prepare(const struct config *conf, struct priv_account *wacct,
    struct priv_account *kacct, char *err, size_t errlen)
{
	memset(wacct, 0, sizeof(*wacct));
	memset(kacct, 0, sizeof(*kacct));
	if (master->privileged) {
		if (priv_lookup(conf->user, wacct, err, errlen) == -1)
			return -1;
		if (priv_lookup(conf->keyholder_user ? conf->keyholder_user :
		    conf->user, kacct, err, errlen) == -1) {
			free(wacct->name);
			return -1;
		}
	} else {
		wacct->uid = kacct->uid = geteuid();
		wacct->gid = kacct->gid = getegid();
	}
	if (prepare_tls(conf, err, errlen) == -1 ||
	    prepare_apps(conf, err, errlen) == -1 ||
	    prepare_mirrors(conf, err, errlen) == -1 ||
	    prepare_chroot(conf, err, errlen) == -1 ||
	    prepare_state_dir(conf, kacct->uid, kacct->gid, err, errlen) == -1) {
		free(wacct->name);
		free(kacct->name);
		return -1;
	}
	return 0;
}

int
master_reload(char *err, size_t errlen)
{
	struct priv_account wacct, kacct;
	struct config *conf;
	struct errbuf eb = { err, errlen, 0, 0 };

	if (master->stopping) {
		(void)snprintf(err, errlen, "ghp is stopping");
		return -1;
	}
	err[0] = '\0';
	config_set_error_cb(errbuf_add, &eb);
	conf = config_load(master->conf_path);
	config_set_error_cb(log_error, NULL);
	if (conf == NULL) {
		log_warnx("reload refused: %d error%s in %s; still serving "
		    "generation %d", eb.count, eb.count == 1 ? "" : "s",
		    master->conf_path, master->generation);
		return -1;
	}
	if (prepare(conf, &wacct, &kacct, err, errlen) == -1 ||
	    listen_reconcile(conf, err, errlen) == -1) {
		log_warnx("reload refused: %s; still serving generation %d",
		    err, master->generation);
		config_free(conf);
		return -1;
	}
	if (strcmp(conf->state_dir, master->conf->state_dir) != 0 ||
	    strcmp(conf->control_socket, master->conf->control_socket) != 0 ||
	    strcmp(kacct.name ? kacct.name : "",
	    master->keyholder_acct.name ? master->keyholder_acct.name : "")
	    != 0)
		log_warnx("reload: a new state directory, control socket or "
		    "keyholder user takes effect when ghp is restarted");
	if (strcmp(conf->metrics_addr ? conf->metrics_addr : "",
	    master->conf->metrics_addr ? master->conf->metrics_addr : "") !=
	    0 || conf->metrics_port != master->conf->metrics_port)
		log_warnx("reload: a new metrics listener takes effect when "
		    "ghp is restarted");
	if (!config_apps_equal(conf, master->conf))
		log_warnx("reload: changed apps take effect when ghp is "
		    "restarted (the keyholder holds their keys)");
	if (open_logs(conf, err, errlen) == -1)
		log_warnx("reload: %s", err);
	free(master->worker_acct.name);
	free(master->keyholder_acct.name);
	master->worker_acct = wacct;
	master->keyholder_acct = kacct;
	config_free(master->conf);
	master->conf = conf;
	master->generation++;
	listen_close_unmarked();
	proc_start_generation();
	log_info("reload: generation %d, %d workers", master->generation,
	    conf->workers);
	return 0;
}

static void
stop_timeout(int fd, short ev, void *arg)
{
	proc_kill_all();
	control_cleanup();
	exit(0);
}

static void
master_stop(void)
{
	struct timeval tv = { 0, 0 };

	if (master->stopping)
		return;
	master->stopping = 1;
	listen_close_all();
	log_info("stopping: draining %d workers",
	    proc_count_live(ROLE_WORKER));
	proc_stop_all();
	tv.tv_sec = master->conf->shutdown_timeout;
	ev_stop_timer = evtimer_new(master->base, stop_timeout, NULL);
	evtimer_add(ev_stop_timer, &tv);
	master_exit_if_done();
}

void
master_exit_if_done(void)
{
	if (!master->stopping)
		return;
	if (proc_count_live(ROLE_WORKER) == 0)
		proc_stop_all();	/* now the keyholder */
	if (TAILQ_EMPTY(&master->procs))
		event_base_loopexit(master->base, NULL);
}

static void
signal_cb(int sig, short ev, void *arg)
{
	char err[4096];

	switch (sig) {
	case SIGTERM:
	case SIGINT:
		master_stop();
		break;
	case SIGHUP:
	case SIGUSR1:
		log_info("reload requested by signal %d", sig);
		(void)open_logs(master->conf, err, sizeof(err));
		(void)master_reload(err, sizeof(err));
		break;
	case SIGCHLD:
		proc_reap();
		break;
	}
}

static void
start_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1,
	    SIGCHLD };
	struct event *ev;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if ((ev = evsignal_new(master->base, sigs[i], signal_cb,
		    NULL)) == NULL || evsignal_add(ev, NULL) == -1)
			fatalx("signal %d", sigs[i]);
	}
}

static void
start(struct config *conf, int foreground)
{
	char err[1024];

	master->conf = conf;
	master->privileged = geteuid() == 0;
	if (!master->privileged)
		log_warnx("not running as root: children keep uid %u and no "
		    "chroot is made; the system-call sandbox still applies",
		    (unsigned int)geteuid());
	if (prepare(conf, &master->worker_acct, &master->keyholder_acct, err,
	    sizeof(err)) == -1 || open_logs(conf, err, sizeof(err)) == -1 ||
	    listen_reconcile(conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (!foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon");
		log_init(0, master->verbose, "ghp");
	}
	if ((master->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	start_signals();
	control_init(conf->control_socket);
	metrics_init(conf);
	proc_init();
	resolver_init(master->base);
	master->generation = 1;
	master->started = monotime();
	proc_start_keyholder();
	proc_start_generation();
	log_info("started: generation 1, %d workers, %d listeners, "
	    "config %s", conf->workers, listen_count(), master->conf_path);
}

int
main(int argc, char *argv[])
{
	struct config *conf;
	const char *path = CONFIG_DEFAULT_PATH;
	int ch, foreground = 0, check = 0, verbose = 0;

	log_init(1, 0, "ghp");
	json_zero_on_free();
	while ((ch = getopt(argc, argv, "dD:f:nv")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'D':
			if (config_define(optarg) == -1) {
				fprintf(stderr, "ghp: -D %s: expected "
				    "name=value\n", optarg);
				exit(2);
			}
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init(1, verbose, "ghp");
	config_set_error_cb(print_error, NULL);
	if ((conf = config_load(path)) == NULL)
		exit(1);
	if (check) {
		char err[1024];

		/* What the files named in it hold must load too. */
		if (prepare_tls(conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s: %s\n", path, err);
			config_free(conf);
			exit(1);
		}
		if (verbose)
			config_print(stdout, conf);
		fprintf(stderr, "configuration OK\n");
		config_free(conf);
		exit(0);
	}
	master = xcalloc(1, sizeof(*master));
	/* Absolute, so that reloads work after daemon(3) moved to "/". */
	if ((master->conf_path = realpath(path, NULL)) == NULL)
		fatal("%s", path);
	master->foreground = foreground;
	master->verbose = verbose;
	master->audit_fd = master->access_fd = -1;
	TAILQ_INIT(&master->listeners);
	start(conf, foreground);
	event_base_dispatch(master->base);
	control_cleanup();
	log_info("stopped");
	return 0;
}
