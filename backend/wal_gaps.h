/*-------------------------------------------------------------------------
 *
 * wal_gaps.h
 *		Completed WAL segments without archive status, queued for archiving
 *		by the launcher (see wal_gaps.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_WAL_GAPS_H
#define SB_WAL_GAPS_H

/*
 * Mark ready for archiving every completed segment in pg_wal that has had
 * no archive status for two scans in a row; returns how many were marked.
 */
extern int	sb_wal_gaps_repair(void);

#endif							/* SB_WAL_GAPS_H */
