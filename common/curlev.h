/*
 * curlev.h: libcurl's multi interface driven by a process's libevent
 * loop (curl_multi_socket_action), for processes in a sandbox.
 *
 * One per process.  curlev_init() does, before the sandbox closes,
 * everything libcurl would otherwise do later from the file system or
 * the network: it reads the CA bundle ("upstream ca"), looks up the addresses of the
 * configured upstream hosts (handed to libcurl as CURLOPT_RESOLVE
 * entries) and seeds OpenSSL's generators.  A transfer whose upstream
 * could not be looked up must not be started (curlev_usable()).
 *
 * The caller owns its easy handles: curlev_prepare() sets what every
 * transfer needs (CA, addresses, protocols, HTTP/1.1, no signals),
 * curlev_add() starts one, and its done() is called once when it has
 * finished, with libcurl's result; the caller then removes it with
 * curlev_remove() and cleans it up.  CURLOPT_PRIVATE is curlev's.
 */
#ifndef GHP_CURLEV_H
#define GHP_CURLEV_H

#include <curl/curl.h>

#include "config.h"

struct event_base;

typedef void	(*curlev_done_cb)(CURL *, CURLcode, void *arg);

void	curlev_init(struct event_base *, const struct config *);
/* 0 when the upstream's host could not be looked up at start. */
int	curlev_usable(enum upstream_kind);
/*
 * Look another URL's host up now, before the sandbox (a mirror ghp
 * checks): 1 if transfers to it can start later.  what names it in the
 * warning when it cannot be found.
 */
int	curlev_resolve_url(const char *what, const char *url);
/* Sets url too. */
void	curlev_prepare(CURL *, const char *url);
void	curlev_add(CURL *, curlev_done_cb, void *arg);
/*
 * Let libcurl act now on what it asked to do at once (transfers just
 * added), rather than on the next turn of the loop.  Not from inside a
 * libcurl callback.
 */
void	curlev_kick(void);
void	curlev_remove(CURL *);
/* Call after curl_easy_pause(): collects transfers that finished. */
void	curlev_check(void);

#endif /* GHP_CURLEV_H */
