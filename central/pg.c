/* SPDX-License-Identifier: MIT */
/* libpq helpers shared by f2fpay-central and the daemon's shipper. */
#include "central/pg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"

int
central_password_read(const char *path, char **ret)
{
	_cleanup_(closep) int fd = -1;
	char buf[CENTRAL_PASSWORD_MAX + 2];
	size_t n = 0;
	ssize_t k;
	char *p;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_error_errno(errno, "Cannot read the central password %s: %m", path);
	while (n < sizeof(buf) - 1) {
		k = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			explicit_bzero(buf, sizeof(buf));
			return log_error_errno(errno, "Cannot read the central password %s: %m",
					       path);
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	n = strlen(buf);
	if (n > CENTRAL_PASSWORD_MAX) {
		explicit_bzero(buf, sizeof(buf));
		return log_error_errno(E2BIG, "The central password in %s is longer than %d bytes",
				       path, CENTRAL_PASSWORD_MAX);
	}
	if (n == 0)
		return log_error_errno(EINVAL, "The central password file %s is empty", path);
	p = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (!p)
		return log_error_errno(ENOMEM, "Out of memory");
	*ret = p;
	return 0;
}

void
central_conninfo_init(struct central_conninfo *ci, const char *url, const char *password,
		      const char *application_name)
{
	size_t i = 0;

	*ci = (struct central_conninfo){};
	ci->keys[i] = "dbname";
	ci->values[i++] = url;
	ci->keys[i] = "application_name";
	ci->values[i++] = application_name;
	if (password) {
		ci->keys[i] = "password";
		ci->values[i++] = password;
	}
	ci->keys[i] = NULL;
	ci->values[i] = NULL;
}

const char *
central_error_line(PGconn *c, char *buf, size_t size)
{
	const char *m = c ? PQerrorMessage(c) : "out of memory";
	size_t n = 0;

	if (!m || !*m)
		m = "unknown error";
	/* libpq's messages span lines, indented with tabs: one line, single spaces. */
	for (const char *p = m; *p && n + 1 < size; p++) {
		char ch = (unsigned char)*p < 0x20 ? ' ' : *p;
		if (ch == ' ' && (n == 0 || buf[n - 1] == ' '))
			continue;
		buf[n++] = ch;
	}
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	buf[n] = '\0';
	return buf;
}

int
central_connect(const char *url, const char *password, PGconn **ret)
{
	_cleanup_(PQfinishp) PGconn *c = NULL;
	struct central_conninfo ci;
	char err[512];

	central_conninfo_init(&ci, url, password, "f2fpay-central");
	c = PQconnectdbParams(ci.keys, ci.values, 1);
	if (!c || PQstatus(c) != CONNECTION_OK)
		return log_error_errno(ECONNREFUSED, "Cannot connect to the central database: %s",
				       central_error_line(c, err, sizeof(err)));
	*ret = TAKE_PTR(c);
	return 0;
}

int
central_exec(PGconn *c, const char *sql, const char *what, PGresult **ret)
{
	_cleanup_(PQclearp) PGresult *res = PQexec(c, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	char err[512];

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		return log_error_errno(EIO, "%s failed: %s", what,
				       central_error_line(c, err, sizeof(err)));
	if (ret)
		*ret = TAKE_PTR(res);
	return 0;
}
