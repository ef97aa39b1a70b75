/*-------------------------------------------------------------------------
 *
 * cmd_rekey.c
 *		pg_safebackup rekey: change the passphrase of an encrypted stanza.
 *
 * The stanza's data key is unwrapped with the current passphrase
 * (--cipher-pass-file) and wrapped again under one derived from the new
 * passphrase (--new-cipher-pass-file; it may be the same file, to change
 * only the salt or, with --cipher-kdf-log2n, the cost of the derivation).
 * Only the stanza info file changes; backups and WAL stay as they are,
 * encrypted with the same data key.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "stanza.h"
#include "storage.h"

int
sb_cmd_rekey(SbCliOptions *opts)
{
	SbStorage  *st;
	SbError		err;
	SbStatus	rc;

	if (opts->nargs != 0)
	{
		sb_cli_error("rekey takes no argument (found \"%s\")", opts->args[0]);
		fprintf(stderr, "Usage: %s rekey --cipher-pass-file=OLD --new-cipher-pass-file=NEW [OPTION]...\n", progname);
		return SB_EXIT_USAGE;
	}
	if (!sb_cli_require_repo(opts))
		return SB_EXIT_USAGE;
	if (opts->repo.cipher_type == SB_CIPHER_NONE)
	{
		sb_cli_error("rekey needs --cipher-type=aes-256-gcm");
		fprintf(stderr, "%s: hint: Give the stanza's cipher type and its current passphrase file (--cipher-pass-file).\n", progname);
		return SB_EXIT_USAGE;
	}
	if (opts->new_cipher_pass_file[0] == '\0')
	{
		sb_cli_error("no new passphrase file given");
		fprintf(stderr, "%s: hint: Use --new-cipher-pass-file=FILE, a file of mode 0600 holding the new passphrase.\n", progname);
		return SB_EXIT_USAGE;
	}

	st = sb_cli_open_repository(opts);
	if (st == NULL)
		return SB_EXIT_ERROR;
	sb_error_clear(&err);
	rc = sb_stanza_rekey(st, opts->repo.stanza, opts->new_cipher_pass_file,
						 opts->cipher_kdf_log2n, &err);
	sb_cli_close_repository(st);
	if (rc != SB_OK)
	{
		sb_cli_report(&err);
		return sb_cli_exit_code(rc);
	}
	printf("stanza \"%s\": passphrase changed\n", opts->repo.stanza);
	printf("Set cipher_pass_file to \"%s\" everywhere this stanza is used (server, restore_command) and reload.\n",
		   opts->new_cipher_pass_file);
	return SB_EXIT_OK;
}
