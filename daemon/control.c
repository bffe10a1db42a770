/* SPDX-License-Identifier: MIT */
/* The control socket: synchronous reloads with fresh key files, for `systemctl reload`. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/control.h"

#define CONTROL_REQUEST_MAX 1024

struct control {
	sd_event_source *listen_source;
	int listen_fd;
	char *path;
	control_reload_fn fn;
	void *userdata;
};

char *
control_path_for(const char *api_socket)
{
	const char *slash = strrchr(api_socket, '/');
	char *p = NULL;

	if (asprintf(&p, "%.*s/control.sock", slash ? (int)(slash - api_socket) : 1,
		     slash ? api_socket : ".") < 0)
		return NULL;
	return p;
}

static int
sockaddr_for(const char *path, struct sockaddr_un *sa, socklen_t *ret_len)
{
	size_t n = strlen(path);

	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	memcpy(sa->sun_path, path, n);
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

static void
reply(int fd, const char *verdict, const char *msg)
{
	char buf[CONTROL_REPLY_MAX];
	int n = snprintf(buf, sizeof(buf), "%s %s", verdict, msg);

	if (n > 0)
		(void)send(fd, buf, MIN((size_t)n, sizeof(buf) - 1), MSG_NOSIGNAL);
}

int
control_parse_request(char *req, struct control_key *keys, size_t n_fds)
{
	char *save = NULL, *line;
	size_t k = 0;

	line = strtok_r(req, "\n", &save);
	if (!line || !STR_EQ(line, "RELOAD"))
		return -EBADMSG;
	while ((line = strtok_r(NULL, "\n", &save))) {
		const char *name = line + 4;
		if (strncmp(line, "key ", 4) != 0 || k >= n_fds || !*name ||
		    strlen(name) > CONTROL_NAME_MAX)
			return -EBADMSG;
		for (const char *p = name; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
				return -EBADMSG;
		snprintf(keys[k].name, sizeof(keys[k].name), "%s", name);
		k++;
	}
	return k == n_fds ? 0 : -EBADMSG;
}

static void
serve_one(struct control *c, int fd)
{
	struct control_key keys[CONTROL_MAX_KEYS] = {};
	char req[CONTROL_REQUEST_MAX + 1], msg[CONTROL_REPLY_MAX];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * CONTROL_MAX_KEYS)];
	} control = {};
	struct iovec iov = {.iov_base = req, .iov_len = CONTROL_REQUEST_MAX};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = &control,
			    .msg_controllen = sizeof(control)};
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	size_t n_fds = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;
	int r;

	/* Root (ExecReload=+) or the daemon's own user, nobody else. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		reply(fd, "FAIL", "permission denied");
		return;
	}
	/* The client sends at once; a silent one is dropped rather than waited for. */
	if (poll(&pfd, 1, 5000) <= 0)
		return;
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0)
		return;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
			size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t i = 0; i < k; i++) {
				int f;
				memcpy(&f, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
				if (n_fds < CONTROL_MAX_KEYS)
					keys[n_fds++].fd = f;
				else
					close(f);
			}
		}
	req[n] = 0;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    control_parse_request(req, keys, n_fds) < 0) {
		reply(fd, "FAIL", "malformed request");
	} else {
		msg[0] = 0;
		r = c->fn(c->userdata, keys, n_fds, msg, sizeof(msg));
		reply(fd, r < 0 ? "FAIL" : "OK", msg);
	}
	for (size_t i = 0; i < n_fds; i++)
		close(keys[i].fd);
}

static int
on_connection(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct control *c = userdata;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	if (cfd < 0)
		return 0;
	serve_one(c, cfd);
	close(cfd);
	return 0;
}

int
control_new(sd_event *event, const char *path, control_reload_fn fn, void *userdata,
	    struct control **ret)
{
	struct control *c;
	struct sockaddr_un sa;
	socklen_t len;
	int r;

	r = sockaddr_for(path, &sa, &len);
	if (r < 0)
		return log_error_errno(r, "Control socket %s: %m", path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fn = fn;
	c->userdata = userdata;
	c->path = strdup(path);
	c->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (!c->path || c->listen_fd < 0) {
		r = c->path ? -errno : -ENOMEM;
		goto fail;
	}
	(void)unlink(path);
	{
		/* Created 0600 from the start: no window where others could connect. */
		mode_t old = umask(0177);
		r = bind(c->listen_fd, (struct sockaddr *)&sa, len) < 0 ? -errno : 0;
		umask(old);
	}
	if (r < 0 || listen(c->listen_fd, 4) < 0) {
		r = r < 0 ? r : -errno;
		goto fail;
	}
	r = sd_event_add_io(event, &c->listen_source, c->listen_fd, EPOLLIN, on_connection, c);
	if (r < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	log_error_errno(r, "Cannot listen on the control socket %s: %m", path);
	control_free(c);
	return r;
}

struct control *
control_free(struct control *c)
{
	if (!c)
		return NULL;
	c->listen_source = sd_event_source_disable_unref(c->listen_source);
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		if (c->path)
			(void)unlink(c->path);
	}
	free(c->path);
	free(c);
	return NULL;
}

int
control_reload(const char *path, const char *const *names, const int *fds, size_t n,
	       usec_t timeout_usec, char *reply_buf, size_t reply_size)
{
	char req[CONTROL_REQUEST_MAX];
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * CONTROL_MAX_KEYS)];
	} control = {};
	struct sockaddr_un sa;
	socklen_t len;
	size_t off;
	int fd, r;
	ssize_t got;

	if (n > CONTROL_MAX_KEYS || reply_size == 0)
		return -EINVAL;
	reply_buf[0] = 0;
	r = sockaddr_for(path, &sa, &len);
	if (r < 0)
		return r;
	off = (size_t)snprintf(req, sizeof(req), "RELOAD\n");
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(req + off, sizeof(req) - off, "key %s\n", names[i]);
		if (w < 0 || (size_t)w >= sizeof(req) - off)
			return -E2BIG;
		off += (size_t)w;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	struct iovec iov = {.iov_base = req, .iov_len = off};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (n > 0) {
		mh.msg_control = &control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(h), fds, sizeof(int) * n);
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	r = poll(&pfd, 1, (int)(timeout_usec / USEC_PER_MSEC));
	if (r <= 0) {
		close(fd);
		return r == 0 ? -ETIMEDOUT : -errno;
	}
	got = recv(fd, reply_buf, reply_size - 1, 0);
	r = got < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	if (got == 0)
		return -ECONNRESET;
	reply_buf[got] = 0;
	if (strncmp(reply_buf, "OK ", 3) == 0) {
		memmove(reply_buf, reply_buf + 3, (size_t)got - 2);
		return 0;
	}
	if (strncmp(reply_buf, "FAIL ", 5) == 0)
		memmove(reply_buf, reply_buf + 5, (size_t)got - 4);
	return -EBADE;
}
