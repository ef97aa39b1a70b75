/*-------------------------------------------------------------------------
 *
 * sb_error.c
 *		Filling in SbError records; see sb_error.h.
 *
 *-------------------------------------------------------------------------
 */
#include "sb_error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void
sb_error_clear(SbError *err)
{
	err->status = SB_OK;
	err->sys_errno = 0;
	err->msg[0] = '\0';
	err->detail[0] = '\0';
	err->hint[0] = '\0';
}

SbStatus
sb_error_set(SbError *err, SbStatus status, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->status = status;
	err->sys_errno = 0;
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	return status;
}

SbStatus
sb_error_errno(SbError *err, int errnum, const char *fmt,...)
{
	va_list		ap;
	size_t		len;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	err->status = sb_status_from_errno(errnum);
	err->sys_errno = errnum;
	err->detail[0] = '\0';
	err->hint[0] = '\0';
	return err->status;
}

void
sb_error_detail(SbError *err, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void
sb_error_hint(SbError *err, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err->hint, sizeof(err->hint), fmt, ap);
	va_end(ap);
}

SbStatus
sb_status_from_errno(int errnum)
{
	switch (errnum)
	{
		case ENOENT:
		case ENOTDIR:
			return SB_ERR_NOT_FOUND;
		case EEXIST:
		case ENOTEMPTY:
			return SB_ERR_EXISTS;
		case EACCES:
		case EPERM:
		case EROFS:
			return SB_ERR_PERMISSION;
		case ENOSPC:
		case EDQUOT:
		case EFBIG:
			return SB_ERR_NO_SPACE;
		case ENOMEM:
			return SB_ERR_NO_MEMORY;
		case ECONNREFUSED:
		case ECONNRESET:
		case ETIMEDOUT:
		case EHOSTUNREACH:
		case ENETUNREACH:
		case EPIPE:
			return SB_ERR_NETWORK;
		default:
			return SB_ERR_IO;
	}
}

const char *
sb_status_name(SbStatus status)
{
	switch (status)
	{
		case SB_OK:
			return "ok";
		case SB_ERR_NOT_FOUND:
			return "not found";
		case SB_ERR_EXISTS:
			return "already exists";
		case SB_ERR_PERMISSION:
			return "permission denied";
		case SB_ERR_NO_SPACE:
			return "no space";
		case SB_ERR_IO:
			return "I/O error";
		case SB_ERR_CORRUPT:
			return "corrupt";
		case SB_ERR_CONFLICT:
			return "conflict";
		case SB_ERR_CONFIG:
			return "configuration error";
		case SB_ERR_MISMATCH:
			return "cluster mismatch";
		case SB_ERR_NETWORK:
			return "network error";
		case SB_ERR_AUTH:
			return "authentication failed";
		case SB_ERR_INTERNAL:
			return "internal error";
		case SB_ERR_NO_MEMORY:
			return "out of memory";
		case SB_ERR_UNSUPPORTED:
			return "not supported";
	}
	return "unknown";
}

SbStatus
sb_error_oom(SbError *err)
{
	return sb_error_set(err, SB_ERR_NO_MEMORY, "out of memory");
}
