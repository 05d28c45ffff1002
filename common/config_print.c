/*
 * config_print.c: config_print(), a struct config written back in
 * ghp.conf(5) syntax.  Every string is quoted, so the output parses again
 * to an equal config (ghp -nv, the round trip in fuzz_config.c).
 */
#include <sys/queue.h>

#include <stdio.h>

#include "config.h"
#include "config_priv.h"

void
conf_print_quoted(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(fp, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", fp);
		else if (*s == '\t')
			fputs("\\t", fp);
		else
			fputc(*s, fp);
	}
	fputc('"', fp);
}

void
conf_print_list(FILE *fp, const struct string_list *l)
{
	const struct string_entry	*s;

	fputs(" {", fp);
	TAILQ_FOREACH(s, l, entry) {
		fputc(' ', fp);
		conf_print_quoted(fp, s->value);
	}
	fputs(" }", fp);
}

static void
print_string(FILE *fp, const char *key, const char *value)
{
	if (value == NULL)
		return;
	fprintf(fp, "%s ", key);
	conf_print_quoted(fp, value);
	fputc('\n', fp);
}

static void
print_listen(FILE *fp, const struct listen_conf *l)
{
	fprintf(fp, "listen on %s port %u", l->addr, l->port);
	if (l->tls) {
		fputs(" tls certificate ", fp);
		conf_print_quoted(fp, l->tls_cert != NULL ? l->tls_cert : "");
		fputs(" key ", fp);
		conf_print_quoted(fp, l->tls_key != NULL ? l->tls_key : "");
	}
	if (l->proxy)
		fputs(" proxy", fp);
	fputc('\n', fp);
}

static void
print_app(FILE *fp, const struct app_conf *a)
{
	const struct app_installation	*i;

	fputs("\napp ", fp);
	conf_print_quoted(fp, a->name);
	fprintf(fp, " {\n\tid %llu\n", (unsigned long long)a->id);
	if (a->private_key != NULL) {
		fputs("\tprivate key ", fp);
		conf_print_quoted(fp, a->private_key);
		fputc('\n', fp);
	}
	TAILQ_FOREACH(i, &a->installations, entry) {
		fprintf(fp, "\tinstallation %llu", (unsigned long long)i->id);
		if (i->owner != NULL) {
			fputs(" for ", fp);
			conf_print_quoted(fp, i->owner);
		}
		fputc('\n', fp);
	}
	fputs("}\n", fp);
}

void
config_print(FILE *fp, const struct config *c)
{
	const struct listen_conf	*l;
	const struct app_conf		*a;
	char				 key[32];
	int				 i;

	print_string(fp, "user", c->user);
	print_string(fp, "keyholder user", c->keyholder_user);
	print_string(fp, "chroot", c->chroot);
	fprintf(fp, "workers %d\n", c->workers);
	print_string(fp, "state directory", c->state_dir);
	print_string(fp, "control socket", c->control_socket);
	fprintf(fp, "shutdown timeout %d\n", c->shutdown_timeout);
	fprintf(fp, "header timeout %d\nidle timeout %d\nbody timeout %d\n"
	    "send timeout %d\nupstream timeout %d\n\n", c->timeout_header,
	    c->timeout_idle, c->timeout_body, c->timeout_send,
	    c->timeout_upstream);
	TAILQ_FOREACH(l, &c->listeners, entry)
		print_listen(fp, l);
	fputc('\n', fp);
	for (i = 0; i < UPSTREAM_MAX; i++) {
		snprintf(key, sizeof(key), "upstream %s",
		    config_upstream_name(i));
		print_string(fp, key, c->upstream[i]);
	}
	print_string(fp, "upstream ca", c->upstream_ca);
	TAILQ_FOREACH(a, &c->apps, entry)
		print_app(fp, a);
	if (!TAILQ_EMPTY(&c->block_tokens)) {
		fputs("\nblock tokens", fp);
		conf_print_list(fp, &c->block_tokens);
		fputc('\n', fp);
	}
	if (c->allow_anonymous)
		fputs("\nallow anonymous\n", fp);
	conf_print_web(fp, c);
	if (c->log_audit != NULL || c->log_access != NULL)
		fputc('\n', fp);
	if (c->log_audit != NULL && c->audit_serve) {
		fputs("log audit ", fp);
		conf_print_quoted(fp, c->log_audit);
		fputs(" unwritable serve\n", fp);
	} else
		print_string(fp, "log audit", c->log_audit);
	print_string(fp, "log access", c->log_access);
	if (c->metrics_addr != NULL)
		fprintf(fp, "\nmetrics listen on %s port %u\n",
		    c->metrics_addr, c->metrics_port);
}
