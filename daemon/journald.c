/* SPDX-License-Identifier: MIT */
/* Structured entries to journald over its native datagram protocol. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/macro.h"
#include "daemon/journald.h"

#define JOURNAL_SOCKET    "/run/systemd/journal/socket"
#define JOURNAL_ENTRY_MAX (16 * 1024)

static struct sockaddr_un journal_addr;
static int journal_fd = -1;

/* NAME=value, or the binary form (NAME, newline, 64-bit little-endian length, value) when the
 * value holds a newline. */
static int
put_field(struct buf *b, const char *name, const char *value)
{
	size_t len = strlen(value);
	int r;

	if (!strchr(value, '\n'))
		return buf_printf(b, "%s=%s\n", name, value);
	r = buf_printf(b, "%s\n", name);
	for (int i = 0; r >= 0 && i < 8; i++)
		r = buf_putc(b, (char)((uint64_t)len >> (8 * i) & 0xff));
	if (r >= 0)
		r = buf_append(b, value, len);
	return r < 0 ? r : buf_putc(b, '\n');
}

static bool
field_name_ok(const char *n)
{
	if (!*n || *n == '_')
		return false;
	for (; *n; n++)
		if (!((*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') || *n == '_'))
			return false;
	return true;
}

static int
journald_sink(int level, const char *message, const struct log_field *fields, size_t n)
{
	_cleanup_buf_ struct buf b = BUF_INIT(JOURNAL_ENTRY_MAX);
	char prio[4];
	int r;

	snprintf(prio, sizeof(prio), "%d", level & 7);
	r = put_field(&b, "PRIORITY", prio);
	if (r >= 0)
		r = put_field(&b, "SYSLOG_IDENTIFIER", "f2fpayd");
	if (r >= 0)
		r = put_field(&b, "MESSAGE", message);
	for (size_t i = 0; r >= 0 && i < n; i++)
		if (fields[i].value && field_name_ok(fields[i].name))
			r = put_field(&b, fields[i].name, fields[i].value);
	if (r < 0)
		return r;
	if (sendto(journal_fd, b.data, b.len, MSG_NOSIGNAL, (struct sockaddr *)&journal_addr,
		   sizeof(journal_addr)) < 0)
		return -errno; /* the caller writes the message to stderr instead */
	return 0;
}

/* Whether $JOURNAL_STREAM ("dev:inode") is the file behind stderr. */
static bool
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool
journald_sink_install(void)
{
	const char *path = getenv("F2FPAY_JOURNAL_SOCKET");

	if (!path || !*path) {
		if (!stderr_is_journal())
			return false;
		path = JOURNAL_SOCKET;
	}
	if (strlen(path) >= sizeof(journal_addr.sun_path))
		return false;
	journal_addr.sun_family = AF_UNIX;
	memcpy(journal_addr.sun_path, path, strlen(path) + 1);
	journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (journal_fd < 0)
		return false;
	log_set_sink(journald_sink);
	return true;
}
