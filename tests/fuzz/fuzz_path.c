/*
 * fuzz_path.c: path_normalize() on arbitrary request targets, then
 * scope_check() on what it accepts, with a fixed scope, for every method
 * and both token types.  Also scope_check() on the raw bytes, which it
 * must refuse exactly when it is not a normalised path.  Aborts when an
 * accepted path breaks the normaliser's promises (scope.h): it starts
 * with '/', has no query, no empty or dot segment, no encoded dot, slash
 * or backslash, and normalising it again gives it back unchanged.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scope.h"

#define MAXLEN	4096

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const methods[] = {
	"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"
};

static struct scope scopes[2];
static int ready;

static void
setup(void)
{
	int t;

	for (t = 0; t < 2; t++) {
		scope_init(&scopes[t], t ? SCOPE_TOKEN_AGENT : SCOPE_TOKEN_USER,
		    "acme");
		scope_add_repo(&scopes[t], "acme/widgets");
		scope_add_repo(&scopes[t], "beta/*");
		scope_set_perm(&scopes[t], "contents", SCOPE_WRITE);
		scope_set_perm(&scopes[t], "issues", SCOPE_WRITE);
		scope_set_perm(&scopes[t], "pull_requests", SCOPE_READ);
		scope_set_perm(&scopes[t], "members", SCOPE_READ);
		scope_set_perm(&scopes[t], "actions", SCOPE_ADMIN);
		scope_set_perm(&scopes[t], "security_events", SCOPE_READ);
		scope_set_perm(&scopes[t], "keys", SCOPE_READ);
	}
	ready = 1;
}

static void
check_normalized(const char *p)
{
	const char *s;
	size_t len = strlen(p);
	char again[MAXLEN + 1];
	const char *why;

	if (p[0] != '/' || strchr(p, '?') != NULL || strchr(p, '#') != NULL ||
	    strchr(p, '\\') != NULL || strstr(p, "//") != NULL)
		abort();
	if (len > 1 && p[len - 1] == '/')
		abort();
	for (s = p; (s = strchr(s, '/')) != NULL; s++)
		if ((s[1] == '.' && (s[2] == '/' || s[2] == '\0')) ||
		    (s[1] == '.' && s[2] == '.' && (s[3] == '/' ||
		    s[3] == '\0')))
			abort();
	for (s = p; (s = strchr(s, '%')) != NULL; s++)
		if (s[1] == '2' && strchr("eEfF", s[2]) != NULL)
			abort();
		else if (s[1] == '5' && strchr("cC", s[2]) != NULL)
			abort();
	if (path_normalize(p, again, sizeof(again), &why) != 0 ||
	    strcmp(again, p) != 0)
		abort();
}

static void
check_result(const struct scope_result *res)
{
	if (res->decision != SCOPE_ALLOW && res->decision != SCOPE_DENY)
		abort();
	if ((res->decision == SCOPE_ALLOW) != (res->code == SCOPE_OK))
		abort();
	if (memchr(res->reason, '\0', sizeof(res->reason)) == NULL ||
	    memchr(res->repo, '\0', sizeof(res->repo)) == NULL)
		abort();
	if (res->decision == SCOPE_ALLOW && res->template == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char target[MAXLEN + 1], out[MAXLEN + 1];
	struct scope_result res;
	const char *why;
	size_t i;
	int t, fixed;

	if (!ready)
		setup();
	if (size > MAXLEN)
		return 0;
	memcpy(target, data, size);
	target[size] = '\0';

	/*
	 * Raw, as if a caller forgot to normalise: scope_check() refuses
	 * exactly what path_normalize() would change or refuse (or a path
	 * with too many segments).
	 */
	scope_check(&scopes[0], "GET", target, &res);
	check_result(&res);
	fixed = path_normalize(target, out, sizeof(out), &why) == 0 &&
	    strcmp(out, target) == 0;
	if (!fixed && res.code != SCOPE_E_PATH)
		abort();
	if (fixed && res.code == SCOPE_E_PATH &&
	    strstr(res.reason, "too many") == NULL)
		abort();

	if (path_normalize(target, out, sizeof(out), &why) != 0) {
		if (why == NULL || out[0] != '\0')
			abort();
		return 0;
	}
	check_normalized(out);
	for (t = 0; t < 2; t++)
		for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
			scope_check(&scopes[t], methods[i], out, &res);
			check_result(&res);
		}
	/* Small output buffers: refused or a prefix-free exact fit. */
	for (i = 0; i < 8 && i <= size + 1; i++)
		if (path_normalize(target, out, i, &why) == 0 &&
		    strlen(out) >= i)
			abort();
	return 0;
}
