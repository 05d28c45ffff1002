/*
 * test_sandbox.c: the worker's and the keyholder's seccomp filters,
 * installed for real in forked children.  A forbidden call must kill the
 * child with SIGSYS; what a worker does all day (socket I/O, epoll,
 * memory, time, randomness) must keep working.  Children leave with
 * _exit() so that no sanitizer exit hook runs inside the sandbox.
 */
#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "sandbox.h"
#include "unit.h"

/* Run fn in a sandboxed child; return its wait status. */
static int
run_sandboxed(enum sandbox_role role, int (*fn)(void))
{
	pid_t pid;
	int status;

	if ((pid = fork()) == -1)
		abort();
	if (pid == 0) {
		sandbox_enter(role);
		_exit(fn());
	}
	if (waitpid(pid, &status, 0) != pid)
		abort();
	return status;
}

static int
killed_by_sigsys(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}

static int
exited_ok(int status)
{
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int sv_pre[2] = { -1, -1 }, ep_pre = -1;

static int
worker_day(void)
{
	struct epoll_event ev, out;
	struct timespec ts;
	char buf[8], *p;
	int s;

	/* Socket I/O on descriptors made before the sandbox. */
	if (write(sv_pre[0], "ping", 4) != 4)
		return 1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (epoll_ctl(ep_pre, EPOLL_CTL_ADD, sv_pre[1], &ev) == -1)
		return 2;
	if (epoll_wait(ep_pre, &out, 1, 1000) != 1)
		return 3;
	if (read(sv_pre[1], buf, sizeof(buf)) != 4 || memcmp(buf, "ping", 4))
		return 4;
	if (send(sv_pre[1], "pong", 4, MSG_NOSIGNAL) != 4 ||
	    recv(sv_pre[0], buf, sizeof(buf), 0) != 4)
		return 5;
	/* Memory, time, randomness. */
	if ((p = malloc(1 << 20)) == NULL)
		return 6;
	memset(p, 1, 1 << 20);
	free(p);
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 7;
	if (getrandom(buf, sizeof(buf), 0) != sizeof(buf))
		return 8;
	/* A new socket, as for an upstream connection. */
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 9;
	close(s);
	return 0;
}

static int
forbidden_open(void)
{
	/* Straight to the kernel: libc must not hide what is tested. */
	syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
	return 0;
}

static int
forbidden_exec(void)
{
	char *argv[] = { "/bin/true", NULL };

	syscall(SYS_execve, "/bin/true", argv, NULL);
	return 0;
}

static int
forbidden_fork(void)
{
	syscall(SYS_fork);
	return 0;
}

static int
forbidden_mmap_exec(void)
{
	void *p;

	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? 1 : 0;
}

static int
forbidden_ptrace(void)
{
	syscall(SYS_ptrace, 0, 0, 0, 0);
	return 0;
}

static int
keyholder_open(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDONLY)) == -1)
		return 1;
	close(fd);
	return 0;
}

/* Key memory: sodium_malloc() locks, sodium_free() unlocks and zeroes. */
static int
keyholder_key_memory(void)
{
	unsigned char *k;

	if ((k = sodium_malloc(32)) == NULL)
		return 1;
	randombytes_buf(k, 32);
	sodium_mprotect_readonly(k);
	sodium_mprotect_readwrite(k);
	sodium_free(k);
	return 0;
}

static void
test_worker_allowed(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv_pre) == -1 ||
	    (ep_pre = epoll_create1(0)) == -1)
		abort();
	CHECK(exited_ok(run_sandboxed(SANDBOX_WORKER, worker_day)));
}

static void
test_worker_forbidden(void)
{
	CHECK(killed_by_sigsys(run_sandboxed(SANDBOX_WORKER, forbidden_open)));
	CHECK(killed_by_sigsys(run_sandboxed(SANDBOX_WORKER, forbidden_exec)));
	CHECK(killed_by_sigsys(run_sandboxed(SANDBOX_WORKER, forbidden_fork)));
	CHECK(killed_by_sigsys(run_sandboxed(SANDBOX_WORKER,
	    forbidden_mmap_exec)));
	CHECK(killed_by_sigsys(run_sandboxed(SANDBOX_WORKER,
	    forbidden_ptrace)));
}

static void
test_keyholder(void)
{
	/* The keyholder may open files (its database), but not exec. */
	CHECK(exited_ok(run_sandboxed(SANDBOX_KEYHOLDER, keyholder_open)));
	CHECK(exited_ok(run_sandboxed(SANDBOX_KEYHOLDER,
	    keyholder_key_memory)));
	CHECK(killed_by_sigsys(run_sandboxed(SANDBOX_KEYHOLDER,
	    forbidden_exec)));
	CHECK(killed_by_sigsys(run_sandboxed(SANDBOX_KEYHOLDER,
	    forbidden_fork)));
}

int
main(void)
{
	log_init(1, 0, "test_sandbox");
	if (sodium_init() == -1)
		return 1;
	UNIT_RUN(test_worker_allowed);
	UNIT_RUN(test_worker_forbidden);
	UNIT_RUN(test_keyholder);
	return UNIT_DONE("test_sandbox");
}
