/*-------------------------------------------------------------------------
 *
 * drivers.c
 *		The list of storage drivers: repo_type names them, their settings
 *		become GUCs, options and help (core/settings.h), and storages are
 *		created from it.  A new driver is one more line here.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "storage.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The first is the default (SB_REPO_POSIX). */
static const SbDriver *const drivers[] = {
	&sb_posix_driver,
	&sb_sftp_driver,
	&sb_tls_driver,
	&sb_s3_driver,
};

#define NDRIVERS ((int) (sizeof(drivers) / sizeof(drivers[0])))

_Static_assert(NDRIVERS <= SB_MAX_DRIVERS,
			   "more drivers than SbRepoConfig has areas for");

int
sb_driver_count(void)
{
	return NDRIVERS;
}

const SbDriver *
sb_driver_at(int i)
{
	if (i < 0 || i >= NDRIVERS)
		return NULL;
	return drivers[i];
}

const SbDriver *
sb_driver_of(const SbRepoConfig *cfg)
{
	return sb_driver_at(cfg->repo_type);
}

void *
sb_driver_settings(const SbRepoConfig *cfg, const SbDriver *d)
{
	for (int i = 0; i < NDRIVERS; i++)
		if (drivers[i] == d)
			return (void *) cfg->driver_area[i].bytes;
	return NULL;
}

void
sb_driver_location(const SbRepoConfig *cfg, char *buf, size_t len)
{
	const SbDriver *d = sb_driver_of(cfg);

	if (d != NULL && d->location != NULL)
		d->location(cfg, buf, len);
	else
		snprintf(buf, len, "%s", cfg->repo_path);
}

bool
sb_driver_mode_before_open(const SbDriver *d, SbRepoMode *mode)
{
	if (d->ops->caps & SB_CAP_SERVER_MODE)
		return false;
	*mode = d->ops->mode == NULL ? SB_REPO_MODE_ADMIN : SB_REPO_MODE_UNKNOWN;
	return true;
}

bool
sb_repo_type_parse(const char *name, SbRepoType *out)
{
	if (name == NULL)
		return false;
	/* case-insensitively, as PostgreSQL matches the values of enum GUCs */
	for (int i = 0; i < NDRIVERS; i++)
		if (strcasecmp(name, drivers[i]->name) == 0)
		{
			*out = i;
			return true;
		}
	return false;
}

const char *
sb_repo_type_name(SbRepoType type)
{
	const SbDriver *d = sb_driver_at(type);

	return d != NULL ? d->name : "unknown";
}
