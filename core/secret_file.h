/*-------------------------------------------------------------------------
 *
 * secret_file.h
 *		The permission check of files that hold secrets (private keys,
 *		passphrases): a regular file owned by the current user that neither
 *		group nor others can access, as ssh demands of its keys.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SECRET_FILE_H
#define SB_SECRET_FILE_H

#include "sb_error.h"

/*
 * Check the secret file path, or, when fd >= 0, the file open on fd (so
 * that a file replaced after opening is not the one checked).  what names
 * the file in messages ("passphrase file", "TLS key file").
 *
 * Returns SB_OK, or fills err: SB_ERR_CONFIG when the file cannot be
 * examined or is not a regular file, and not_private (the caller's choice
 * of SB_ERR_CONFIG or SB_ERR_PERMISSION) when someone else owns it or
 * group or others have access to it.
 */
extern SbStatus sb_secret_file_check(const char *path, int fd,
									 const char *what, SbStatus not_private,
									 SbError *err);

#endif							/* SB_SECRET_FILE_H */
