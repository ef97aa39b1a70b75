/*-------------------------------------------------------------------------
 *
 * auth.c
 *		The repository server's authorization map: which stanzas a client
 *		certificate's common name may use.
 *
 * Common names are compared exactly (case-sensitive); a CN that is not in
 * the map may use nothing.  "*" in a rule allows every stanza.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "server.h"

const SrvAuthRule *
srv_auth_find(const SrvConfig *cfg, const char *cn)
{
	for (int i = 0; i < cfg->nauth; i++)
		if (strcmp(cfg->auth[i].cn, cn) == 0)
			return &cfg->auth[i];
	return NULL;
}

bool
srv_auth_allows(const SrvAuthRule *rule, const char *stanza)
{
	if (rule == NULL)
		return false;
	if (rule->all)
		return true;
	for (int i = 0; i < rule->nstanzas; i++)
		if (strcmp(rule->stanzas[i], stanza) == 0)
			return true;
	return false;
}
