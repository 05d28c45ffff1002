/*
 * msg.c: encoding, decoding and blocking I/O of ghp's framed messages.
 * See msg.h for the format and the rules.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

#define T(n, p, s, f)	{ (n), (p), (s), (f) }

const struct msg_type_info msg_types[MSG_TYPE_MAX] = {
	[MSG_NONE] =		T(NULL, MP_NONE, 0, 0),
	[MSG_LOG] =		T("log", MP_FIXED_TEXT,
				    sizeof(struct msg_log), 0),
	[MSG_STOP] =		T("stop", MP_NONE, 0, 0),
	[MSG_STATS_REQ] =	T("stats-req", MP_NONE, 0, 0),
	[MSG_STATS] =		T("stats", MP_FIXED,
				    sizeof(struct msg_stats), 0),
	[MSG_WORKER_READY] =	T("worker-ready", MP_NONE, 0, 0),
	[MSG_METRICS_REQ] =	T("metrics-req", MP_NONE, 0, 0),
	[MSG_METRICS] =		T("metrics", MP_TEXT, 0, 0),
	[MSG_AUDIT] =		T("audit", MP_TEXT, 0, 0),
	[MSG_AUDIT_FAILING] =	T("audit-failing", MP_NONE, 0, 0),
	[MSG_ACCESS] =		T("access", MP_TEXT, 0, 0),
	[MSG_RESOLVE] =		T("resolve", MP_TEXT, 0, 0),
	[MSG_RESOLVED] =	T("resolved", MP_FIXED,
				    sizeof(struct msg_resolved), 0),
	[MSG_KEYHOLDER_FD] =	T("keyholder-fd", MP_NONE, 0, 1),
	[MSG_WORKER_CHANNEL] =	T("worker-channel", MP_NONE, 0, 1),
	[MSG_KEYHOLDER_READY] =	T("keyholder-ready", MP_FIXED,
				    sizeof(struct msg_keyholder_ready), 0),
	[MSG_KH_PING] =		T("kh-ping", MP_NONE, 0, 0),
	[MSG_KH_PONG] =		T("kh-pong", MP_NONE, 0, 0),
	[MSG_KH_RESOLVE] =	T("kh-resolve", MP_TEXT, 0, 0),
	[MSG_KH_RESOLVED] =	T("kh-resolved", MP_BYTES, 0, 0),
	[MSG_KH_REVOKE] =	T("kh-revoke", MP_FIXED,
				    sizeof(struct msg_kh_revoke), 0),
	[MSG_KH_REVOKE_ACK] =	T("kh-revoke-ack", MP_NONE, 0, 0),
	[MSG_KH_CTL] =		T("kh-ctl", MP_TEXT, 0, 0),
	[MSG_KH_CTL_ANSWER] =	T("kh-ctl-answer", MP_FIXED_TEXT,
				    sizeof(struct msg_ctl_end), 0),
	[MSG_KH_RATELIMIT] =	T("kh-ratelimit", MP_FIXED,
				    sizeof(struct msg_kh_ratelimit), 0),
	[MSG_KH_EXHAUSTED] =	T("kh-exhausted", MP_FIXED,
				    sizeof(struct msg_kh_ratelimit), 0),
	[MSG_KH_COPILOT] =	T("kh-copilot", MP_TEXT, 0, 0),
	[MSG_KH_INTERCEPT] =	T("kh-intercept", MP_BYTES, 0, 0),
	[MSG_KH_CERT_REQ] =	T("kh-cert-req", MP_BYTES, 0, 0),
	[MSG_KH_CERT] =		T("kh-cert", MP_BYTES, 0, 0),
	[MSG_RECORDS] =		T("records", MP_TEXT, 0, 0),
	[MSG_CTL_HELLO] =	T("ctl-hello", MP_FIXED,
				    sizeof(struct msg_ctl_hello), 0),
	[MSG_CTL_STATUS] =	T("ctl-status", MP_NONE, 0, 0),
	[MSG_CTL_RELOAD] =	T("ctl-reload", MP_NONE, 0, 0),
	[MSG_CTL_PUBKEY] =	T("ctl-pubkey", MP_NONE, 0, 0),
	[MSG_CTL_KEYHOLDER] =	T("ctl-keyholder", MP_TEXT, 0, 0),
	[MSG_CTL_DATA] =	T("ctl-data", MP_TEXT, 0, 0),
	[MSG_CTL_END] =		T("ctl-end", MP_FIXED_TEXT,
				    sizeof(struct msg_ctl_end), 0),
};

static const char *msg_errors[] = {
	[MSG_OK] = "no error",
	[MSG_ERR_SHORT] = "record shorter than a header",
	[MSG_ERR_LENGTH] = "length field disagrees with the record",
	[MSG_ERR_TOOBIG] = "payload over the size limit",
	[MSG_ERR_TYPE] = "unknown message type",
	[MSG_ERR_FLAGS] = "unknown flag bits",
	[MSG_ERR_PAYLOAD] = "payload malformed for its type",
	[MSG_ERR_FD_UNEXPECTED] = "descriptor where none is allowed",
	[MSG_ERR_FD_MISSING] = "descriptor missing",
	[MSG_ERR_TRUNCATED] = "record truncated",
};

const char *
msg_strerror(enum msg_error e)
{
	if ((unsigned int)e >= sizeof(msg_errors) / sizeof(msg_errors[0]))
		return "unknown error";
	return msg_errors[e];
}

const char *
msg_type_name(unsigned int type)
{
	if (type >= MSG_TYPE_MAX || msg_types[type].name == NULL)
		return "unknown";
	return msg_types[type].name;
}

static int
msg_text_ok(const uint8_t *p, size_t n)
{
	return memchr(p, '\0', n) == NULL;
}

static enum msg_error
msg_check_payload(const struct msg_type_info *ti, const uint8_t *p,
    size_t n)
{
	switch (ti->payload) {
	case MP_NONE:
		return n == 0 ? MSG_OK : MSG_ERR_PAYLOAD;
	case MP_FIXED:
		return n == ti->size ? MSG_OK : MSG_ERR_PAYLOAD;
	case MP_TEXT:
		if (n == 0)
			return MSG_ERR_PAYLOAD;
		return msg_text_ok(p, n) ? MSG_OK : MSG_ERR_PAYLOAD;
	case MP_TEXT_OPT:
		return msg_text_ok(p, n) ? MSG_OK : MSG_ERR_PAYLOAD;
	case MP_FIXED_TEXT:
		if (n < ti->size)
			return MSG_ERR_PAYLOAD;
		return msg_text_ok(p + ti->size, n - ti->size) ?
		    MSG_OK : MSG_ERR_PAYLOAD;
	case MP_BYTES:
		return MSG_OK;
	}
	return MSG_ERR_PAYLOAD;
}

enum msg_error
msg_decode(const uint8_t *buf, size_t n, int fd, struct msg *m)
{
	const struct msg_type_info *ti;
	struct msg_hdr h;
	enum msg_error e;

	if (n < MSG_HDR_SIZE)
		return MSG_ERR_SHORT;
	memcpy(&h.type, buf, 2);
	memcpy(&h.flags, buf + 2, 2);
	memcpy(&h.len, buf + 4, 4);
	memcpy(&h.peerid, buf + 8, 4);
	memcpy(&h.reqid, buf + 12, 4);
	if (h.len > MSG_MAX_PAYLOAD)
		return MSG_ERR_TOOBIG;
	if (h.len != n - MSG_HDR_SIZE)
		return MSG_ERR_LENGTH;
	if (h.type >= MSG_TYPE_MAX || msg_types[h.type].name == NULL)
		return MSG_ERR_TYPE;
	if ((h.flags & ~MSG_F_FD) != 0)
		return MSG_ERR_FLAGS;
	ti = &msg_types[h.type];
	if (fd != -1 && (!ti->fd || !(h.flags & MSG_F_FD)))
		return MSG_ERR_FD_UNEXPECTED;
	if (fd == -1 && (ti->fd || (h.flags & MSG_F_FD)))
		return MSG_ERR_FD_MISSING;
	if ((e = msg_check_payload(ti, buf + MSG_HDR_SIZE, h.len)) != MSG_OK)
		return e;
	m->hdr = h;
	m->data = buf + MSG_HDR_SIZE;
	m->len = h.len;
	m->fd = fd;
	return MSG_OK;
}

static void
msg_put_hdr(uint8_t *buf, uint16_t type, uint16_t flags, uint32_t len,
    uint32_t peerid, uint32_t reqid)
{
	memcpy(buf, &type, 2);
	memcpy(buf + 2, &flags, 2);
	memcpy(buf + 4, &len, 4);
	memcpy(buf + 8, &peerid, 4);
	memcpy(buf + 12, &reqid, 4);
}

size_t
msg_encode(uint8_t *buf, uint16_t type, uint32_t peerid, uint32_t reqid,
    int has_fd, const void *data, size_t len)
{
	msg_put_hdr(buf, type, has_fd ? MSG_F_FD : 0, (uint32_t)len, peerid,
	    reqid);
	if (len > 0)
		memcpy(buf + MSG_HDR_SIZE, data, len);
	return MSG_HDR_SIZE + len;
}

int
msg_send(int sock, uint16_t type, uint32_t peerid, uint32_t reqid, int fd,
    const void *data, size_t len)
{
	uint8_t hdr[MSG_HDR_SIZE];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct iovec iov[2];
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;

	if (len > MSG_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	msg_put_hdr(hdr, type, fd != -1 ? MSG_F_FD : 0, (uint32_t)len, peerid,
	    reqid);
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	if (fd != -1) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		mh.msg_control = cmsgbuf.buf;
		mh.msg_controllen = sizeof(cmsgbuf.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != sizeof(hdr) + len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

/*
 * Receive one record.  Descriptors beyond the first, or any that come
 * with a truncated record, are closed here.  Returns the byte count, 0 on
 * EOF, -1 on error; *fdp gets the first descriptor or -1; *truncated is
 * set when the record or its control data did not fit.
 */
ssize_t
msg_recv_raw(int sock, uint8_t *buf, size_t size, int *fdp, int *truncated)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cmsgbuf;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t n;
	size_t i, nfd;
	int fd;

	*fdp = -1;
	*truncated = 0;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = size;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsgbuf.buf;
	mh.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n <= 0)
		return n;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (*fdp == -1)
				*fdp = fd;
			else {
				close(fd);
				*truncated = 1;
			}
		}
	}
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))
		*truncated = 1;
	if (*truncated && *fdp != -1) {
		close(*fdp);
		*fdp = -1;
	}
	return n;
}

int
msg_recv(int sock, uint8_t *buf, struct msg *m, enum msg_error *err)
{
	ssize_t n;
	int fd, truncated;

	*err = MSG_OK;
	n = msg_recv_raw(sock, buf, MSG_MAX_SIZE, &fd, &truncated);
	if (n <= 0)
		return (int)n;
	if (truncated) {
		*err = MSG_ERR_TRUNCATED;
		errno = EPROTO;
		return -1;
	}
	if ((*err = msg_decode(buf, (size_t)n, fd, m)) != MSG_OK) {
		if (fd != -1)
			close(fd);
		errno = EPROTO;
		return -1;
	}
	return 1;
}
