/*-------------------------------------------------------------------------
 *
 * pg_safebackup.c
 *		Module entry point: configuration parameters, shared memory and the
 *		launcher worker.  The archive module entry point is in
 *		backend/compat.c, the archiving logic in backend/archive.c.
 *
 *-------------------------------------------------------------------------
 */
#include "backend/compat.h"

#include "miscadmin.h"

#include "backend/guc.h"
#include "backend/shmem.h"
#include "sum_store.h"
#include "worker/launcher.h"

PG_MODULE_MAGIC;

void
_PG_init(void)
{
	sb_define_gucs();

	/* manifests' block sums beyond 1 MiB: the server's own temporary directory */
	sb_sum_store_tmpdir = "base/" PG_TEMP_FILES_DIR;

	/*
	 * Loaded only as archive_library (not preloaded): archiving works, but
	 * there is no shared state and no launcher.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	sb_shmem_install_hooks();
	sb_launcher_register();
}
