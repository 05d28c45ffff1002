/*
 * keyholder.c: the keyholder process; see keyholder.h.
 *
 * The keyholder is the only process that may read key material.  It
 * answers workers over one channel each, and identifies a worker by the
 * channel a request came in on (the peer id the master gave it), never
 * by anything in the request.  A malformed or unexpected message closes
 * that worker's channel; the keyholder itself goes on.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "app.h"
#include "ca.h"
#include "chan.h"
#include "compat.h"
#include "keyholder.h"
#include "identity.h"
#include "kh.h"
#include "log.h"
#include "mint.h"
#include "msg.h"
#include "util.h"

struct keyholder kh;

static void
kh_log_sink(int priority, const char *line)
{
	uint8_t buf[sizeof(struct msg_log) + 2048];
	struct msg_log ml;
	size_t n = strlen(line);

	if (kh.master == NULL || chan_dead(kh.master)) {
		(void)dprintf(STDERR_FILENO, "%s\n", line);
		return;
	}
	if (n > sizeof(buf) - sizeof(ml))
		n = sizeof(buf) - sizeof(ml);
	ml.priority = priority;
	memcpy(buf, &ml, sizeof(ml));
	memcpy(buf + sizeof(ml), line, n);
	(void)chan_send(kh.master, MSG_LOG, 0, 0, -1, buf, sizeof(ml) + n);
}

/* Read exactly len bytes of a key file; -1 if it is not exactly that. */
static int
kh_read_exact(const char *path, unsigned char *buf, size_t len)
{
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_size != (off_t)len ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	n = read(fd, buf, len);
	close(fd);
	if (n != (ssize_t)len) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static void
kh_write_new(const char *path, const unsigned char *buf, size_t len,
    mode_t mode)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1)
		fatal("create %s", path);
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd) == -1)
		fatal("write %s", path);
	close(fd);
}

/*
 * The box key pair: ghpctl seals credentials to the public half, only
 * the keyholder can open them.  Made on first start.
 */
static void
kh_load_keys(void)
{
	if ((kh.box_sk = sodium_malloc(crypto_box_SECRETKEYBYTES)) == NULL)
		fatal("sodium_malloc");
	if (kh_read_exact(KEYHOLDER_BOX_SECRET, kh.box_sk,
	    crypto_box_SECRETKEYBYTES) == 0) {
		if (crypto_scalarmult_base(kh.box_pk, kh.box_sk) != 0)
			fatalx("%s: bad key", KEYHOLDER_BOX_SECRET);
		sodium_mprotect_readonly(kh.box_sk);
		return;
	}
	if (errno != ENOENT)
		fatal("%s (must be %d bytes, mode 0600)",
		    KEYHOLDER_BOX_SECRET, crypto_box_SECRETKEYBYTES);
	crypto_box_keypair(kh.box_pk, kh.box_sk);
	kh_write_new(KEYHOLDER_BOX_SECRET, kh.box_sk,
	    crypto_box_SECRETKEYBYTES, 0600);
	(void)unlink(KEYHOLDER_BOX_PUBLIC);
	kh_write_new(KEYHOLDER_BOX_PUBLIC, kh.box_pk, sizeof(kh.box_pk), 0600);
	sodium_mprotect_readonly(kh.box_sk);
	log_info("created a new key pair in the state directory");
}

struct kh_worker *
kh_worker_by_id(uint32_t id)
{
	struct kh_worker *kw;

	TAILQ_FOREACH(kw, &kh.workers, entry)
		if (kw->id == id)
			return kw;
	return NULL;
}

static void
kh_ratelimit(const struct msg *m)
{
	struct msg_kh_ratelimit rl;

	struct kh_worker *kw, *tmp;

	memcpy(&rl, m->data, sizeof(rl));
	app_ratelimit(rl.app_id, rl.installation, (long)rl.remaining,
	    rl.reset, rl.exhausted != 0, time(NULL));
	/* Every worker drops that installation's tokens from its cache. */
	if (rl.exhausted)
		TAILQ_FOREACH_SAFE(kw, &kh.workers, entry, tmp)
			(void)chan_send(kw->chan, MSG_KH_EXHAUSTED, kw->id, 0,
			    -1, &rl, sizeof(rl));
}

static int
kh_worker_dispatch(struct chan *c, struct msg *m, void *arg)
{
	struct kh_worker *kw = arg;

	switch (m->hdr.type) {
	case MSG_KH_PING:
		chan_send(c, MSG_KH_PONG, kw->id, m->hdr.reqid, -1, NULL, 0);
		return 0;
	case MSG_KH_RESOLVE:
		return kh_resolve(kw, m);
	case MSG_KH_COPILOT:
		return kh_copilot(kw, m);
	case MSG_KH_CERT_REQ:
		return kh_cert(kw, m);
	case MSG_KH_INTERCEPT:
		return kh_intercept(kw, m);
	case MSG_KH_REVOKE_ACK:
		return kh_revoke_ack(kw, m);
	case MSG_KH_RATELIMIT:
		kh_ratelimit(m);
		return 0;
	default:
		return -1;
	}
}

static void
kh_worker_closed(struct chan *c, void *arg)
{
	struct kh_worker *kw = arg;

	TAILQ_REMOVE(&kh.workers, kw, entry);
	kh_worker_gone(kw);
	free(kw);
}

static void
kh_worker_add(uint32_t id, int fd)
{
	struct kh_worker *kw;
	char name[32];

	if ((kw = kh_worker_by_id(id)) != NULL) {
		/* A new channel for the same worker replaces the old one. */
		TAILQ_REMOVE(&kh.workers, kw, entry);
		kh_worker_gone(kw);
		chan_free(kw->chan);
		free(kw);
	}
	kw = xcalloc(1, sizeof(*kw));
	kw->id = id;
	(void)snprintf(name, sizeof(name), "worker id %u", id);
	kw->chan = chan_new(kh.base, fd, name, kh_worker_dispatch,
	    kh_worker_closed, kw);
	TAILQ_INSERT_TAIL(&kh.workers, kw, entry);
}

static void __attribute__((__noreturn__))
kh_exit(void)
{
	if (kh.box_sk != NULL) {
		sodium_mprotect_readwrite(kh.box_sk);
		sodium_free(kh.box_sk);	/* zeroes it */
		kh.box_sk = NULL;
	}
	store_close(kh.store);
	if (kh.master != NULL)
		chan_flush(kh.master);
	exit(0);
}

static int
kh_master_dispatch(struct chan *c, struct msg *m, void *arg)
{
	switch (m->hdr.type) {
	case MSG_WORKER_CHANNEL:
		kh_worker_add(m->hdr.peerid, m->fd);
		return 0;
	case MSG_KH_CTL:
		kh_ctl(m->hdr.peerid, (const char *)m->data, m->len);
		return 0;
	case MSG_STOP:
		log_debug("stopping");
		kh_exit();
	default:
		return -1;
	}
}

static void
kh_master_closed(struct chan *c, void *arg)
{
	kh.master = NULL;
	kh_exit();
}

/* A worker asks for a leaf certificate (ca.h); the channel stays. */
int
kh_cert(struct kh_worker *kw, const struct msg *m)
{
	uint8_t buf[MSG_MAX_PAYLOAD];
	size_t len;
	const char *why;

	if ((why = ca_answer(m->data, m->len, buf, sizeof(buf), &len)) !=
	    NULL)
		log_warnx("worker %u: certificate request refused: %s", kw->id,
		    why);
	chan_send(kw->chan, MSG_KH_CERT, kw->id, m->hdr.reqid, -1, buf, len);
	return 0;
}

static void
kh_enter_state_dir(const struct config *conf, const struct priv_account *a)
{
	if (geteuid() == 0) {
		priv_drop(a, conf->state_dir);
		return;
	}
	if (chdir(conf->state_dir) == -1)
		fatal("chdir %s", conf->state_dir);
}

void
keyholder_main(const struct config *conf, const struct priv_account *acct,
    int chan_fd)
{
	struct msg_keyholder_ready ready;
	char err[512];

	memset(&kh, 0, sizeof(kh));
	kh.conf = conf;
	TAILQ_INIT(&kh.workers);
	log_procname("keyholder");
	priv_nodump();
	if ((kh.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	kh.master = chan_new(kh.base, chan_fd, "master", kh_master_dispatch,
	    kh_master_closed, NULL);
	log_set_sink(kh_log_sink);
	if (sodium_init() == -1)
		fatalx("sodium_init");
	json_object_seed(0);	/* before the chroot hides /dev/urandom */
	/* App keys, the CA bundle, GitHub's address: all outside it too. */
	if (app_load(conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	app_init(kh.base, conf);
	mint_init(kh.base, conf);
	identity_init(conf);
	kh_enter_state_dir(conf, acct);
	umask(077);
	kh_load_keys();
	if (ca_init(conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((kh.store = store_open(KEYHOLDER_DB, err, sizeof(err))) == NULL)
		fatalx("database %s", err);
	sandbox_enter(SANDBOX_KEYHOLDER);
	memcpy(ready.box_public_key, kh.box_pk, sizeof(ready.box_public_key));
	chan_send(kh.master, MSG_KEYHOLDER_READY, 0, 0, -1, &ready,
	    sizeof(ready));
	log_debug("ready, %s sandbox closed, uid %u", sandbox_name(),
	    (unsigned int)getuid());
	event_base_dispatch(kh.base);
	kh_exit();
}
