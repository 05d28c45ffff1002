/*
 * fuzz_config.c: libFuzzer target for the ghp.conf(5) parser.
 *
 * Parses the input as a config buffer (no includes: the fuzzer must not
 * read the file system) and frees the result.  When it parses, the
 * config is printed to /dev/null, and also checked for the round trip
 * that "ghp -nv" promises: printed, parsed again and printed again, the
 * text must not change, and the fields of the statements about
 * github.com's other hosts (releases, codeload, enterprise, block
 * anonymous git, upstream raw and ca) must read back equal, so that one
 * config_print() leaves out is caught too.  Errors are swallowed: the
 * point is that no input crashes, leaks, reads out of bounds or prints a
 * config that does not read back.  Seeds: tests/fuzz/corpus/config/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_lex.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
quiet(const char *msg, void *arg)
{
}

static char *
print_mem(const struct config *c, size_t *len)
{
	char	*buf = NULL;
	FILE	*fp;

	if ((fp = open_memstream(&buf, len)) == NULL)
		abort();
	config_print(fp, c);
	if (fclose(fp) != 0)
		abort();
	return (buf);
}

static int
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

static int
list_equal(const struct string_list *a, const struct string_list *b)
{
	const struct string_entry	*x, *y;

	for (x = TAILQ_FIRST(a), y = TAILQ_FIRST(b);
	    x != NULL && y != NULL;
	    x = TAILQ_NEXT(x, entry), y = TAILQ_NEXT(y, entry))
		if (strcmp(x->value, y->value) != 0)
			return (0);
	return (x == NULL && y == NULL);
}

static int
policy_equal(const struct policy_conf *a, const struct policy_conf *b)
{
	if (a->mode != b->mode || !str_equal(a->url, b->url) ||
	    a->check != b->check || !str_equal(a->netrc, b->netrc))
		return (0);
	return (list_equal(&a->allow, &b->allow));
}

/* proxy policy, allow, tunnel timeout, intercept blocks */
static int
proxy_equal(const struct config *a, const struct config *b)
{
	const struct intercept_conf	*x, *y;

	if (a->proxy_permissive != b->proxy_permissive ||
	    a->timeout_tunnel != b->timeout_tunnel ||
	    !list_equal(&a->proxy_allow, &b->proxy_allow))
		return (0);
	for (x = TAILQ_FIRST(&a->intercepts), y = TAILQ_FIRST(&b->intercepts);
	    x != NULL && y != NULL;
	    x = TAILQ_NEXT(x, entry), y = TAILQ_NEXT(y, entry))
		if (!str_equal(x->pattern, y->pattern) ||
		    !str_equal(x->credential, y->credential) ||
		    !str_equal(x->via, y->via) ||
		    !list_equal(&x->headers, &y->headers) ||
		    !list_equal(&x->placeholders, &y->placeholders))
			return (0);
	return (x == NULL && y == NULL);
}

static int
web_equal(const struct config *a, const struct config *b)
{
	return (str_equal(a->upstream[UPSTREAM_RAW], b->upstream[UPSTREAM_RAW])
	    && str_equal(a->upstream_ca, b->upstream_ca) &&
	    str_equal(a->enterprise, b->enterprise) &&
	    a->block_anonymous_git == b->block_anonymous_git &&
	    policy_equal(&a->releases, &b->releases) &&
	    policy_equal(&a->codeload, &b->codeload) && proxy_equal(a, b));
}

static void
round_trip(const struct config *c)
{
	struct config	*c2;
	char		*a, *b;
	size_t		 alen, blen;

	a = print_mem(c, &alen);
	if (alen <= LEX_MAX_FILE) {	/* expanded macros can print more */
		if ((c2 = config_parse_buffer("printed", a, alen, 0)) == NULL) {
			fprintf(stderr, "printed config does not parse:\n%s",
			    a);
			abort();
		}
		b = print_mem(c2, &blen);
		if (alen != blen || memcmp(a, b, alen) != 0) {
			fprintf(stderr, "round trip differs:\n%s---\n%s", a, b);
			abort();
		}
		if (!web_equal(c, c2)) {
			fprintf(stderr, "round trip changes a web field:\n%s",
			    a);
			abort();
		}
		free(b);
		config_free(c2);
	}
	free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE	*devnull;
	struct config	*c;

	if (devnull == NULL) {
		if ((devnull = fopen("/dev/null", "w")) == NULL)
			abort();
		config_set_error_cb(quiet, NULL);
	}
	c = config_parse_buffer("fuzz.conf", (const char *)data, size, 0);
	if (c != NULL) {
		config_print(devnull, c);
		round_trip(c);
		config_free(c);
	}
	return (0);
}
