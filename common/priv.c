/*
 * priv.c: dropping privileges; see sandbox.h.
 */
#include <sys/types.h>
#include <sys/resource.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"
#include "util.h"

int
priv_lookup(const char *user, struct priv_account *acct, char *err,
    size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		(void)snprintf(err, errlen, "unknown user \"%s\"%s%s (create "
		    "it, e.g. useradd --system --no-create-home --shell "
		    "/usr/sbin/nologin %s, or name another with \"user\")",
		    user, errno ? ": " : "", errno ? strerror(errno) : "",
		    user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		(void)snprintf(err, errlen, "user \"%s\" is root: refusing "
		    "to run children as root", user);
		return -1;
	}
	acct->name = xstrdup(user);
	acct->uid = pw->pw_uid;
	acct->gid = pw->pw_gid;
	return 0;
}

int
priv_drop(const struct priv_account *acct, const char *chroot_dir)
{
	uid_t ruid, euid, suid;

	if (geteuid() != 0)
		return 0;
	if (chroot_dir != NULL) {
		if (chroot(chroot_dir) == -1)
			fatal("chroot %s", chroot_dir);
		if (chdir("/") == -1)
			fatal("chdir /");
	}
	if (setgroups(1, &acct->gid) == -1)
		fatal("setgroups");
	if (setresgid(acct->gid, acct->gid, acct->gid) == -1)
		fatal("setresgid");
	if (setresuid(acct->uid, acct->uid, acct->uid) == -1)
		fatal("setresuid");
	if (getresuid(&ruid, &euid, &suid) == -1)
		fatal("getresuid");
	if (ruid != acct->uid || euid != acct->uid || suid != acct->uid)
		fatalx("privileges not dropped");
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("root could be regained after dropping privileges");
	return 1;
}

void
priv_nodump(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		fatal("setrlimit RLIMIT_CORE");
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("prctl PR_SET_DUMPABLE");
#endif
}
