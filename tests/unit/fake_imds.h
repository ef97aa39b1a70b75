/*-------------------------------------------------------------------------
 *
 * fake_imds.h
 *		A stand-in for the EC2 instance metadata service (IMDSv2) on
 *		127.0.0.1, for the tests of s3_credentials_source = 'instance'.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_FAKE_IMDS_H
#define SB_FAKE_IMDS_H

#include <stdbool.h>

typedef struct FakeImds
{
	/* what it serves (set before fake_imds_start) */
	char		key[128];
	char		secret[128];
	int			expires_in_s;	/* Expiration: now + this */
	bool		no_role;		/* the role listing answers 404 */

	/* what it saw */
	int			token_requests; /* PUT /latest/api/token */
	int			credential_requests;	/* GET of the role, with the token */
	int			refused;		/* requests without a valid token (401) */

	/* its own */
	int			port;
	int			listen_fd;
	bool		stop;
	void	   *thread;
} FakeImds;

/* Listen on a free port of 127.0.0.1 and serve in a thread. */
extern bool fake_imds_start(FakeImds *f);
extern void fake_imds_stop(FakeImds *f);

#endif							/* SB_FAKE_IMDS_H */
