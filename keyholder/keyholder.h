/*
 * keyholder.h: the keyholder process, the only one that can read ghp's
 * key material.
 *
 * keyholder_main() never returns.  It runs in a freshly forked child
 * with its master channel on chan_fd.  It makes itself undumpable, moves
 * into the state directory (chroot when root), drops to its account,
 * creates its key pair on first start, closes its sandbox and announces
 * its public key to the master.  Workers get a channel each, passed by
 * the master (MSG_WORKER_CHANNEL); every message on them is hostile input.
 */
#ifndef GHP_KEYHOLDER_H
#define GHP_KEYHOLDER_H

#include "config.h"
#include "sandbox.h"

#define KEYHOLDER_BOX_SECRET	"box.key"
#define KEYHOLDER_BOX_PUBLIC	"box.pub"
#define KEYHOLDER_DB		"ghp.db"

void	keyholder_main(const struct config *, const struct priv_account *,
	    int chan_fd) __attribute__((__noreturn__));

#endif /* GHP_KEYHOLDER_H */
