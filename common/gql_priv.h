/*
 * gql_priv.h: what the GraphQL parser's files share; private to
 * common/gql*.c.
 *
 * gql_lex.c  the arena, errors and the lexer (section 2.1 of the
 *            specification): ignored text, names, numbers, punctuators,
 *            quoted and block strings, UTF-8
 * gql.c      the parser (sections 2.2 to 2.12), the checks that need the
 *            whole document, and the functions of gql.h
 *
 * The lexer hands out one token at a time; the grammar never needs to
 * look further ahead than that.
 */
#ifndef GHP_GQL_PRIV_H
#define GHP_GQL_PRIV_H

#include <stddef.h>

#include "gql.h"

struct gql_arena;

enum gql_tok_type {
	TOK_EOF,
	TOK_NAME,
	TOK_INT,
	TOK_FLOAT,
	TOK_STRING,		/* quoted or block */
	TOK_PUNCT
};

struct gql_tok {
	enum gql_tok_type type;
	int		 punct;		/* !$&():=@[]{}|, '.' for "..." */
	size_t		 start, len;	/* the bytes of the text */
	int		 line, col;	/* where it starts */
	char		*sval;		/* TOK_STRING: decoded */
	size_t		 svlen;
};

struct gql_lex {
	const unsigned char *s;
	size_t		 len;
	size_t		 pos;		/* the next byte to read */
	int		 line, col;	/* of pos, in characters */
	size_t		 ntokens;
	struct gql_tok	 tok;		/* the current token */
	struct gql_arena *arena;
	char		*err;
	size_t		 errlen;
	int		 failed;	/* err holds the first error */
};

struct gql_arena *gql_arena_new(void);
void		*gql_arena_alloc(struct gql_arena *, size_t);
void		 gql_arena_free(struct gql_arena *);

void		 gql_lex_init(struct gql_lex *, const char *, size_t,
		    char *, size_t);
int		 gql_lex_next(struct gql_lex *);
void		*gql_lex_alloc(struct gql_lex *, size_t);
char		*gql_lex_copy(struct gql_lex *, size_t, size_t);
int		 gql_error(struct gql_lex *, int, int, const char *, ...)
		    __attribute__((__format__(__printf__, 4, 5)));
int		 gql_error_name(struct gql_lex *, int, int, const char *,
		    const char *);
int		 gql_unexpected(struct gql_lex *, const char *);

#endif /* GHP_GQL_PRIV_H */
