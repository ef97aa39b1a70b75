/*-------------------------------------------------------------------------
 *
 * launcher.h
 *		The launcher background worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_LAUNCHER_H
#define SB_LAUNCHER_H

#include "postgres.h"

extern void sb_launcher_register(void);
extern PGDLLEXPORT void sb_launcher_main(Datum main_arg);

#endif							/* SB_LAUNCHER_H */
