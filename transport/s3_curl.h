/*-------------------------------------------------------------------------
 *
 * s3_curl.h
 *		libcurl for the S3 driver, loaded with dlopen() the first time an
 *		S3 repository is used (s3_curl.c).
 *
 * Only the S3 driver needs libcurl, and libcurl brings two dozen libraries
 * of its own (GnuTLS, Kerberos, LDAP, ...).  Linked in, they were loaded by
 * every start of pg_safebackup (archive-get runs once per WAL file during
 * a recovery) and of every server process: about 35 ms of a cold start
 * (page cache dropped) of the program's 50 ms.  The S3 code includes this
 * header instead of <curl/curl.h> and calls libcurl by its usual names,
 * which this header turns into calls through the table sb_s3_curl, filled
 * by s3_curl_load() before the first request.
 *
 * Shared core: no postgres.h, no ereport() or palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_S3_CURL_H
#define SB_S3_CURL_H

/* the argument checks of <curl/typecheck-gcc.h> are macros of the names below */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include "sb_error.h"

/* The file dlopen() loads (libcurl's soname since 7.16). */
#define SB_CURL_LIBRARY		"libcurl.so.4"

typedef struct SbCurlApi
{
	CURLcode	(*global_init) (long flags);
	CURL	   *(*easy_init) (void);
	CURLcode	(*easy_setopt) (CURL *curl, CURLoption option,...);
	CURLcode	(*easy_getinfo) (CURL *curl, CURLINFO info,...);
	CURLcode	(*easy_pause) (CURL *curl, int bitmask);
	void		(*easy_reset) (CURL *curl);
	void		(*easy_cleanup) (CURL *curl);
	const char *(*easy_strerror) (CURLcode code);
	CURLM	   *(*multi_init) (void);
	CURLMcode	(*multi_setopt) (CURLM *multi, CURLMoption option,...);
	CURLMcode	(*multi_add_handle) (CURLM *multi, CURL *curl);
	CURLMcode	(*multi_remove_handle) (CURLM *multi, CURL *curl);
	CURLMcode	(*multi_socket_action) (CURLM *multi, curl_socket_t s,
										int ev_bitmask, int *running_handles);
	CURLMsg    *(*multi_info_read) (CURLM *multi, int *msgs_in_queue);
	CURLMcode	(*multi_cleanup) (CURLM *multi);
	CURLSH	   *(*share_init) (void);
	CURLSHcode	(*share_setopt) (CURLSH *share, CURLSHoption option,...);
	CURLSHcode	(*share_cleanup) (CURLSH *share);
	struct curl_slist *(*slist_append) (struct curl_slist *list, const char *s);
	void		(*slist_free_all) (struct curl_slist *list);
	time_t		(*getdate) (const char *p, const time_t *unused);
} SbCurlApi;

extern SbCurlApi sb_s3_curl;

/*
 * Load libcurl and initialize it (curl_global_init), once per process,
 * whichever thread asks first; every later call returns the first
 * outcome.  SB_ERR_CONFIG when libcurl cannot be loaded.
 */
extern SbStatus s3_curl_load(SbError *err);

#ifndef SB_S3_CURL_TABLE
/* <curl/curl.h> makes these four macros that check the argument count */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#undef curl_share_setopt
#define curl_global_init			sb_s3_curl.global_init
#define curl_easy_init				sb_s3_curl.easy_init
#define curl_easy_setopt			sb_s3_curl.easy_setopt
#define curl_easy_getinfo			sb_s3_curl.easy_getinfo
#define curl_easy_pause				sb_s3_curl.easy_pause
#define curl_easy_reset				sb_s3_curl.easy_reset
#define curl_easy_cleanup			sb_s3_curl.easy_cleanup
#define curl_easy_strerror			sb_s3_curl.easy_strerror
#define curl_multi_init				sb_s3_curl.multi_init
#define curl_multi_setopt			sb_s3_curl.multi_setopt
#define curl_multi_add_handle		sb_s3_curl.multi_add_handle
#define curl_multi_remove_handle	sb_s3_curl.multi_remove_handle
#define curl_multi_socket_action	sb_s3_curl.multi_socket_action
#define curl_multi_info_read		sb_s3_curl.multi_info_read
#define curl_multi_cleanup			sb_s3_curl.multi_cleanup
#define curl_share_init				sb_s3_curl.share_init
#define curl_share_setopt			sb_s3_curl.share_setopt
#define curl_share_cleanup			sb_s3_curl.share_cleanup
#define curl_slist_append			sb_s3_curl.slist_append
#define curl_slist_free_all			sb_s3_curl.slist_free_all
#define curl_getdate				sb_s3_curl.getdate
#endif

#endif							/* SB_S3_CURL_H */
