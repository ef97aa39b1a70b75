/*-------------------------------------------------------------------------
 *
 * backup_sql.h
 *		What the SQL functions of backup_sql.c share with the others.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_SQL_H
#define SB_BACKUP_SQL_H

/*
 * Raise an error unless pg_safebackup is loaded and the user may take
 * backups (SUPERUSER or REPLICATION, like pg_basebackup).
 */
extern void sb_require_backup_privilege(void);

#endif							/* SB_BACKUP_SQL_H */
