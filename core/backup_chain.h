/*-------------------------------------------------------------------------
 *
 * backup_chain.h
 *		Backup types and the chains differential and incremental backups
 *		form: which backup a new one builds on, which backups a backup
 *		needs, and the interrupted backup a new one may resume.
 *
 * A full backup stores every file.  A differential ("diff") builds on the
 * newest full backup, an incremental ("incr") on the newest backup of any
 * type; both store only the files that changed since their base and
 * reference the others (manifest "ref" records) in the backup that holds
 * them.  Every backup a file is referenced from is one of the chain of
 * bases, so a backup needs exactly its chain: itself, its base, its base's
 * base, ... down to a full backup.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#ifndef SB_BACKUP_CHAIN_H
#define SB_BACKUP_CHAIN_H

#include <stdbool.h>

#include "manifest.h"
#include "sb_error.h"
#include "storage.h"

typedef enum SbBackupType
{
	SB_BACKUP_FULL = 0,
	SB_BACKUP_DIFF,
	SB_BACKUP_INCR
} SbBackupType;

/* the longest chain followed before it is taken for a loop */
#define SB_CHAIN_MAX	10000

/* name of the resume list of an incomplete backup (see backup_resume.c) */
#define SB_RESUME_NAME	"backup.resume"

/* "full", "diff", "incr" (also "differential", "incremental") */
extern bool sb_backup_type_parse(const char *name, SbBackupType *out);
extern const char *sb_backup_type_name(SbBackupType type);
/* the letter ending a label: F, D, I */
extern char sb_backup_type_letter(SbBackupType type);

/*
 * The base of a new backup of type *type: for diff the newest full
 * backup, for incr the newest complete backup.  When there is none (or
 * type is full), *type becomes SB_BACKUP_FULL and base is "".  base holds
 * SB_LABEL_LEN bytes; *newest receives the newest complete backup's label
 * ("" when none).
 */
extern SbStatus sb_backup_choose_base(SbStorage *st, const char *stanza,
									  SbBackupType *type, char *base,
									  char *newest, SbError *err);

/*
 * Check that every backup m depends on is there: its chain of bases,
 * each with a readable manifest of the same system, and every backup a
 * file refers to one of them.  SB_ERR_NOT_FOUND or SB_ERR_CORRUPT with a
 * message naming the broken link.
 */
extern SbStatus sb_backup_chain_check(SbStorage *st, const char *stanza,
									  const SbManifest *m, SbError *err);

/*
 * The interrupted backup a new one of this type resumes: the newest
 * backup directory without a manifest but with a resume list, newer than
 * newest (the newest complete backup, "" when none), whose label ends with
 * the type's letter.  label ("" when none) holds SB_LABEL_LEN bytes.
 */
extern SbStatus sb_backup_resume_candidate(SbStorage *st, const char *stanza,
										   SbBackupType type,
										   const char *newest, char *label,
										   SbError *err);

/* Save / load the resume list: a manifest holding the files stored so far. */
extern SbStatus sb_backup_resume_save(SbStorage *st, const SbRepoConfig *cfg,
									  const SbManifest *m, SbError *err);
extern SbStatus sb_backup_resume_load(SbStorage *st, const char *stanza,
									  const char *label, SbManifest *m,
									  SbError *err);

#endif							/* SB_BACKUP_CHAIN_H */
