/*-------------------------------------------------------------------------
 *
 * backup_chain.c
 *		Backup types, base selection, chain checks and the resume list of
 *		an interrupted backup; see backup_chain.h.
 *
 * Shared core: no postgres.h, no ereport()/palloc().
 *
 *-------------------------------------------------------------------------
 */
#include "backup_chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "codec.h"
#include "expire.h"
#include "name_list.h"

static const struct
{
	const char *name;
	SbBackupType type;
}			type_names[] = {
	{"full", SB_BACKUP_FULL},
	{"diff", SB_BACKUP_DIFF},
	{"incr", SB_BACKUP_INCR},
	{"differential", SB_BACKUP_DIFF},
	{"incremental", SB_BACKUP_INCR},
};

bool
sb_backup_type_parse(const char *name, SbBackupType *out)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcasecmp(name, type_names[i].name) == 0)
		{
			*out = type_names[i].type;
			return true;
		}
	return false;
}

const char *
sb_backup_type_name(SbBackupType type)
{
	switch (type)
	{
		case SB_BACKUP_DIFF:
			return "diff";
		case SB_BACKUP_INCR:
			return "incr";
		default:
			return "full";
	}
}

char
sb_backup_type_letter(SbBackupType type)
{
	switch (type)
	{
		case SB_BACKUP_DIFF:
			return 'D';
		case SB_BACKUP_INCR:
			return 'I';
		default:
			return 'F';
	}
}

SbStatus
sb_backup_choose_base(SbStorage *st, const char *stanza, SbBackupType *type,
					  char *base, char *newest, SbError *err)
{
	char	  **labels = NULL;
	int			nlabels = 0;
	SbStatus	rc;

	base[0] = '\0';
	newest[0] = '\0';
	rc = sb_backup_list(st, stanza, &labels, &nlabels, err);
	if (rc != SB_OK)
		return rc;
	if (nlabels > 0)
		snprintf(newest, SB_LABEL_LEN, "%s", labels[nlabels - 1]);
	for (int i = nlabels - 1; i >= 0 && *type != SB_BACKUP_FULL; i--)
	{
		SbManifest	m;
		SbError		merr;

		/* an unreadable manifest cannot be a base: look further back */
		if (sb_manifest_load_flags(st, stanza, labels[i], &m,
								   SB_MANIFEST_SKIP_SUMS, &merr) != SB_OK)
			continue;
		if (*type == SB_BACKUP_INCR || strcmp(m.type, "full") == 0)
			snprintf(base, SB_LABEL_LEN, "%s", labels[i]);
		sb_manifest_free(&m);
		if (base[0] != '\0')
			break;
	}
	if (base[0] == '\0')
		*type = SB_BACKUP_FULL;
	sb_backup_list_free(labels, nlabels);
	return SB_OK;
}

SbStatus
sb_backup_chain_check(SbStorage *st, const char *stanza, const SbManifest *m,
					  SbError *err)
{
	SbNameList	chain;
	char		base[SB_LABEL_LEN];
	char		child[SB_LABEL_LEN];
	SbStatus	rc = SB_OK;
	int			hops = 0;

	memset(&chain, 0, sizeof(chain));
	snprintf(base, sizeof(base), "%s", m->base);
	snprintf(child, sizeof(child), "%s", m->label);
	while (base[0] != '\0' && rc == SB_OK)
	{
		SbManifest	bm;
		SbError		berr;

		if (++hops > SB_CHAIN_MAX)
		{
			rc = sb_error_set(err, SB_ERR_CORRUPT,
							  "the chain of backup \"%s\" does not end in a full backup",
							  m->label);
			break;
		}
		if (sb_manifest_load_flags(st, stanza, base, &bm,
								   SB_MANIFEST_SKIP_SUMS, &berr) != SB_OK)
		{
			rc = sb_error_set(err, berr.status == SB_ERR_NOT_FOUND ? SB_ERR_NOT_FOUND : SB_ERR_CORRUPT,
							  "backup \"%s\" depends on backup \"%s\", which is not usable: %s",
							  child, base, berr.msg);
			sb_error_hint(err, "Restore an older backup, or take a new full backup.");
			break;
		}
		if (bm.system_identifier != m->system_identifier)
			rc = sb_error_set(err, SB_ERR_CORRUPT,
							  "backup \"%s\" depends on backup \"%s\" of another database system",
							  child, base);
		else if (!sb_name_list_add(&chain, base))
			rc = sb_error_oom(err);
		snprintf(child, sizeof(child), "%s", base);
		snprintf(base, sizeof(base), "%s", bm.base);
		sb_manifest_free(&bm);
	}
	for (int i = 0; i < m->nfiles && rc == SB_OK; i++)
	{
		const SbManifestFile *f = &m->files[i];

		for (int p = -1; p < f->nparts && rc == SB_OK; p++)
		{
			/* the file's content, then each layer it is rebuilt from */
			const char *holder = p < 0 ? f->ref_label : f->parts[p].label;
			bool		found = false;

			if (holder[0] == '\0')
				continue;
			for (int k = 0; k < chain.n && !found; k++)
				found = strcmp(chain.names[k], holder) == 0;
			if (!found)
				rc = sb_error_set(err, SB_ERR_CORRUPT,
								  "backup \"%s\" takes file \"%s\" from backup \"%s\", which is not one of its bases",
								  m->label, f->path, holder);
		}
	}
	sb_name_list_free(&chain);
	return rc;
}

SbStatus
sb_backup_resume_candidate(SbStorage *st, const char *stanza,
						   SbBackupType type, const char *newest, char *label,
						   SbError *err)
{
	SbNameList	dirs;
	char		path[SB_PATH_MAX];
	SbStatus	rc;

	label[0] = '\0';
	rc = sb_expire_list_backup_dirs(st, stanza, &dirs, err);
	for (int i = dirs.n - 1; i >= 0 && rc == SB_OK; i--)
	{
		const char *l = dirs.names[i];
		SbStat		sst;
		SbError		serr;

		if (strcmp(l, newest) <= 0)
			break;
		if (l[strlen(l) - 1] != sb_backup_type_letter(type))
			continue;
		sb_backup_manifest_path(stanza, l, path);
		if (sb_storage_stat(st, path, &sst, &serr) == SB_OK)
			continue;
		sb_backup_dir(stanza, l, path);
		strncat(path, "/" SB_RESUME_NAME, sizeof(path) - strlen(path) - 1);
		if (sb_storage_stat(st, path, &sst, &serr) == SB_OK && !sst.is_dir)
		{
			snprintf(label, SB_LABEL_LEN, "%s", l);
			break;
		}
	}
	sb_name_list_free(&dirs);
	return rc;
}

static void
resume_path(const char *stanza, const char *label, char *out)
{
	sb_backup_dir(stanza, label, out);
	strncat(out, "/" SB_RESUME_NAME, SB_PATH_MAX - strlen(out) - 1);
}

SbStatus
sb_backup_resume_save(SbStorage *st, const SbRepoConfig *cfg,
					  const SbManifest *m, SbError *err)
{
	SbRepoConfig plain = *cfg;
	char		path[SB_PATH_MAX];

	plain.compress_type = SB_COMPRESS_NONE;
	resume_path(cfg->stanza, m->label, path);
	return sb_manifest_store(st, &plain, m, path, SB_WRITE_REPLACE, err);
}

SbStatus
sb_backup_resume_load(SbStorage *st, const char *stanza, const char *label,
					  SbManifest *m, SbError *err)
{
	char		path[SB_PATH_MAX];
	SbManifestFetchFailure failure;
	SbStatus	rc;

	resume_path(stanza, label, path);
	rc = sb_manifest_fetch(st, path, m, 0, &failure, err);
	if (rc == SB_OK && strcmp(m->label, label) != 0)
	{
		rc = sb_error_set(err, SB_ERR_CORRUPT,
						  "resume list of backup \"%s\" is for backup \"%s\"",
						  label, m->label);
		sb_manifest_free(m);
	}
	return rc;
}
