/*-------------------------------------------------------------------------
 *
 * notify.c
 *		Readiness notification for systemd (Type=notify in
 *		docs/pg_safebackup-server.service): READY=1 once the configuration
 *		is loaded, the certificates are read and every listening socket is
 *		bound; RELOADING=1 and READY=1 around a reload (SIGHUP); STOPPING=1
 *		when a shutdown starts.  A server not started by systemd has no
 *		NOTIFY_SOCKET and sends nothing.
 *
 * Shared core: no postgres.h.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "server.h"

static void
notify(const char *state)
{
	int			rc = sd_notify(0, state);

	if (rc < 0)
		srv_log(SRV_LOG_WARNING, "could not notify systemd (%s): %s",
				state, strerror(-rc));
}

void
srv_notify_ready(const SrvConfig *cfg, int nsockets)
{
	char		state[256];

	snprintf(state, sizeof(state),
			 "READY=1\nSTATUS=listening on port %d (%d socket%s)",
			 cfg->port, nsockets, nsockets == 1 ? "" : "s");
	notify(state);
}

void
srv_notify_reloading(void)
{
	notify("RELOADING=1");
}

void
srv_notify_reloaded(void)
{
	notify("READY=1");
}

void
srv_notify_stopping(void)
{
	notify("STOPPING=1");
}
