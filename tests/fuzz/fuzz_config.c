/*
 * fuzz_config.c: libFuzzer target for the ghp.conf(5) parser.
 *
 * Parses the input as a config buffer (no includes: the fuzzer must not
 * read the file system) and frees the result.  When it parses, the
 * config is printed to /dev/null, and also checked for the round trip
 * that "ghp -nv" promises: printed, parsed again and printed again, the
 * text must not change.  Errors are swallowed: the point is that no input
 * crashes, leaks, reads out of bounds or prints a config that does not
 * read back.  Seeds: tests/fuzz/corpus/config/.
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
