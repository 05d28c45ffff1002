/*
 * sandbox.h: what a child may do once it has started.
 *
 * priv_drop() is the privilege half, in the order OpenSSH uses: chroot
 * (when root and a directory is given), setgroups/setresgid/setresuid to
 * the account, then a check that root cannot be regained.  Any failure is
 * fatal: a child that cannot drop must not run.  Not running as root, it
 * changes nothing and returns 0 (the caller warns once).
 *
 * sandbox_enter() is the system-call half, the last thing before a
 * child's event loop: on Linux PR_SET_NO_NEW_PRIVS and a seccomp filter
 * (sandbox_seccomp.c), on OpenBSD pledge(2) and unveil(2)
 * (sandbox_pledge.c).  Anything outside the role's list kills the process
 * with SIGSYS.  Everything a child needs from the file system is opened
 * before this call.
 */
#ifndef GHP_SANDBOX_H
#define GHP_SANDBOX_H

#include <sys/types.h>

enum sandbox_role {
	SANDBOX_WORKER,
	SANDBOX_KEYHOLDER
};

struct priv_account {
	char	*name;
	uid_t	 uid;
	gid_t	 gid;
};

/* Look up a user; -1 (with a message in err) when it does not exist. */
int	priv_lookup(const char *user, struct priv_account *,
	    char *err, size_t errlen);
/* 1 if chrooted and switched, 0 when not root (nothing done). */
int	priv_drop(const struct priv_account *, const char *chroot_dir);
/* Not dumpable, no core files: for processes that hold secrets. */
void	priv_nodump(void);

void	sandbox_enter(enum sandbox_role);
/* The name of the mechanism, for logs: "seccomp", "pledge", "none". */
const char *sandbox_name(void);

#endif /* GHP_SANDBOX_H */
