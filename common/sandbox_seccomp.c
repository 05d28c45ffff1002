/*
 * sandbox_seccomp.c: the Linux half of sandbox.h, with libseccomp.
 *
 * The lists are short on purpose and say why each call is there.  The
 * default action kills the whole process (SIGSYS), so a worker that is
 * made to run foreign code cannot open a file, exec, ptrace or fork.
 * libseccomp checks the architecture itself: a call made through another
 * ABI (i386 or x32 on x86_64) is killed too.  mmap and mprotect are
 * allowed only without PROT_EXEC, so no new code can be mapped; ioctl
 * only as FIONREAD.
 *
 * With -vvv the filter traps instead of killing and a SIGSYS handler
 * writes the offending system call number to stderr before exiting, to
 * find what a new libc or library version needs.
 */
#ifdef __linux__

#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include <termios.h>

#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/* Every child: memory, time, its sockets, its event loop, exiting. */
static const int sandbox_base[] = {
	/* I/O on descriptors it already holds */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(fcntl), SCMP_SYS(fstat),
	/* sockets: channels (SCM_RIGHTS), clients, upstream connections */
	SCMP_SYS(recvmsg), SCMP_SYS(sendmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(accept4), SCMP_SYS(shutdown),
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	/* the event loop (libevent's epoll back end, libcurl's poll) */
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	/* memory (mmap/mprotect are added with a PROT_EXEC check) */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(futex),
	/* time, randomness, identity for log lines */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getrandom),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(sched_yield),
	/* signals returning, leaving */
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
	/* abort() after a failed assertion or sanitizer report */
	SCMP_SYS(tgkill), SCMP_SYS(getuid), SCMP_SYS(geteuid),
};

/* The keyholder also keeps its SQLite database in its state directory. */
static const int sandbox_keyholder_extra[] = {
	SCMP_SYS(openat), SCMP_SYS(open), SCMP_SYS(newfstatat),
	SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(lseek), SCMP_SYS(pread64),
	SCMP_SYS(pwrite64), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate), SCMP_SYS(unlink), SCMP_SYS(rename),
	SCMP_SYS(fchown), SCMP_SYS(fchmod), SCMP_SYS(getcwd),
	SCMP_SYS(readlink), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(statx), SCMP_SYS(flock),
	/* key memory: sodium_malloc() locks it, sodium_free() unlocks it */
	SCMP_SYS(mlock), SCMP_SYS(munlock),
};

/*
 * A sanitizer build's runtime makes a few calls of its own (it tears
 * down its signal stack at exit).  Only in such builds.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifdef SANDBOX_SANITIZER
static const int sandbox_sanitizer_extra[] = {
	SCMP_SYS(sigaltstack), SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
};
#endif

static void
sandbox_sigsys(int sig, siginfo_t *info, void *ctx)
{
	char buf[96];
	int n;

	n = snprintf(buf, sizeof(buf), "ghp: sandbox: forbidden system "
	    "call %d\n", info->si_syscall);
	if (n > 0)
		(void)write(STDERR_FILENO, buf, (size_t)n);
	_exit(70);
}

static void
sandbox_add(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (calls[i] < 0)	/* not on this architecture */
			continue;
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i],
		    0)) < 0)
			fatalx("seccomp_rule_add %d: %s", calls[i],
			    strerror(-r));
	}
}

/* libevent asks how much a socket holds before reading: FIONREAD only. */
static void
sandbox_add_ioctl(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONREAD)) < 0)
		fatalx("seccomp_rule_add ioctl");
}

static void
sandbox_add_noexec(scmp_filter_ctx ctx)
{
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0)
		fatalx("seccomp_rule_add mmap/mprotect");
}

void
sandbox_enter(enum sandbox_role role)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	uint32_t deny = SCMP_ACT_KILL_PROCESS;
	int r;

	if (log_verbose() >= 3) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sandbox_sigsys;
		sa.sa_flags = SA_SIGINFO;
		if (sigaction(SIGSYS, &sa, NULL) == -1)
			fatal("sigaction SIGSYS");
		deny = SCMP_ACT_TRAP;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl PR_SET_NO_NEW_PRIVS");
	if ((ctx = seccomp_init(deny)) == NULL)
		fatalx("seccomp_init");
	sandbox_add(ctx, sandbox_base,
	    sizeof(sandbox_base) / sizeof(sandbox_base[0]));
	sandbox_add_noexec(ctx);
	sandbox_add_ioctl(ctx);
#ifdef SANDBOX_SANITIZER
	sandbox_add(ctx, sandbox_sanitizer_extra,
	    sizeof(sandbox_sanitizer_extra) / sizeof(sandbox_sanitizer_extra[0]));
	/* A report asks isatty(2) whether to colour itself. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, TCGETS)) < 0)
		fatalx("seccomp_rule_add ioctl TCGETS");
#endif
	if (role == SANDBOX_KEYHOLDER)
		sandbox_add(ctx, sandbox_keyholder_extra,
		    sizeof(sandbox_keyholder_extra) /
		    sizeof(sandbox_keyholder_extra[0]));
	if ((r = seccomp_load(ctx)) < 0)
		fatalx("seccomp_load: %s", strerror(-r));
	seccomp_release(ctx);
}

const char *
sandbox_name(void)
{
	return "seccomp";
}

#endif /* __linux__ */
