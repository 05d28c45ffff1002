/*
 * jwt.h: the JSON Web Tokens a GitHub App signs to ask for installation
 * tokens (RS256, as GitHub requires).
 *
 * Only the keyholder holds App private keys and only it calls these.
 * The claims are built here from the App id and the clock, never from
 * bytes another process sent: the keyholder is not a signing oracle.
 * iat is a minute in the past (GitHub's advice against clock drift) and
 * exp nine minutes ahead (GitHub refuses more than ten).
 */
#ifndef GHP_JWT_H
#define GHP_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#define JWT_MAX		2048
#define JWT_IAT_SKEW	60	/* seconds before now */
#define JWT_LIFETIME	540	/* seconds after now */

/*
 * Read an App's private key (PEM, RSA).  Refused when group or others
 * may read the file, or when it is not an RSA key of 2048 bits or more.
 */
EVP_PKEY	*jwt_load_key(const char *path, char *err, size_t errlen);
/* The JWT for app_id at now into out; its length, or -1. */
int		 jwt_sign(EVP_PKEY *, uint64_t app_id, time_t now, char *out,
		    size_t outlen);

#endif /* GHP_JWT_H */
