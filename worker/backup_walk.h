/*-------------------------------------------------------------------------
 *
 * backup_walk.h
 *		List what a base backup copies: the data directory and tablespaces,
 *		with the same exclusions as PostgreSQL's own base backup.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_WALK_H
#define SB_BACKUP_WALK_H

#include "postgres.h"

#include "nodes/pg_list.h"

typedef struct SbWalkEntry
{
	char	   *path;			/* relative to the data directory */
	char	   *local_path;		/* where to read it (through tablespace links) */
	bool		is_dir;
	uint64		size;
	int64		mtime;
	unsigned int mode;
} SbWalkEntry;

typedef struct SbWalkTablespace
{
	unsigned int oid;
	char	   *path;			/* link target */
} SbWalkTablespace;

/*
 * Walk the data directory (the current directory of a backend).  Returns
 * SbWalkEntry * in copy order, global/pg_control last; tablespaces get
 * SbWalkTablespace * entries.
 */
extern List *sb_backup_walk(List **tablespaces);

#endif							/* SB_BACKUP_WALK_H */
