/*
 * msg.h: the one framed protocol spoken between ghp's processes, and
 * between ghpctl and the master, in the spirit of OpenBSD's imsg.
 *
 * Transport: AF_UNIX SOCK_SEQPACKET, so one record is one message and the
 * kernel keeps the boundaries; a file descriptor travels with the record
 * it belongs to (SCM_RIGHTS), never with a neighbour.
 *
 * Wire format: a fixed header in host byte order (both ends are the same
 * binary on the same machine), then exactly hdr.len payload bytes:
 *
 *	uint16 type	one of enum msg_type below
 *	uint16 flags	MSG_F_FD when a descriptor rides along
 *	uint32 len	payload bytes, at most MSG_MAX_PAYLOAD
 *	uint32 peerid	who the message is about (worker id, request id)
 *	uint32 reqid	request tag; answers echo it, stale answers are dropped
 *
 * Every message type is listed once, here, with the payload it carries and
 * whether it may carry a descriptor.  msg_decode() is the only way bytes
 * become a struct msg: it checks the header, the exact length, the type
 * against msg_types[], and that a descriptor is present exactly when the
 * type allows one and the header says so.  Anything else is an error for
 * that channel, which the receiver then closes: never a crash.
 *
 * Payload shapes: fixed structs (checked with msg_payload_exact()) or
 * NUL-free text (msg_payload_text()); JSON text for control answers.
 */
#ifndef GHP_MSG_H
#define GHP_MSG_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#define MSG_PROTOCOL_VERSION	1
#define MSG_HDR_SIZE		16
#define MSG_MAX_PAYLOAD		(60 * 1024)
#define MSG_MAX_SIZE		(MSG_HDR_SIZE + MSG_MAX_PAYLOAD)
#define MSG_F_FD		0x0001

/* Which payload a type carries. */
enum msg_payload {
	MP_NONE,	/* len must be 0 */
	MP_FIXED,	/* len must equal msg_type_info.size */
	MP_TEXT,	/* 1..MSG_MAX_PAYLOAD bytes, no NUL */
	MP_TEXT_OPT,	/* 0..MSG_MAX_PAYLOAD bytes, no NUL */
	MP_FIXED_TEXT,	/* a fixed struct, then 0.. bytes of NUL-free text */
	MP_BYTES	/* anything up to MSG_MAX_PAYLOAD */
};

/*
 * Every message type.  Direction, payload and descriptor in the comment;
 * the authoritative table is msg_types[] in msg.c.
 */
enum msg_type {
	MSG_NONE = 0,
	/* any child -> master */
	MSG_LOG,		/* struct msg_log + text: a log line */
	/* master -> child */
	MSG_STOP,		/* none: stop accepting, drain, exit */
	MSG_STATS_REQ,		/* none: report counters (reqid tags it) */
	/* worker -> master */
	MSG_STATS,		/* struct msg_stats */
	MSG_WORKER_READY,	/* none: sandbox closed, accepting */
	MSG_METRICS_REQ,	/* master -> worker: none */
	MSG_METRICS,		/* worker -> master: JSON, metrics_wire.h */
	MSG_AUDIT,		/* text: one audit record (JSON) */
	/* master -> worker: the audit log cannot be written (none) */
	MSG_AUDIT_FAILING,
	MSG_ACCESS,		/* text: one access record (JSON) */
	/* worker -> master: look a tunnel's host up (text: the name) */
	MSG_RESOLVE,
	/* master -> worker: struct msg_resolved (reqid echoes) */
	MSG_RESOLVED,
	/* master -> worker: a new channel to the keyholder (fd) */
	MSG_KEYHOLDER_FD,
	/* master -> keyholder: the keyholder end for worker peerid (fd) */
	MSG_WORKER_CHANNEL,
	/* keyholder -> master */
	MSG_KEYHOLDER_READY,	/* struct msg_keyholder_ready */
	/* worker <-> keyholder */
	MSG_KH_PING,		/* none */
	MSG_KH_PONG,		/* none */
	/* worker -> keyholder: resolve a client token (text: the token) */
	MSG_KH_RESOLVE,
	/* keyholder -> worker: bytes, see struct msg_kh_resolved */
	MSG_KH_RESOLVED,
	/* keyholder -> worker: drop this token hash from the cache */
	MSG_KH_REVOKE,
	/* worker -> keyholder: dropped (reqid echoes the revoke) */
	MSG_KH_REVOKE_ACK,
	/* master -> keyholder: a control command (JSON), peerid = client */
	MSG_KH_CTL,
	/* keyholder -> master: its answer, struct msg_ctl_end + text */
	MSG_KH_CTL_ANSWER,
	/* worker -> keyholder: struct msg_kh_ratelimit */
	MSG_KH_RATELIMIT,
	/* keyholder -> worker: drop tokens of this installation (same) */
	MSG_KH_EXHAUSTED,
	/*
	 * worker -> keyholder: a Copilot token for this client token (text:
	 * the token); answered with MSG_KH_RESOLVED whose credential is the
	 * Copilot token, never the OAuth token it was exchanged for
	 */
	MSG_KH_COPILOT,
	/*
	 * worker -> keyholder: the credential of an "intercept" block for
	 * a client token: uint32 name length, the credential's name (as
	 * the block gives it), then the token; answered with
	 * MSG_KH_RESOLVED
	 */
	MSG_KH_INTERCEPT,
	/* worker -> keyholder: struct msg_kh_cert_req + host + DER key */
	MSG_KH_CERT_REQ,
	/* keyholder -> worker: struct msg_kh_cert + DER certificate */
	MSG_KH_CERT,
	/*
	 * worker -> master: audit and access records, one per line, each
	 * line's first byte saying which log ('a' audit, 'x' access): what a
	 * turn of the worker's loop produced, in one message
	 */
	MSG_RECORDS,
	/*
	 * ghpctl -> master.  Fixed numbers from here on, so that a ghpctl
	 * and a ghp of different versions still understand each other's
	 * hello and can say that they differ.
	 */
	MSG_CTL_HELLO = 64,		/* struct msg_ctl_hello: protocol version */
	MSG_CTL_STATUS,		/* none */
	MSG_CTL_RELOAD,		/* none */
	MSG_CTL_PUBKEY,		/* none: answer is the keyholder's public key */
	MSG_CTL_KEYHOLDER,	/* text: a JSON command for the keyholder */
	/* master -> ghpctl */
	MSG_CTL_DATA,		/* text: part of the answer (JSON or prose) */
	MSG_CTL_END,		/* struct msg_ctl_end + optional text */
	MSG_TYPE_MAX
};

struct msg_type_info {
	const char	*name;
	enum msg_payload payload;
	size_t		 size;	/* MP_FIXED: exact payload size */
	int		 fd;	/* a descriptor may (must) ride along */
};

extern const struct msg_type_info msg_types[MSG_TYPE_MAX];

struct msg_hdr {
	uint16_t	type;
	uint16_t	flags;
	uint32_t	len;
	uint32_t	peerid;
	uint32_t	reqid;
};

/* A decoded message; data points into the receive buffer. */
struct msg {
	struct msg_hdr	 hdr;
	const uint8_t	*data;
	size_t		 len;
	int		 fd;	/* -1 unless the type carries one */
};

/* Payloads. */
struct msg_log {
	int32_t		priority;	/* syslog priority */
	/* text follows */
};

struct msg_stats {
	uint64_t	requests;	/* requests answered since start */
	uint32_t	connections;	/* open client connections */
	uint32_t	draining;	/* 1 once MSG_STOP was seen */
};

struct msg_keyholder_ready {
	uint8_t		box_public_key[32];	/* crypto_box public key */
};

/*
 * MSG_KH_RESOLVED: this struct, then scope_len bytes of JSON (owner,
 * repos, perms, session; for an agent's token also the App id "app" and
 * "installation" its credential came from), then cred_len bytes of the
 * GitHub credential.  With RESOLVE_MINT_FAILED the JSON also has
 * "error": why, and there is no credential.  The worker zeroes the credential
 * when it drops it.
 */
struct msg_kh_resolved {
	int32_t		status;		/* enum resolve_status */
	int32_t		type;		/* enum token_type */
	int64_t		token_id;
	int64_t		expires;	/* epoch seconds, 0: never; the
					   answer is good until then (for an
					   agent: until its App token
					   expires, if that is first) */
	uint32_t	scope_len;
	uint32_t	cred_len;
};

enum resolve_status {
	RESOLVE_OK = 0,
	RESOLVE_UNKNOWN,	/* malformed or not ours */
	RESOLVE_EXPIRED,
	RESOLVE_REVOKED,
	RESOLVE_NO_CREDENTIAL,	/* owner has no stored credential */
	RESOLVE_ERROR,		/* storage or crypto failure */
	RESOLVE_MINT_FAILED,	/* no App token (or Copilot token): the
				   JSON says why */
	RESOLVE_NO_OAUTH	/* Copilot: the owner's credential is not
				   a GitHub OAuth token */
};

/* MSG_RESOLVED: the first address of a name, or why none. */
struct msg_resolved {
	int32_t		status;		/* 0: addr holds addrlen bytes;
					   1: refused by policy; 2: not found */
	uint32_t	addrlen;
	uint8_t		addr[28];	/* a struct sockaddr_in or _in6 */
};

struct msg_kh_revoke {
	uint8_t		hash[32];
};

/*
 * MSG_KH_RATELIMIT: what a worker saw in GitHub's answer to a request
 * made with an installation's token.
 */
struct msg_kh_ratelimit {
	uint64_t	app_id;
	uint64_t	installation;
	int64_t		remaining;	/* X-RateLimit-Remaining, -1: absent */
	int64_t		reset;		/* X-RateLimit-Reset, 0: absent */
	int32_t		exhausted;	/* 1: a rate-limit refusal */
	int32_t		pad;
};

/*
 * MSG_KH_CERT_REQ: a leaf certificate for a host a worker intercepts:
 * this struct, host_len bytes of host name (no NUL), key_len bytes of
 * the DER SubjectPublicKeyInfo of the key pair the worker made.
 */
struct msg_kh_cert_req {
	uint32_t	host_len;
	uint32_t	key_len;
};

/* MSG_KH_CERT: the answer (reqid echoes the request). */
struct msg_kh_cert {
	int32_t		status;		/* 0: the certificate follows;
					   1: refused; 2: malformed */
	uint32_t	cert_len;
};

struct msg_ctl_hello {
	uint32_t	version;	/* MSG_PROTOCOL_VERSION */
};

struct msg_ctl_end {
	int32_t		status;		/* ghpctl's exit code: 0, 1 */
	/* optional one-line reason follows */
};

enum msg_error {
	MSG_OK = 0,
	MSG_ERR_SHORT,		/* fewer bytes than a header */
	MSG_ERR_LENGTH,		/* len disagrees with the bytes received */
	MSG_ERR_TOOBIG,		/* len over MSG_MAX_PAYLOAD */
	MSG_ERR_TYPE,		/* unknown type */
	MSG_ERR_FLAGS,		/* unknown flag bits */
	MSG_ERR_PAYLOAD,	/* payload shape wrong for the type */
	MSG_ERR_FD_UNEXPECTED,	/* descriptor where the type allows none */
	MSG_ERR_FD_MISSING,	/* type needs a descriptor, none came */
	MSG_ERR_TRUNCATED	/* the record did not fit the buffer */
};

/*
 * Decode one record of n bytes that arrived with nfd descriptors (0 or 1;
 * fd is that descriptor or -1).  Returns MSG_OK and fills *m, or an error;
 * on error the caller still owns fd and must close it.
 */
enum msg_error	 msg_decode(const uint8_t *buf, size_t n, int fd,
		    struct msg *m);
const char	*msg_strerror(enum msg_error);
const char	*msg_type_name(unsigned int type);

/* Build a record into buf (at least MSG_HDR_SIZE + len); returns its size. */
size_t		 msg_encode(uint8_t *buf, uint16_t type, uint32_t peerid,
		    uint32_t reqid, int has_fd, const void *data, size_t len);

/* Blocking send/receive, for ghpctl and for start-up hand-shakes. */
int		 msg_send(int sock, uint16_t type, uint32_t peerid,
		    uint32_t reqid, int fd, const void *data, size_t len);
/* Returns 1 with a message in *m (its data in buf), 0 on EOF, -1 on error
 * (errno set, or *err for a malformed record). buf holds MSG_MAX_SIZE. */
int		 msg_recv(int sock, uint8_t *buf, struct msg *m,
		    enum msg_error *err);

/*
 * One record, undecoded, for event loops: returns bytes, 0 on EOF, -1 on
 * error (EAGAIN included).  *fdp gets the descriptor or -1; *truncated is
 * set (and any descriptor closed) when the record did not fit in size.
 */
ssize_t		 msg_recv_raw(int sock, uint8_t *buf, size_t size, int *fdp,
		    int *truncated);

#endif /* GHP_MSG_H */
