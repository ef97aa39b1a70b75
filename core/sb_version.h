/*-------------------------------------------------------------------------
 *
 * sb_version.h
 *		Version of pg_safebackup.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_VERSION_H
#define SB_VERSION_H

#define SB_VERSION_STR	"1.0.0"

#endif							/* SB_VERSION_H */
