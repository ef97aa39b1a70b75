/*-------------------------------------------------------------------------
 *
 * storage_wait.c
 *		The socket wait that network storage drivers use inside the server.
 *
 * Drivers never block on a socket: they call SbStorage.wait, which here
 * sleeps in WaitLatchOrSocket().  A latch wake-up (SIGHUP, SIGTERM, query
 * cancel, the archiver's stop request) is looked at, and when the process
 * has been asked to stop the wait fails at once, so a dead or slow
 * repository host never holds up shutdown.  Postmaster death exits.
 *
 *-------------------------------------------------------------------------
 */
#include "compat.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/timestamp.h"

#include "storage_wait.h"

/* True when this process should give up what it is doing. */
static bool
stop_requested(void)
{
	return ShutdownRequestPending || ProcDiePending || QueryCancelPending;
}

static void
timed_out(int timeout_ms, SbError *err)
{
	sb_error_set(err, SB_ERR_NETWORK,
				 "timed out after %d ms waiting for the repository host",
				 timeout_ms);
	sb_error_hint(err, "Check that the repository host is reachable, or raise safebackup.io_timeout.");
}

static SbStatus
backend_wait(int fd, bool for_read, bool for_write, int timeout_ms,
			 void *arg, SbError *err)
{
	int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;
	TimestampTz deadline = 0;
	bool		woken = false;
	SbStatus	rc = SB_ERR_NETWORK;

	if (for_read)
		events |= WL_SOCKET_READABLE;
	if (for_write)
		events |= WL_SOCKET_WRITEABLE;
	if (timeout_ms >= 0)
	{
		events |= WL_TIMEOUT;
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	}

	for (;;)
	{
		long		remaining = -1;
		int			events_seen;

		if (stop_requested())
		{
			sb_error_set(err, SB_ERR_NETWORK,
						 "repository operation interrupted: the process was asked to stop");
			sb_error_hint(err, "The operation is retried when the process runs again.");
			break;
		}
		if (timeout_ms >= 0)
		{
			remaining = (long) ((deadline - GetCurrentTimestamp()) / 1000);
			if (remaining <= 0)
			{
				timed_out(timeout_ms, err);
				break;
			}
		}

		events_seen = WaitLatchOrSocket(MyLatch, events, fd, remaining,
										PG_WAIT_EXTENSION);
		if (events_seen & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
		{
			rc = SB_OK;
			break;
		}
		if (events_seen & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			woken = true;
		}
		else if (events_seen & WL_TIMEOUT)
		{
			timed_out(timeout_ms, err);
			break;
		}
	}

	/*
	 * A wake-up that came while we waited (the archiver's stop request, a
	 * reload, new WAL to archive) belongs to the caller's own wait loop: set
	 * the latch again, or the caller would sleep through it.
	 */
	if (woken)
		SetLatch(MyLatch);
	return rc;
}

SbStatus
sb_backend_storage_create(const SbRepoConfig *cfg, SbStorage **out,
						  SbError *err)
{
	SbStatus	rc = sb_storage_create(cfg, out, err);

	if (rc == SB_OK)
	{
		(*out)->wait = backend_wait;
		(*out)->wait_arg = NULL;
	}
	return rc;
}
