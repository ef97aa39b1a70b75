/*-------------------------------------------------------------------------
 *
 * expire_sql.h
 *		Expire as the server runs it: after each backup and from
 *		safebackup_expire().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_EXPIRE_SQL_H
#define SB_EXPIRE_SQL_H

#include "expire.h"

/*
 * Run expire with the server's settings, sparing the backup that shared
 * memory says is running, and log what was removed.
 */
extern SbStatus sb_server_expire(SbStorage *st, const SbRepoConfig *cfg,
								 SbExpireResult *res, SbError *err);

#endif							/* SB_EXPIRE_SQL_H */
