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
 * libsystemd's sd_notify() is loaded with dlopen() when NOTIFY_SOCKET is
 * set, not linked in: the pg_safebackup program also serves
 * restore_command, once per WAL segment of a recovery, and libsystemd
 * with the four libraries it needs added about 4 ms to each cold start
 * of it.
 *
 * Shared core: no postgres.h.
 *
 *-------------------------------------------------------------------------
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"

/* the soname of libsystemd's ABI 0, of every systemd since 209 */
#define SD_LIBRARY	"libsystemd.so.0"

typedef int (*SdNotifyFn) (int unset_environment, const char *state);

static SdNotifyFn sd_notify_fn;
static bool sd_loaded;

/* sd_notify() of libsystemd, loaded on first use; NULL (said once) without */
static SdNotifyFn
load_sd_notify(void)
{
	void	   *h;

	if (sd_loaded)
		return sd_notify_fn;
	sd_loaded = true;
	h = dlopen(SD_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (h != NULL)
		sd_notify_fn = (SdNotifyFn) dlsym(h, "sd_notify");
	if (sd_notify_fn == NULL)
	{
		const char *why = dlerror();

		srv_log(SRV_LOG_WARNING,
				"could not load sd_notify() from %s to notify systemd: %s",
				SD_LIBRARY, why ? why : "not found");
	}
	return sd_notify_fn;
}

static void
notify(const char *state)
{
	SdNotifyFn	fn;
	int			rc;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;					/* not started by systemd's Type=notify */
	fn = load_sd_notify();
	if (fn == NULL)
		return;
	rc = fn(0, state);
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
