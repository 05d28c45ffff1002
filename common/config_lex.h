/*
 * config_lex.h: the ghp.conf(5) lexer (config_lex.c, config_file.c),
 * private to common/config*.c.
 *
 * The lexer reads from a stack of sources: files (the config and what it
 * includes) and, above the file being read, macro expansions.  A token
 * carries the file and line it came from.  Its string lives in one of a
 * small ring of buffers, so it stays valid until LEX_TOKEN_RING more
 * tokens have been read; the parser copies what it keeps.
 */
#ifndef GHP_CONFIG_LEX_H
#define GHP_CONFIG_LEX_H

#include <sys/queue.h>

#include <stdarg.h>
#include <stddef.h>

#define LEX_MAX_TOKEN		8192		/* bytes in one word or string */
#define LEX_MAX_FILE		(1024 * 1024)	/* bytes in one file */
#define LEX_MAX_TOTAL		(16 * 1024 * 1024) /* all files of a parse */
#define LEX_MAX_EXPAND_DEPTH	16		/* macros within macros */
#define LEX_MAX_EXPANDED	(1024 * 1024)	/* bytes of all expansions */
#define LEX_MAX_MACRO_NAME	63
#define LEX_TOKEN_RING		4

enum tok_type {
	T_EOF,			/* end of the current file (sticky) */
	T_NEWLINE,
	T_WORD,			/* bare word: may be a keyword */
	T_STRING,		/* quoted string: never a keyword */
	T_LBRACE,
	T_RBRACE,
	T_EQUALS,
	T_ERROR			/* already reported by the lexer */
};

/* Keywords: keep in step with the sorted table in config_lex.c. */
enum keyword {
	K_NONE,
	K_ACCESS,
	K_ALLOW,
	K_ANONYMOUS,
	K_API,
	K_APP,
	K_AUDIT,
	K_BLOCK,
	K_BODY,
	K_CA,
	K_CERTIFICATE,
	K_CHECK,
	K_CHROOT,
	K_CODELOAD,
	K_CONTROL,
	K_COPILOT,
	K_CREDENTIAL,
	K_DIRECTORY,
	K_ENTERPRISE,
	K_FOR,
	K_GIT,
	K_HEADER,
	K_ID,
	K_IDLE,
	K_INCLUDE,
	K_INSTALLATION,
	K_INTERCEPT,
	K_KEY,
	K_KEYHOLDER,
	K_LISTEN,
	K_LOG,
	K_METRICS,
	K_NETRC,
	K_ON,
	K_PASS,
	K_PERMISSIVE,
	K_PLACEHOLDER,
	K_POLICY,
	K_PORT,
	K_PRIVATE,
	K_PROXY,
	K_RAW,
	K_REDIRECT,
	K_REFUSE,
	K_RELEASES,
	K_SEND,
	K_SERVE,
	K_SHUTDOWN,
	K_SOCKET,
	K_STATE,
	K_STRICT,
	K_TIMEOUT,
	K_TLS,
	K_TO,
	K_TOKENS,
	K_TUNNEL,
	K_UNWRITABLE,
	K_UPSTREAM,
	K_USER,
	K_VIA,
	K_WEB,
	K_WORKERS
};

struct token {
	enum tok_type	 type;
	enum keyword	 kw;		/* T_WORD only */
	const char	*str;		/* T_WORD, T_STRING: NUL-terminated */
	const char	*file;
	int		 line;
};

struct lex_src {
	SLIST_ENTRY(lex_src) next;
	char		*buf;		/* owned */
	size_t		 len;
	size_t		 pos;
	char		*name;		/* file: its path; macro: its name */
	int		 is_file;
	int		 lineno;	/* file only */
	struct lex_src	*file;		/* the file being read */
};

struct lex_macro {
	TAILQ_ENTRY(lex_macro) entry;
	char		*name;
	char		*value;
};
TAILQ_HEAD(lex_macro_list, lex_macro);

struct lex_name {
	SLIST_ENTRY(lex_name) next;
	char		 name[];
};

struct lex {
	SLIST_HEAD(, lex_src) stack;
	SLIST_HEAD(, lex_name) names;	/* file names, live for the parse */
	struct lex_macro_list macros;	/* defined in the files */
	int		 nfiles;	/* files on the stack */
	int		 nexpand;	/* expansions on the stack */
	size_t		 expanded;	/* bytes expanded so far */
	size_t		 total;		/* bytes read from files so far */
	int		 errors;
	int		 abort;		/* stop: out of memory or budget */
	int		 quiet;		/* skipping after an error: count only */
	int		 has_back;
	struct token	 back;
	int		 ring;
	char		 tokbuf[LEX_TOKEN_RING][LEX_MAX_TOKEN + 1];
};

struct lex	*lex_new(void);
void		 lex_free(struct lex *);
int		 lex_push_file(struct lex *, const char *,
		    const struct token *);
int		 lex_push_buffer(struct lex *, const char *, const char *,
		    size_t);
int		 lex_pop_file(struct lex *);
void		 lex_next(struct lex *, struct token *);
void		 lex_unget(struct lex *, const struct token *);
int		 lex_eof_line(struct lex *);
int		 lex_set_macro(struct lex *, const char *, const char *);
const char	*lex_macro_value(struct lex *, const char *);
void		 lex_macro_clear(struct lex_macro_list *);
int		 lex_macro_name_ok(const char *);
enum keyword	 lex_keyword(const char *);
const char	*lex_keyword_name(enum keyword);
const char	*lex_describe(const struct token *, char *, size_t);
void		 lex_error(struct lex *, const char *, int, const char *, ...)
		    __attribute__((__format__(__printf__, 4, 5)));
void		 lex_verror(struct lex *, const char *, int, const char *,
		    va_list) __attribute__((__format__(__printf__, 4, 0)));
void		 lex_oom(struct lex *);

#endif /* GHP_CONFIG_LEX_H */
