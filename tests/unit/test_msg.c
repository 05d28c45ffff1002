/*
 * test_msg.c: the framed protocol: encoding, decoding, and every way a
 * record can be wrong (truncated, oversized, wrong type, bad payload,
 * descriptor where none is expected or missing where one is), over real
 * SOCK_SEQPACKET socketpairs and through chan.c on a libevent loop.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "chan.h"
#include "log.h"
#include "msg.h"
#include "unit.h"

static uint8_t buf[MSG_MAX_SIZE + 64];

static void
pair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1)
		abort();
}

static void
test_roundtrip(void)
{
	struct msg_stats st = { 42, 3, 1 }, got;
	struct msg m;
	size_t n;

	n = msg_encode(buf, MSG_STATS, 7, 9, 0, &st, sizeof(st));
	CHECK(n == MSG_HDR_SIZE + sizeof(st));
	CHECK(msg_decode(buf, n, -1, &m) == MSG_OK);
	CHECK(m.hdr.type == MSG_STATS);
	CHECK(m.hdr.peerid == 7 && m.hdr.reqid == 9);
	CHECK(m.len == sizeof(st));
	memcpy(&got, m.data, sizeof(got));
	CHECK(got.requests == 42 && got.connections == 3 && got.draining == 1);
}

static void
test_malformed(void)
{
	struct msg_stats st = { 0, 0, 0 };
	struct msg m;
	uint32_t len;
	uint16_t type, flags;
	size_t n;

	/* Shorter than a header. */
	CHECK(msg_decode(buf, MSG_HDR_SIZE - 1, -1, &m) == MSG_ERR_SHORT);
	CHECK(msg_decode(buf, 0, -1, &m) == MSG_ERR_SHORT);
	/* Truncated payload: header says more than arrived. */
	n = msg_encode(buf, MSG_STATS, 0, 0, 0, &st, sizeof(st));
	CHECK(msg_decode(buf, n - 1, -1, &m) == MSG_ERR_LENGTH);
	/* Trailing bytes beyond the stated length. */
	CHECK(msg_decode(buf, n + 1, -1, &m) == MSG_ERR_LENGTH);
	/* Oversized length field. */
	len = MSG_MAX_PAYLOAD + 1;
	memcpy(buf + 4, &len, 4);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_TOOBIG);
	len = UINT32_MAX;
	memcpy(buf + 4, &len, 4);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_TOOBIG);
	/* Unknown types. */
	n = msg_encode(buf, MSG_STOP, 0, 0, 0, NULL, 0);
	type = MSG_TYPE_MAX;
	memcpy(buf, &type, 2);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_TYPE);
	type = MSG_NONE;
	memcpy(buf, &type, 2);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_TYPE);
	type = 0xffff;
	memcpy(buf, &type, 2);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_TYPE);
	/* Unknown flags. */
	n = msg_encode(buf, MSG_STOP, 0, 0, 0, NULL, 0);
	flags = 0x8000;
	memcpy(buf + 2, &flags, 2);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_FLAGS);
	/* Payload where none belongs; fixed size wrong either way. */
	n = msg_encode(buf, MSG_STOP, 0, 0, 0, "x", 1);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_PAYLOAD);
	n = msg_encode(buf, MSG_STATS, 0, 0, 0, &st, sizeof(st) - 1);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_PAYLOAD);
	/* Text with a NUL, and empty text where text is required. */
	n = msg_encode(buf, MSG_CTL_DATA, 0, 0, 0, "a\0b", 3);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_PAYLOAD);
	n = msg_encode(buf, MSG_CTL_DATA, 0, 0, 0, NULL, 0);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_PAYLOAD);
	/* A log record shorter than its fixed part. */
	n = msg_encode(buf, MSG_LOG, 0, 0, 0, "ab", 2);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_PAYLOAD);
}

static void
test_fd_rules(void)
{
	struct msg m;
	size_t n;

	/* A descriptor on a type that allows none. */
	n = msg_encode(buf, MSG_STOP, 0, 0, 1, NULL, 0);
	CHECK(msg_decode(buf, n, 5, &m) == MSG_ERR_FD_UNEXPECTED);
	n = msg_encode(buf, MSG_STOP, 0, 0, 0, NULL, 0);
	CHECK(msg_decode(buf, n, 5, &m) == MSG_ERR_FD_UNEXPECTED);
	/* A type that needs one, without it (flag set or not). */
	n = msg_encode(buf, MSG_KEYHOLDER_FD, 0, 0, 1, NULL, 0);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_FD_MISSING);
	n = msg_encode(buf, MSG_KEYHOLDER_FD, 0, 0, 0, NULL, 0);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_FD_MISSING);
	/* The flag without a descriptor on a plain type. */
	n = msg_encode(buf, MSG_STOP, 0, 0, 1, NULL, 0);
	CHECK(msg_decode(buf, n, -1, &m) == MSG_ERR_FD_MISSING);
	/* A descriptor arriving without the header's flag. */
	n = msg_encode(buf, MSG_KEYHOLDER_FD, 0, 0, 0, NULL, 0);
	CHECK(msg_decode(buf, n, 5, &m) == MSG_ERR_FD_UNEXPECTED);
	/* Correct. */
	n = msg_encode(buf, MSG_KEYHOLDER_FD, 0, 0, 1, NULL, 0);
	CHECK(msg_decode(buf, n, 5, &m) == MSG_OK && m.fd == 5);
}

static void
test_socket_fd_passing(void)
{
	struct msg m;
	enum msg_error e;
	int sv[2], p[2];
	char c = 0;

	pair(sv);
	if (pipe(p) == -1)
		abort();
	CHECK(msg_send(sv[0], MSG_KEYHOLDER_FD, 3, 4, p[1], NULL, 0) == 0);
	close(p[1]);
	CHECK(msg_recv(sv[1], buf, &m, &e) == 1);
	CHECK(m.hdr.type == MSG_KEYHOLDER_FD && m.fd >= 0);
	CHECK(write(m.fd, "z", 1) == 1);
	CHECK(read(p[0], &c, 1) == 1 && c == 'z');
	close(m.fd);
	/* An fd on a type that allows none is refused and closed. */
	if (pipe(p) == -1)
		abort();
	CHECK(msg_send(sv[0], MSG_STOP, 0, 0, p[1], NULL, 0) == 0);
	close(p[1]);
	CHECK(msg_recv(sv[1], buf, &m, &e) == -1);
	CHECK(e == MSG_ERR_FD_UNEXPECTED);
	/* The write end was closed by msg_recv: reading sees EOF. */
	CHECK(read(p[0], &c, 1) == 0);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_socket_truncated(void)
{
	static uint8_t big[MSG_MAX_SIZE + 32];
	struct msg m;
	enum msg_error e;
	int sv[2];
	uint32_t len = MSG_MAX_PAYLOAD;

	pair(sv);
	/* A record bigger than the receive buffer: cut, and refused. */
	memset(big, 'a', sizeof(big));
	msg_encode(big, MSG_CTL_DATA, 0, 0, 0, NULL, 0);
	memcpy(big + 4, &len, 4);
	CHECK(send(sv[0], big, sizeof(big), 0) == (ssize_t)sizeof(big));
	CHECK(msg_recv(sv[1], buf, &m, &e) == -1 && e == MSG_ERR_TRUNCATED);
	/* A raw, short record. */
	CHECK(send(sv[0], "abc", 3, 0) == 3);
	CHECK(msg_recv(sv[1], buf, &m, &e) == -1 && e == MSG_ERR_SHORT);
	/* Too large to send at all. */
	CHECK(msg_send(sv[0], MSG_CTL_DATA, 0, 0, -1, big,
	    MSG_MAX_PAYLOAD + 1) == -1 && errno == EMSGSIZE);
	/* EOF. */
	close(sv[0]);
	CHECK(msg_recv(sv[1], buf, &m, &e) == 0);
	close(sv[1]);
}

/* chan.c: a malformed record closes the channel, never crashes. */
static int chan_got, chan_closed_count;

static int
t_dispatch(struct chan *c, struct msg *m, void *arg)
{
	chan_got++;
	return m->hdr.type == MSG_KH_PING ? 0 : -1;
}

static void
t_closed(struct chan *c, void *arg)
{
	chan_closed_count++;
	event_base_loopbreak(arg);
}

static void
test_chan(void)
{
	struct event_base *base = event_base_new();
	struct chan *c;
	int sv[2];

	pair(sv);
	c = chan_new(base, sv[1], "test", t_dispatch, t_closed, base);
	CHECK(msg_send(sv[0], MSG_KH_PING, 0, 0, -1, NULL, 0) == 0);
	CHECK(msg_send(sv[0], MSG_KH_PING, 0, 0, -1, NULL, 0) == 0);
	CHECK(send(sv[0], "garbage-record!!!", 17, 0) == 17);
	CHECK(msg_send(sv[0], MSG_KH_PING, 0, 0, -1, NULL, 0) == 0);
	event_base_dispatch(base);
	CHECK(chan_got == 2);
	CHECK(chan_closed_count == 1);
	CHECK(chan_dead(c));
	/* The channel freed itself on the next turn of the loop. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	close(sv[0]);

	/* An unexpected type (dispatch says -1) closes it too. */
	chan_got = chan_closed_count = 0;
	pair(sv);
	c = chan_new(base, sv[1], "test", t_dispatch, t_closed, base);
	CHECK(msg_send(sv[0], MSG_STOP, 0, 0, -1, NULL, 0) == 0);
	event_base_dispatch(base);
	CHECK(chan_got == 1 && chan_closed_count == 1);
	event_base_loop(base, EVLOOP_NONBLOCK);
	close(sv[0]);

	/* Sending: queued records arrive in order. */
	pair(sv);
	c = chan_new(base, sv[1], "test", t_dispatch, t_closed, base);
	CHECK(chan_send(c, MSG_KH_PONG, 1, 2, -1, NULL, 0) == 0);
	CHECK(chan_send(c, MSG_CTL_DATA, 1, 3, -1, "hello", 5) == 0);
	{
		struct msg m;
		enum msg_error e;

		CHECK(msg_recv(sv[0], buf, &m, &e) == 1 &&
		    m.hdr.type == MSG_KH_PONG && m.hdr.reqid == 2);
		CHECK(msg_recv(sv[0], buf, &m, &e) == 1 &&
		    m.hdr.type == MSG_CTL_DATA && m.len == 5 &&
		    memcmp(m.data, "hello", 5) == 0);
	}
	chan_free(c);
	close(sv[0]);
	event_base_free(base);
}

int
main(void)
{
	log_init(1, 0, "test_msg");
	UNIT_RUN(test_roundtrip);
	UNIT_RUN(test_malformed);
	UNIT_RUN(test_fd_rules);
	UNIT_RUN(test_socket_fd_passing);
	UNIT_RUN(test_socket_truncated);
	UNIT_RUN(test_chan);
	return UNIT_DONE("test_msg");
}
