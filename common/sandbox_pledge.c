/*
 * sandbox_pledge.c: the OpenBSD half of sandbox.h.  Workers keep only
 * stdio, inet and fd passing; the keyholder also its state directory
 * (its cwd after chroot) for the database.  unveil(2) hides the rest of
 * the file system.
 */
#ifdef __OpenBSD__

#include <err.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

void
sandbox_enter(enum sandbox_role role)
{
	switch (role) {
	case SANDBOX_WORKER:
		if (unveil(NULL, NULL) == -1)
			fatal("unveil");
		if (pledge("stdio inet recvfd", NULL) == -1)
			fatal("pledge");
		break;
	case SANDBOX_KEYHOLDER:
		if (unveil(".", "rwc") == -1 || unveil(NULL, NULL) == -1)
			fatal("unveil");
		if (pledge("stdio rpath wpath cpath flock inet recvfd",
		    NULL) == -1)
			fatal("pledge");
		break;
	}
}

const char *
sandbox_name(void)
{
	return "pledge";
}

#endif /* __OpenBSD__ */
