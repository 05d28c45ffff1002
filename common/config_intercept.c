/*
 * config_intercept.c: "intercept" blocks, for a forward-proxy listener.
 *
 *	intercept "api.example.com" credential "example" [via "ADDR:PORT"] {
 *		header "x-api-key"
 *		placeholder "EXAMPLE_PLACEHOLDER"
 *	}
 *
 * The pattern is a host name in lower case or "*.domain"; GitHub's own
 * hosts are intercepted anyway and may not be named.  The credential is
 * the owner name a credential was stored under (ghpctl credential add).
 * A block needs at least one header or placeholder.  "via" sends the
 * host's requests to another address (a gateway, a test server): an IP
 * address and a port, "192.0.2.1:8443" or "[2001:db8::1]:443"; TLS is
 * still checked for the host's name.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "config.h"
#include "config_priv.h"
#include "util.h"
#include "web.h"

#define INTERCEPT_NAME_MAX	64

struct icpt_state {
	struct intercept_conf	*ic;
	int			 n;
};

/* A header name: an HTTP token, no hop-by-hop or ghp field. */
static int
header_name_ok(const char *s)
{
	static const char *never[] = { "host", "connection", "content-length",
	    "transfer-encoding", "proxy-authorization", "te", "upgrade",
	    "keep-alive", "trailer" };
	size_t i;

	if (*s == '\0' || strlen(s) > INTERCEPT_NAME_MAX)
		return (0);
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    strchr("!#$%&'*+-.^_`|~", s[i]) != NULL))
			return (0);
	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (strcasecmp(s, never[i]) == 0)
			return (0);
	return (1);
}

/* A placeholder: printable ASCII without space, 8 to 256 bytes. */
static int
placeholder_ok(const char *s)
{
	size_t n = strlen(s);

	return (n >= 8 && n <= 256 && visible_ascii(s, n));
}

static void
icpt_item(struct parse *p, const struct token *t, void *arg)
{
	struct icpt_state	*st = arg;
	struct token		 v;
	int			 header = t->type == T_WORD && t->kw == K_HEADER;

	if (!header && !(t->type == T_WORD && t->kw == K_PLACEHOLDER)) {
		conf_perr(p, t, "intercept: unknown keyword \"%s\"", t->str);
		conf_bad(p, t);
		return;
	}
	if (conf_get_value(p, &v, header ? "header" : "placeholder",
	    header ? "a header name" : "a placeholder") == -1)
		return;
	st->n++;
	if (header && !header_name_ok(v.str))
		conf_perr(p, &v, "intercept header: \"%s\" is not a header "
		    "ghp may set", v.str);
	else if (!header && !placeholder_ok(v.str))
		conf_perr(p, &v, "intercept placeholder: 8 to 256 printable "
		    "characters, no space");
	else
		(void)conf_add_string(p, header ? &st->ic->headers :
		    &st->ic->placeholders, v.str);
}

/* "ADDR:PORT" with ADDR an IPv4 address or a bracketed IPv6 one. */
static int
via_ok(const char *s)
{
	char a[INET6_ADDRSTRLEN + 2];
	struct in6_addr a6;
	struct in_addr a4;
	const char *colon = strrchr(s, ':'), *p;
	size_t n;
	long port = 0;

	if (colon == NULL || colon[1] == '\0' || (n = (size_t)(colon - s)) >=
	    sizeof(a))
		return (0);
	for (p = colon + 1; *p != '\0'; p++)
		if (*p < '0' || *p > '9' || (port = port * 10 + (*p - '0')) >
		    65535)
			return (0);
	if (port == 0)
		return (0);
	if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
		memcpy(a, s + 1, n - 2);
		a[n - 2] = '\0';
		return (inet_pton(AF_INET6, a, &a6) == 1);
	}
	memcpy(a, s, n);
	a[n] = '\0';
	return (inet_pton(AF_INET, a, &a4) == 1);
}

static int
pattern_ok(const char *s)
{
	if (s[0] == '*' && s[1] == '.')
		s += 2;
	return (web_host_ok(s) && !web_intercepted(s, strlen(s)));
}

/* intercept PATTERN credential NAME { header H  placeholder P ... } */
void
conf_parse_intercept(struct parse *p, const struct token *kt)
{
	struct icpt_state	 st;
	struct intercept_conf	*ic;
	struct token		 t;

	if ((ic = calloc(1, sizeof(*ic))) == NULL) {
		lex_oom(p->lx);
		return;
	}
	TAILQ_INIT(&ic->headers);
	TAILQ_INIT(&ic->placeholders);
	ic->line = kt->line;
	if (conf_get_value(p, &t, "intercept", "a host pattern") == -1)
		goto fail;
	if (!pattern_ok(t.str))
		conf_perr(p, &t, "intercept: \"%s\" is not a host name in "
		    "lower case or \"*.domain\" (nor one of GitHub's)", t.str);
	if ((ic->pattern = conf_pstrdup(p, t.str)) == NULL ||
	    conf_expect_kw(p, K_CREDENTIAL, "intercept") == -1 ||
	    conf_get_value(p, &t, "intercept credential", "a name") == -1)
		goto fail;
	if (t.str[0] == '\0' || strlen(t.str) > INTERCEPT_NAME_MAX)
		conf_perr(p, &t, "intercept credential: a name of 1 to %d "
		    "characters", INTERCEPT_NAME_MAX);
	if ((ic->credential = conf_pstrdup(p, t.str)) == NULL)
		goto fail;
	lex_next(p->lx, &t);
	if (t.type == T_WORD && t.kw == K_VIA) {
		if (conf_get_value(p, &t, "intercept via", "ADDR:PORT") == -1)
			goto fail;
		if (!via_ok(t.str))
			conf_perr(p, &t, "intercept via: \"%s\" is not an IP "
			    "address and a port", t.str);
		if ((ic->via = conf_pstrdup(p, t.str)) == NULL)
			goto fail;
		lex_next(p->lx, &t);
	}
	if (t.type != T_LBRACE) {
		conf_expected(p, &t, "intercept", "'{'");
		goto fail;
	}
	st.ic = ic;
	st.n = 0;
	if (conf_parse_block_body(p, kt, "intercept", icpt_item, &st) == -1)
		goto fail;
	if (st.n == 0)
		conf_perr(p, kt, "intercept: no header or placeholder given");
	conf_end_statement(p, "intercept");
	TAILQ_INSERT_TAIL(&p->conf->intercepts, ic, entry);
	return;
fail:
	TAILQ_INSERT_TAIL(&p->conf->intercepts, ic, entry);
}

void
conf_string_list_free(struct string_list *l)
{
	struct string_entry	*s;

	while ((s = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, s, entry);
		free(s->value);
		free(s);
	}
}

void
conf_intercepts_free(struct intercept_list *l)
{
	struct intercept_conf	*ic;

	while ((ic = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, ic, entry);
		free(ic->pattern);
		free(ic->credential);
		free(ic->via);
		conf_string_list_free(&ic->headers);
		conf_string_list_free(&ic->placeholders);
		free(ic);
	}
}

void
conf_print_intercepts(FILE *fp, const struct config *c)
{
	const struct intercept_conf	*ic;
	const struct string_entry	*s;

	TAILQ_FOREACH(ic, &c->intercepts, entry) {
		fputs("intercept ", fp);
		conf_print_quoted(fp, ic->pattern ? ic->pattern : "");
		fputs(" credential ", fp);
		conf_print_quoted(fp, ic->credential ? ic->credential : "");
		if (ic->via != NULL) {
			fputs(" via ", fp);
			conf_print_quoted(fp, ic->via);
		}
		fputs(" {\n", fp);
		TAILQ_FOREACH(s, &ic->headers, entry) {
			fputs("\theader ", fp);
			conf_print_quoted(fp, s->value);
			fputc('\n', fp);
		}
		TAILQ_FOREACH(s, &ic->placeholders, entry) {
			fputs("\tplaceholder ", fp);
			conf_print_quoted(fp, s->value);
			fputc('\n', fp);
		}
		fputs("}\n", fp);
	}
}
