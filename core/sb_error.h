/*-------------------------------------------------------------------------
 *
 * sb_error.h
 *		Status codes and the error record filled in by the shared core.
 *
 * The shared core (repository layout, codec, storage drivers) is linked into
 * both the server module and the pg_safebackup program, so it never calls
 * ereport() or palloc().  Every fallible function returns an SbStatus and,
 * on failure, fills an SbError with a primary message and an optional hint.
 * The backend glue turns that into ereport(); the CLI prints it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_ERROR_H
#define SB_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum SbStatus
{
	SB_OK = 0,
	SB_ERR_NOT_FOUND,			/* file or directory does not exist */
	SB_ERR_EXISTS,				/* target already exists */
	SB_ERR_PERMISSION,			/* permission denied */
	SB_ERR_NO_SPACE,			/* disk full or quota exceeded */
	SB_ERR_IO,					/* other I/O or system error */
	SB_ERR_CORRUPT,				/* checksum or format mismatch on read */
	SB_ERR_CONFLICT,			/* same name, different content */
	SB_ERR_CONFIG,				/* invalid or missing configuration */
	SB_ERR_MISMATCH,			/* repository belongs to another cluster */
	SB_ERR_NETWORK,				/* connection to the repository failed */
	SB_ERR_AUTH,				/* authentication or host key refused */
	SB_ERR_INTERNAL,			/* library failure, broken invariant */
	SB_ERR_NO_MEMORY,			/* an allocation failed */
	SB_ERR_UNSUPPORTED			/* not possible for this file or storage: the
								 * caller falls back to another way */
} SbStatus;

#define SB_ERROR_MSG_LEN	1024
#define SB_ERROR_DETAIL_LEN	512
#define SB_ERROR_HINT_LEN	512

typedef struct SbError
{
	SbStatus	status;
	int			sys_errno;		/* errno of the failing call, or 0 */
	char		msg[SB_ERROR_MSG_LEN];
	char		detail[SB_ERROR_DETAIL_LEN];
	char		hint[SB_ERROR_HINT_LEN];
} SbError;

extern void sb_error_clear(SbError *err);

/* Set status and message (printf style); clears detail and hint.  Returns status. */
extern SbStatus sb_error_set(SbError *err, SbStatus status, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* An allocation failed: SB_ERR_NO_MEMORY, "out of memory" (SQLSTATE 53200). */
extern SbStatus sb_error_oom(SbError *err);

/* Set status and message from an errno value; "could not X: strerror". */
extern SbStatus sb_error_errno(SbError *err, int errnum, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Attach a detail or a hint to an error already set. */
extern void sb_error_detail(SbError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void sb_error_hint(SbError *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* Map an errno value to a status code. */
extern SbStatus sb_status_from_errno(int errnum);

/* Short English name of a status, for logs and tests. */
extern const char *sb_status_name(SbStatus status);

#endif							/* SB_ERROR_H */
