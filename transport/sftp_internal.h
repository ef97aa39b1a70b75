/*-------------------------------------------------------------------------
 *
 * sftp_internal.h
 *		Private declarations of the SFTP storage driver.
 *
 * Only the driver's own files (transport/sftp*.c) include this header; the
 * rest of the code reaches the driver through core/storage.h.  It holds the
 * connection state, the writer and reader structures and the helpers that
 * the driver's files share:
 *
 *	sftp.c			the operations table, open, close and destroy
 *	sftp_wait.c		waiting on the socket (net.h), mapping failures to SbError
 *	sftp_config.c	checks of the settings and of the secret files
 *	sftp_session.c	connecting, authenticating, reconnecting
 *	sftp_handles.c	remote paths, open handles, single-request primitives
 *	sftp_write.c	atomic, durable writes
 *	sftp_read.c		streaming reads
 *	sftp_dirs.c		stat, list, remove and mkdir
 *	sftp_hostkey.c	host key verification (see sftp_hostkey.h)
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_SFTP_INTERNAL_H
#define SB_SFTP_INTERNAL_H

#include "net.h"
#include "sftp_settings.h"
#include "storage.h"

#include <libssh2.h>
#include <libssh2_sftp.h>

/* Room for root + "/" + relative path + temporary suffix. */
#define SFTP_PATH_LEN		(2 * SB_PATH_MAX + 64)

/* Returned by the helpers below when waiting failed (err is set). */
#define SFTP_WAIT_FAILED	(-10000)

/* Temporary files left by a lost connection, removed after reconnecting. */
#define SFTP_MAX_ORPHANS	16

typedef struct SftpStorage
{
	SbNetPeer	peer;			/* the server, for waits and messages */
	int			sock;
	LIBSSH2_SESSION *session;
	LIBSSH2_SFTP *sftp;
	bool		opened;			/* open() succeeded, close() not called */
	bool		connected;		/* session and SFTP channel up */
	bool		broken;			/* transport failed: reconnect before use */
	bool		no_fsync;		/* server refused fsync@openssh.com */
	unsigned long generation;	/* bumped at every (re)connection */
	int			norphans;
	char	   *orphans[SFTP_MAX_ORPHANS];	/* temporary files to remove */
	int			nhandles;
	int			maxhandles;
	LIBSSH2_SFTP_HANDLE ***handles; /* owners' handle fields, to drop them */
	char		root[SB_PATH_MAX];	/* repo_path without trailing '/' */
} SftpStorage;

struct SbWriter
{
	SbStorage  *st;
	LIBSSH2_SFTP_HANDLE *h;
	unsigned long generation;
	int			flags;
	char	   *buf;
	size_t		used;
	char		relpath[SB_PATH_MAX];
	char		final_path[SFTP_PATH_LEN];
	char		tmp_path[SFTP_PATH_LEN];
};

struct SbReader
{
	SbStorage  *st;
	LIBSSH2_SFTP_HANDLE *h;
	unsigned long generation;
	char		path[SFTP_PATH_LEN];
};

/* sftp_wait.c */
extern SbStatus sb_sftp_wait(SbStorage *st, SbError *err);
extern SbStatus sb_sftp_error(SbStorage *st, int rc, SbError *err,
							  const char *fmt,...)
			__attribute__((format(printf, 4, 5)));
extern bool sb_sftp_is_status(SbStorage *st, int rc, unsigned long code);

/* sftp_config.c */
extern SbStatus sb_sftp_read_passphrase(const char *path, char *buf,
										size_t bufsize, SbError *err);
extern SbStatus sb_sftp_check_config(SbStorage *st, SbError *err);

/* sftp_session.c */
extern SbStatus sb_sftp_connect(SbStorage *st, SbError *err);
extern void sb_sftp_disconnect(SbStorage *st);
extern SbStatus sb_sftp_ensure(SbStorage *st, SbError *err);
extern bool sb_sftp_retry_after(SbStorage *st, SbStatus rc);

/* sftp_handles.c */
extern SbStatus sb_sftp_full_path(SbStorage *st, const char *relpath,
								  char *buf, SbError *err);
extern SbStatus sb_sftp_open_handle(SbStorage *st, const char *path,
									unsigned long flags, long mode, int type,
									LIBSSH2_SFTP_HANDLE **h, SbError *err,
									int *lrc);
extern int	sb_sftp_close_handle(SbStorage *st, LIBSSH2_SFTP_HANDLE **slot,
								 SbError *err);
extern void sb_sftp_drop_handles(SbStorage *st);
extern int	sb_sftp_do_stat(SbStorage *st, const char *path, int stat_type,
							LIBSSH2_SFTP_ATTRIBUTES *attrs, SbError *err);
extern int	sb_sftp_do_unlink(SbStorage *st, const char *path, SbError *err);
extern int	sb_sftp_do_rmdir(SbStorage *st, const char *path, SbError *err);
extern int	sb_sftp_do_rename(SbStorage *st, const char *from, const char *to,
							  long flags, SbError *err);
extern void sb_sftp_fill_stat(const LIBSSH2_SFTP_ATTRIBUTES *attrs,
							  SbStat *out);

/* sftp_write.c */
extern SbStatus sb_sftp_write_open(SbStorage *st, const char *path, int flags,
								   SbWriter **w, SbError *err);
extern SbStatus sb_sftp_write(SbWriter *w, const void *buf, size_t len,
							  SbError *err);
extern SbStatus sb_sftp_write_commit(SbWriter *w, SbError *err);
extern void sb_sftp_write_abort(SbWriter *w);
extern SbStatus sb_sftp_write_rename(SbStorage *st, SbWriter *w,
									 const char *path, SbError *err);

/* sftp_read.c */
/* the reader moved to offset before its first read (libssh2_sftp_seek64) */
extern SbStatus sb_sftp_read_open_at(SbStorage *st, const char *path,
									 uint64_t offset, uint64_t len,
									 SbReader **r, SbError *err);
extern SbStatus sb_sftp_read_open(SbStorage *st, const char *path,
								  SbReader **r, SbError *err);
extern SbStatus sb_sftp_read(SbReader *r, void *buf, size_t len,
							 size_t *nread, SbError *err);
extern void sb_sftp_read_close(SbReader *r);

/* sftp_dirs.c */
extern SbStatus sb_sftp_stat(SbStorage *st, const char *path, SbStat *out,
							 SbError *err);
extern SbStatus sb_sftp_list(SbStorage *st, const char *path, int flags, SbListFn fn,
							 void *arg, SbError *err);
extern SbStatus sb_sftp_remove(SbStorage *st, const char *path,
							   bool recursive, SbError *err);
extern SbStatus sb_sftp_mkdir(SbStorage *st, const char *path, SbError *err);

#endif							/* SB_SFTP_INTERNAL_H */
