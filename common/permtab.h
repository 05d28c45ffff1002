/*
 * permtab.h: the endpoint permission table, generated at build time by
 * scripts/gen_permtab.py from data/github-endpoint-permissions.tsv and
 * data/no-permission.tsv into build/gen/permtab.c.  Only scope.c and the
 * tests read it; everyone else goes through scope.h.
 *
 * Layout:
 *  - permtab_perms[]: every permission name in the data, sorted, so a
 *    token's permissions are an array indexed like it.
 *  - permtab_endpoints[]: one per (method, path template), with its rows
 *    permtab_rows[row .. row + nrows - 1] (one per data row), or a
 *    no-permission.tsv policy (PE_ALLOW / PE_REFUSE and its reason).
 *  - permtab_nodes[]: a segment trie per method, rooted at
 *    permtab_roots[method].  A node's literal children are contiguous
 *    and sorted by bytes (memcmp, then length), so a lookup is a binary
 *    search per segment; "param" is the one placeholder child.  A node
 *    where a template ends has its endpoint in "ep".  An endpoint with
 *    PE_MULTI ends in a placeholder that may span several segments.
 *
 * Segment indices (owner, repo, org, ...) count from 0 after the leading
 * slash: in /repos/{owner}/{repo}, owner is 1 and repo is 2.
 */
#ifndef GHP_PERMTAB_H
#define GHP_PERMTAB_H

#include <stddef.h>
#include <stdint.h>

#define PERMTAB_MAXPERMS	128	/* size of a token's permission array */

enum permtab_method {
	PERMTAB_GET,
	PERMTAB_POST,
	PERMTAB_PUT,
	PERMTAB_PATCH,
	PERMTAB_DELETE,
	PERMTAB_NMETHODS
};

enum permtab_kind {
	PERMTAB_REPOSITORY,
	PERMTAB_ORGANIZATION,
	PERMTAB_ACCOUNT,
	PERMTAB_ENTERPRISE
};

/* Same values as enum scope_level. */
enum permtab_access {
	PERMTAB_READ = 1,
	PERMTAB_WRITE = 2,
	PERMTAB_ADMIN = 3
};

/*
 * What a row's permission is checked against, decided by the generator
 * from the row's kind and its path template.
 */
enum permtab_subject {
	PS_REPO,	/* the repository the path names */
	PS_ORG,		/* {org}: must own one of the token's repositories */
	PS_ORG_ALL,	/* repository permission over all of {org}: org/\* */
	PS_USER_ALL,	/* ... over all of /users/{username}: username/\* */
	PS_SELF_ALL,	/* ... over all of /user (the token owner): login/\* */
	PS_SELF,	/* account permission on /user, /gists: the owner's */
	PS_USER_SELF,	/* account permission on /users/{username}: own only */
	PS_NO_REPO,	/* repository permission, no repository in the path */
	PS_TEAM_ID,	/* organization permission on /teams/{team_id} */
	PS_ENTERPRISE	/* enterprise permission */
};

/* permtab_row.flags */
#define PR_PAT		0x01	/* fine_grained_pat=yes: ghx_ tokens */
#define PR_INST		0x02	/* installation_token=yes: gha_ tokens */
#define PR_ADDITIONAL	0x04	/* additional=true in the data */
#define PR_WORKFLOWS	0x08	/* needed only for .github/workflows/ files */

struct permtab_row {
	uint8_t		 perm;		/* index into permtab_perms */
	uint8_t		 kind;		/* enum permtab_kind */
	uint8_t		 access;	/* enum permtab_access */
	uint8_t		 subject;	/* enum permtab_subject */
	uint8_t		 group;		/* rows of one group are alternatives */
	uint8_t		 flags;		/* PR_* */
	uint16_t	 line;		/* line in the permissions TSV */
};

/* permtab_endpoint.flags */
#define PE_MULTI	0x01	/* last placeholder spans >= 1 segments */
#define PE_ALLOW	0x02	/* no-permission.tsv: allow */
#define PE_REFUSE	0x04	/* no-permission.tsv: refuse (wins over rows) */

struct permtab_endpoint {
	const char	*template;	/* "/repos/{owner}/{repo}/issues" */
	const char	*reason;	/* no-permission.tsv reason, or NULL */
	uint16_t	 row;		/* first row */
	uint8_t		 nrows;		/* 0 for no-permission.tsv entries */
	uint8_t		 method;	/* enum permtab_method */
	uint8_t		 flags;		/* PE_* */
	uint8_t		 nseg;		/* segments in the template */
	int8_t		 owner, repo;	/* repository in the path, or -1 */
	int8_t		 owner2, repo2;	/* a second one, or -1 */
	int8_t		 org;		/* {org}, or -1 */
	int8_t		 user;		/* /users/{username}, or -1 */
	int8_t		 path;		/* contents {path}, or -1 */
};

struct permtab_node {
	const char	*seg;		/* literal segment; NULL: placeholder */
	uint16_t	 seglen;
	uint16_t	 child;		/* first literal child */
	uint16_t	 nchild;	/* number of literal children */
	int16_t		 param;		/* placeholder child, or -1 */
	int16_t		 ep;		/* endpoint ending here, or -1 */
};

extern const char *const		 permtab_perms[];
extern const size_t			 permtab_nperms;
extern const struct permtab_row		 permtab_rows[];
extern const size_t			 permtab_nrows;
extern const struct permtab_endpoint	 permtab_endpoints[];
extern const size_t			 permtab_nendpoints;
extern const struct permtab_node	 permtab_nodes[];
extern const size_t			 permtab_nnodes;
extern const int16_t			 permtab_roots[PERMTAB_NMETHODS];
extern const char *const		 permtab_method_names[PERMTAB_NMETHODS];

#endif /* GHP_PERMTAB_H */
