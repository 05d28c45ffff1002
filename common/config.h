/*
 * config.h: ghp.conf(5), parsed into one struct config.
 *
 * Contract:
 *  - config_load() reads a file (and what it includes) and returns a
 *    complete, validated struct config, or NULL.  Every problem found is
 *    reported as "file:line: message" through the error callback (or to
 *    stderr when none is set), and parsing goes on after an error so that
 *    all of them are reported in one run, as -n wants.
 *  - config_parse_buffer() does the same for text in memory (fuzzing and
 *    unit tests); "include" is refused there unless allow_include is set.
 *  - Macros given with -D (config_define()) are fixed: a definition of the
 *    same name in the file does not override them, as in OpenBSD's parsers.
 *  - A struct config owns all its strings; config_free() releases it.
 *  - config_print() writes the config back in ghp.conf(5) syntax; the
 *    output parses again to an equal config (ghp -nv relies on this).
 *
 * The master parses; children get the struct by fork(2), so nothing here
 * is ever parsed by an unprivileged process.
 */
#ifndef GHP_CONFIG_H
#define GHP_CONFIG_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH	"/etc/ghp.conf"
#define CONFIG_DEFAULT_USER	"_ghp"
#define CONFIG_DEFAULT_CHROOT	"/var/empty"
#define CONFIG_DEFAULT_STATEDIR	"/var/db/ghp"
#define CONFIG_DEFAULT_CONTROL	"/var/run/ghp.sock"
#define CONFIG_DEFAULT_WORKERS	4
#define CONFIG_MAX_WORKERS	256
#define CONFIG_DEFAULT_SHUTDOWN	10	/* seconds to drain on stop */
#define CONFIG_DEFAULT_HEADER_TIMEOUT	10	/* a request head, whole */
#define CONFIG_DEFAULT_IDLE_TIMEOUT	60	/* keep-alive between requests */
#define CONFIG_DEFAULT_BODY_TIMEOUT	60	/* silence in a request body */
#define CONFIG_DEFAULT_SEND_TIMEOUT	60	/* a client reading nothing */
#define CONFIG_DEFAULT_UPSTREAM_TIMEOUT	60	/* GitHub sending nothing */
#define CONFIG_DEFAULT_TUNNEL_TIMEOUT	3600	/* a proxy tunnel, whole */
#define CONFIG_DEFAULT_CA	"/etc/ssl/certs/ca-certificates.crt"
#define CONFIG_MAX_INCLUDE	8	/* include nesting */

enum upstream_kind {
	UPSTREAM_API,
	UPSTREAM_WEB,
	UPSTREAM_CODELOAD,
	UPSTREAM_COPILOT,
	UPSTREAM_RAW,
	UPSTREAM_MAX
};

struct listen_conf {
	TAILQ_ENTRY(listen_conf) entry;
	char		*addr;		/* as written: "127.0.0.1", "::", "*" */
	uint16_t	 port;
	int		 tls;		/* "tls certificate ... key ..." */
	char		*tls_cert;
	char		*tls_key;
	int		 proxy;		/* forward-proxy listener */
	int		 line;		/* where it was written, for errors */
};
TAILQ_HEAD(listen_list, listen_conf);

struct app_installation {
	TAILQ_ENTRY(app_installation) entry;
	uint64_t	 id;
	char		*owner;		/* "for" owner, or NULL */
};
TAILQ_HEAD(app_installation_list, app_installation);

struct app_conf {
	TAILQ_ENTRY(app_conf) entry;
	char		*name;
	uint64_t	 id;
	char		*private_key;	/* path */
	struct app_installation_list installations;
};
TAILQ_HEAD(app_list, app_conf);

struct string_entry {
	TAILQ_ENTRY(string_entry) entry;
	char		*value;
};
TAILQ_HEAD(string_list, string_entry);

/*
 * What happens to release downloads (github.com) and archives
 * (codeload.github.com): passed to GitHub with a scope check, refused,
 * or redirected to a mirror; repositories in the allow list are always
 * passed.
 */
enum policy_mode {
	POLICY_PASS,
	POLICY_BLOCK,
	POLICY_REDIRECT
};

struct policy_conf {
	enum policy_mode mode;
	char		*url;		/* redirect to (no trailing '/') */
	int		 check;		/* HEAD the target before redirecting */
	char		*netrc;		/* credentials for the check, or NULL */
	struct string_list allow;	/* "owner/repo", "owner/\*" */
};

/*
 * intercept "pattern" credential "NAME" [via "ADDR:PORT"]
 *     { header "H" placeholder "P" }:
 * a host (or "*.domain") other than GitHub's whose TLS a forward-proxy
 * listener terminates, and whose requests get the stored credential
 * NAME in header H (replacing the client's), and in place of P wherever
 * a header value holds it.
 */
struct intercept_conf {
	TAILQ_ENTRY(intercept_conf) entry;
	char		*pattern;
	char		*credential;	/* a stored credential's owner name */
	char		*via;		/* "address:port" to connect to, or
					   NULL: the host's own address */
	struct string_list headers;	/* set to the credential */
	struct string_list placeholders; /* replaced by it */
	int		 line;
};
TAILQ_HEAD(intercept_list, intercept_conf);

struct config {
	char		*path;		/* the file given to config_load() */
	char		*user;		/* workers' user */
	char		*keyholder_user; /* NULL: same as user */
	char		*chroot;
	int		 workers;
	char		*state_dir;
	char		*control_socket;
	int		 shutdown_timeout; /* seconds */
	int		 timeout_header;	/* seconds, all five */
	int		 timeout_idle;
	int		 timeout_body;
	int		 timeout_send;
	int		 timeout_upstream;
	struct listen_list listeners;
	char		*upstream[UPSTREAM_MAX];	/* URLs */
	char		*upstream_ca;	/* CA bundle for https upstreams */
	struct app_list	 apps;
	struct string_list block_tokens;	/* prefixes */
	char		*log_audit;	/* NULL: no audit log file */
	int		 audit_serve;	/* unwritable: serve (1) or refuse */
	char		*log_access;
	int		 allow_anonymous; /* forward requests without a token */
	int		 block_anonymous_git;	/* even with allow anonymous */
	char		*enterprise;	/* sec-GitHub-allowed-enterprise */
	struct policy_conf releases;
	struct policy_conf codeload;
	/* forward proxy: hosts other than GitHub's, tunnelled as they are */
	int		 proxy_permissive;	/* any host, else proxy_allow */
	struct string_list proxy_allow;	/* "host", "*.domain", address */
	int		 timeout_tunnel;	/* seconds a tunnel may last */
	struct intercept_list intercepts;
	char		*metrics_addr;	/* NULL: no metrics listener */
	uint16_t	 metrics_port;
};

/* Called once per error with "file:line: message" (no newline). */
typedef void	(*config_error_cb)(const char *msg, void *arg);

void		 config_set_error_cb(config_error_cb, void *);
int		 config_define(const char *assignment);	/* "name=value" */
void		 config_clear_defines(void);
struct config	*config_load(const char *path);
/* Do two configs name the same apps, keys and installations? */
int		 config_apps_equal(const struct config *, const struct config *);
struct config	*config_parse_buffer(const char *name, const char *buf,
		    size_t len, int allow_include);
void		 config_free(struct config *);
void		 config_print(FILE *, const struct config *);
const char	*config_upstream_name(enum upstream_kind);
const char	*config_upstream_default(enum upstream_kind);

#endif /* GHP_CONFIG_H */
