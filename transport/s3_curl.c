/*-------------------------------------------------------------------------
 *
 * s3_curl.c
 *		Loads libcurl for the S3 driver when an S3 repository is first
 *		used, and fills the table its calls go through (s3_curl.h says
 *		why it is not linked in).
 *
 * RTLD_LOCAL keeps libcurl's symbols out of the process's global scope;
 * the library stays loaded until the process exits.  Loading happens
 * once per process (pthread_once): restore threads may open their S3
 * sessions at the same time.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#define SB_S3_CURL_TABLE
#include "s3_curl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

SbCurlApi	sb_s3_curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static SbStatus load_status = SB_OK;
static char load_error[256];

/* Set *slot to the function name of handle; false (and why) when missing. */
static bool
resolve(void *handle, const char *name, void **slot)
{
	*slot = dlsym(handle, name);
	if (*slot == NULL)
	{
		const char *why = dlerror();

		snprintf(load_error, sizeof(load_error),
				 "could not find function \"%s\" in %s: %s", name,
				 SB_CURL_LIBRARY, why ? why : "not found");
		return false;
	}
	return true;
}

static void
load(void)
{
	void	   *h = dlopen(SB_CURL_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	SbCurlApi	api;
	bool		ok;

	if (h == NULL)
	{
		const char *why = dlerror();

		snprintf(load_error, sizeof(load_error),
				 "could not load %s, which S3 repositories need: %s",
				 SB_CURL_LIBRARY, why ? why : "unknown error");
		load_status = SB_ERR_CONFIG;
		return;
	}
	memset(&api, 0, sizeof(api));
#define RESOLVE(field, name) resolve(h, name, (void **) &api.field)
	ok = RESOLVE(global_init, "curl_global_init") &&
		RESOLVE(easy_init, "curl_easy_init") &&
		RESOLVE(easy_setopt, "curl_easy_setopt") &&
		RESOLVE(easy_getinfo, "curl_easy_getinfo") &&
		RESOLVE(easy_pause, "curl_easy_pause") &&
		RESOLVE(easy_reset, "curl_easy_reset") &&
		RESOLVE(easy_cleanup, "curl_easy_cleanup") &&
		RESOLVE(easy_strerror, "curl_easy_strerror") &&
		RESOLVE(multi_init, "curl_multi_init") &&
		RESOLVE(multi_setopt, "curl_multi_setopt") &&
		RESOLVE(multi_add_handle, "curl_multi_add_handle") &&
		RESOLVE(multi_remove_handle, "curl_multi_remove_handle") &&
		RESOLVE(multi_socket_action, "curl_multi_socket_action") &&
		RESOLVE(multi_info_read, "curl_multi_info_read") &&
		RESOLVE(multi_cleanup, "curl_multi_cleanup") &&
		RESOLVE(share_init, "curl_share_init") &&
		RESOLVE(share_setopt, "curl_share_setopt") &&
		RESOLVE(share_cleanup, "curl_share_cleanup") &&
		RESOLVE(slist_append, "curl_slist_append") &&
		RESOLVE(slist_free_all, "curl_slist_free_all") &&
		RESOLVE(getdate, "curl_getdate");
#undef RESOLVE
	if (!ok)
	{
		dlclose(h);
		load_status = SB_ERR_CONFIG;
		return;
	}
	if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
	{
		snprintf(load_error, sizeof(load_error), "could not initialize libcurl");
		load_status = SB_ERR_INTERNAL;
		return;
	}
	sb_s3_curl = api;
}

SbStatus
s3_curl_load(SbError *err)
{
	if (pthread_once(&load_once, load) != 0)
		return sb_error_set(err, SB_ERR_INTERNAL, "could not load %s",
							SB_CURL_LIBRARY);
	if (load_status != SB_OK)
	{
		sb_error_set(err, load_status, "%s", load_error);
		if (load_status == SB_ERR_CONFIG)
			sb_error_hint(err, "Install libcurl (the Debian package libcurl4), or use another repository type.");
		return load_status;
	}
	return SB_OK;
}
