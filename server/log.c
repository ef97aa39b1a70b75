/*-------------------------------------------------------------------------
 *
 * log.c
 *		Logging of the repository server: one line per event, with time,
 *		process id and level, to standard error (the journal under systemd)
 *		or appended to log_file.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

static FILE *log_out = NULL;
static SrvLogLevel log_level = SRV_LOG_INFO;

static const char *const level_names[] = {"ERROR", "WARNING", "INFO", "DEBUG"};

/* Switch to the configuration's destination; on failure keep the old one. */
bool
srv_log_open(const SrvConfig *cfg, char *errbuf, size_t errlen)
{
	FILE	   *f = stderr;

	if (cfg->log_file[0] != '\0' && strcmp(cfg->log_file, "stderr") != 0)
	{
		f = fopen(cfg->log_file, "a");
		if (f == NULL)
		{
			snprintf(errbuf, errlen, "could not open log file \"%s\": %s",
					 cfg->log_file, strerror(errno));
			return false;
		}
		setvbuf(f, NULL, _IOLBF, 0);
	}
	if (log_out != NULL && log_out != stderr && log_out != f)
		fclose(log_out);
	log_out = f;
	log_level = cfg->log_level;
	return true;
}

void
srv_log(SrvLogLevel level, const char *fmt,...)
{
	va_list		ap;
	struct timeval tv;
	struct tm	tm;
	char		ts[64];
	FILE	   *out = log_out ? log_out : stderr;

	if (level > log_level)
		return;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(out, "%s.%03d UTC [%ld] %s: ", ts, (int) (tv.tv_usec / 1000),
			(long) getpid(), level_names[level]);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

/* The descriptor log lines go to (kept open by detached processes). */
int
srv_log_fd(void)
{
	return fileno(log_out ? log_out : stderr);
}

/* Close log_file (at exit); later messages go to standard error. */
void
srv_log_close(void)
{
	if (log_out != NULL && log_out != stderr)
		fclose(log_out);
	log_out = NULL;
}
