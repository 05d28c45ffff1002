/*
 * config_priv.h: the ghp.conf(5) parser's files and the state of a parse
 * that they share; private to common/config*.c.
 *
 * config.c        a parse from start to finish: config_load(),
 *                 config_parse_buffer(), config_free(); errors and
 *                 the recovery after one
 * config_parse.c  the statements, by recursive descent
 * config_check.c  values checked as they are read (numbers, paths, URLs,
 *                 addresses, what may be given once), what needs the
 *                 whole file, the defaults
 * config_web.c    the statements about github.com's other hosts:
 *                 releases, codeload, block anonymous git, enterprise
 * config_intercept.c  "intercept" blocks (forward proxy)
 * config_print.c  config_print(): a config in ghp.conf(5) syntax
 * config_lex.c    the lexer (config_lex.h)
 * config_file.c   what the lexer reads: files, with their checks, and
 *                 macros
 *
 * config_* functions are public (config.h), lex_* the lexer's, conf_*
 * shared between the parser's files only.
 */
#ifndef GHP_CONFIG_PRIV_H
#define GHP_CONFIG_PRIV_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "config_lex.h"

#define CONF_NSCALARS	20	/* entries in scalars[], config_parse.c */

struct where {
	const char	*file;		/* NULL: not given */
	int		 line;
};

/* Addresses and app names already given, with where. */
struct seen {
	TAILQ_ENTRY(seen) entry;
	struct where	 at;
	char		 key[];
};
TAILQ_HEAD(seen_list, seen);

struct parse {
	struct lex	*lx;
	struct config	*conf;
	int		 allow_include;
	int		 in_block;
	int		 nlisten;	/* "listen on" statements, even bad */
	int		 eof_line;	/* the main file's last line */
	struct where	 set[CONF_NSCALARS];
	struct where	 metrics;
	struct where	 anonymous;
	struct where	 anonymous_git;	/* block anonymous git */
	struct where	 enterprise;
	struct where	 policy[2];	/* releases, codeload */
	struct where	 proxy_policy;
	struct where	 tunnel_timeout;
	struct seen_list seen;
};

/* config.c */
void		 conf_perr(struct parse *, const struct token *, const char *,
		    ...) __attribute__((__format__(__printf__, 3, 4)));
void		 conf_skip(struct parse *, int);
void		 conf_bad(struct parse *, const struct token *);
void		 conf_expected(struct parse *, const struct token *,
		    const char *, const char *);
int		 conf_expect_kw(struct parse *, enum keyword, const char *);
int		 conf_get_value(struct parse *, struct token *, const char *,
		    const char *);
void		 conf_end_statement(struct parse *, const char *);
char		*conf_pstrdup(struct parse *, const char *);
void		 conf_listen_free(struct listen_conf *);
/* Append a copy of v to l; -1 out of memory (said). */
int		 conf_add_string(struct parse *, struct string_list *,
		    const char *);
/* The first time: note where (0); else "what already set at ..." (-1). */
int		 conf_set_once(struct parse *, const struct token *,
		    struct where *, const char *);
void		 conf_app_free(struct app_conf *);

/* config_parse.c */
void		 conf_parse_file(struct parse *);
int		 conf_parse_block_body(struct parse *, const struct token *,
		    const char *, void (*)(struct parse *, const struct token *,
		    void *), void *);

/* config_web.c */
void		 conf_parse_policy(struct parse *, const struct token *);
void		 conf_parse_enterprise(struct parse *, const struct token *);
void		 conf_parse_block_anonymous(struct parse *,
		    const struct token *);
void		 conf_parse_proxy(struct parse *, const struct token *);

/* config_intercept.c */
void		 conf_parse_intercept(struct parse *, const struct token *);
void		 conf_intercepts_free(struct intercept_list *);
void		 conf_print_intercepts(FILE *, const struct config *);
void		 conf_string_list_free(struct string_list *);
void		 conf_policy_free(struct policy_conf *);
void		 conf_print_web(FILE *, const struct config *);

/* config_print.c */
void		 conf_print_quoted(FILE *, const char *);
/* " { "a" "b" }" */
void		 conf_print_list(FILE *, const struct string_list *);

/* config_check.c */
int		 conf_get_number(struct parse *, const struct token *,
		    const char *, uint64_t, uint64_t, uint64_t *);
int		 conf_check_path(struct parse *, const struct token *,
		    const char *);
const char	*conf_url_problem(const char *);
int		 conf_addr_key(const char *, char *, size_t);
const char	*conf_where(const struct where *, const struct token *,
		    char *, size_t);
int		 conf_seen_add(struct parse *, const char *,
		    const struct token *, struct seen **);
int		 conf_check_addr_dup(struct parse *, const char *,
		    const struct token *, const char *, const char *, uint16_t);
void		 conf_check_whole(struct parse *);

#endif /* GHP_CONFIG_PRIV_H */
