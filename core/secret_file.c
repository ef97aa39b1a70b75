/*-------------------------------------------------------------------------
 *
 * secret_file.c
 *		The permission check of files that hold secrets; see secret_file.h.
 *		Used for the SFTP private key and passphrase files, the TLS key file
 *		and the encryption passphrase file.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "secret_file.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

SbStatus
sb_secret_file_check(const char *path, int fd, const char *what,
					 SbStatus not_private, SbError *err)
{
	struct stat sb;

	if ((fd >= 0 ? fstat(fd, &sb) : stat(path, &sb)) != 0)
	{
		(void) sb_error_errno(err, errno, "could not access %s \"%s\"", what,
							  path);
		err->status = SB_ERR_CONFIG;
		return SB_ERR_CONFIG;
	}
	if (!S_ISREG(sb.st_mode))
		return sb_error_set(err, SB_ERR_CONFIG,
							"%s \"%s\" is not a regular file", what, path);
	if (sb.st_uid != geteuid())
	{
		sb_error_set(err, not_private,
					 "%s \"%s\" is not owned by the current user", what, path);
		sb_error_detail(err, "The file is owned by user ID %u, this process runs as user ID %u.",
						(unsigned int) sb.st_uid, (unsigned int) geteuid());
		sb_error_hint(err, "Give the file to the operating system user that runs pg_safebackup and make it readable only by that user (chmod 600).");
		return not_private;
	}
	if ((sb.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		sb_error_set(err, not_private,
					 "%s \"%s\" has group or world access", what, path);
		sb_error_detail(err, "Its permissions are %04o.",
						(unsigned int) (sb.st_mode & 07777));
		sb_error_hint(err, "Remove them with \"chmod 600 %s\".", path);
		return not_private;
	}
	return SB_OK;
}
