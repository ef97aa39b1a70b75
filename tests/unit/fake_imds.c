/*-------------------------------------------------------------------------
 *
 * fake_imds.c
 *		A stand-in for the EC2 instance metadata service (IMDSv2) on
 *		127.0.0.1: a session token for a PUT of /latest/api/token, the role
 *		"sbtest-role" and its credentials as JSON for GETs that carry that
 *		token, 401 for those that do not.  One connection at a time, each
 *		answer closes it.  Counts what it served, for the tests.
 *
 *-------------------------------------------------------------------------
 */
#include "fake_imds.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IMDS_TOKEN	"fake-imds-session-token"
#define ROLE		"sbtest-role"

static void
answer(int fd, int status, const char *body)
{
	char		head[256];
	int			n;

	n = snprintf(head, sizeof(head),
				 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
				 status, status == 200 ? "OK" : status == 401 ? "Unauthorized" : "Not Found",
				 strlen(body));
	if (write(fd, head, n) != n || write(fd, body, strlen(body)) < 0)
		return;
}

/* the request's head (up to the blank line), or false */
static bool
read_head(int fd, char *buf, size_t size)
{
	size_t		len = 0;

	while (len + 1 < size)
	{
		struct pollfd p = {.fd = fd,.events = POLLIN};
		ssize_t		n;

		if (poll(&p, 1, 5000) <= 0)
			return false;
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			return false;
		len += n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return true;
	}
	return false;
}

static void
serve(FakeImds *f, int fd)
{
	char		req[8192];
	char		method[16];
	char		path[512];
	bool		has_token;

	if (!read_head(fd, req, sizeof(req)) ||
		sscanf(req, "%15s %511s", method, path) != 2)
		return;
	has_token = strcasestr(req, "\r\nX-aws-ec2-metadata-token: " IMDS_TOKEN "\r\n") != NULL;
	if (strcmp(method, "PUT") == 0 && strcmp(path, "/latest/api/token") == 0 &&
		strcasestr(req, "\r\nX-aws-ec2-metadata-token-ttl-seconds: ") != NULL)
	{
		f->token_requests++;
		answer(fd, 200, IMDS_TOKEN);
	}
	else if (strcmp(method, "GET") != 0 || !has_token)
	{
		f->refused++;
		answer(fd, 401, "");
	}
	else if (strcmp(path, "/latest/meta-data/iam/security-credentials/") == 0)
		answer(fd, f->no_role ? 404 : 200, f->no_role ? "" : ROLE "\n");
	else if (strcmp(path, "/latest/meta-data/iam/security-credentials/" ROLE) == 0)
	{
		char		body[1024];
		char		when[32];
		time_t		t = time(NULL) + f->expires_in_s;
		struct tm	tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(body, sizeof(body),
				 "{\n  \"Code\" : \"Success\",\n  \"Type\" : \"AWS-HMAC\",\n"
				 "  \"AccessKeyId\" : \"%s\",\n  \"SecretAccessKey\" : \"%s\",\n"
				 "  \"Token\" : \"\",\n  \"Expiration\" : \"%s\"\n}\n",
				 f->key, f->secret, when);
		f->credential_requests++;
		answer(fd, 200, body);
	}
	else
		answer(fd, 404, "");
}

static void *
run(void *arg)
{
	FakeImds   *f = arg;

	while (!f->stop)
	{
		struct pollfd p = {.fd = f->listen_fd,.events = POLLIN};
		int			fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept(f->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		serve(f, fd);
		close(fd);
	}
	return NULL;
}

bool
fake_imds_start(FakeImds *f)
{
	struct sockaddr_in a;
	socklen_t	alen = sizeof(a);
	pthread_t  *t = malloc(sizeof(pthread_t));

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (t == NULL || f->listen_fd < 0 ||
		bind(f->listen_fd, (struct sockaddr *) &a, sizeof(a)) != 0 ||
		listen(f->listen_fd, 8) != 0 ||
		getsockname(f->listen_fd, (struct sockaddr *) &a, &alen) != 0)
	{
		free(t);
		return false;
	}
	f->port = ntohs(a.sin_port);
	f->stop = false;
	if (pthread_create(t, NULL, run, f) != 0)
	{
		free(t);
		return false;
	}
	f->thread = t;
	return true;
}

void
fake_imds_stop(FakeImds *f)
{
	if (f->thread == NULL)
		return;
	f->stop = true;
	pthread_join(*(pthread_t *) f->thread, NULL);
	free(f->thread);
	f->thread = NULL;
	close(f->listen_fd);
}
