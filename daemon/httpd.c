/* SPDX-License-Identifier: MIT */
/* libmicrohttpd on sd-event: MHD_USE_EPOLL exposes one fd, MHD_get_timeout gives the timer. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "common/time-util.h"
#include "daemon/conn-guard.h"
#include "daemon/httpd.h"

/* How often reading connections are checked against their deadlines. */
#define SWEEP_USEC      (100 * USEC_PER_MSEC)
/* MHD accepts a few past the slots so that the guard can shed an idle one for the newcomer. */
#define ACCEPT_HEADROOM 8

struct httpd {
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer, *defer, *sweep;
	struct conn_guard guard;
	MHD_AccessHandlerCallback handler;
	void *handler_cls;
	MHD_RequestCompletedCallback completed;
	void *completed_cls;
};

/* Per connection (MHD's socket context). */
struct httpd_conn {
	struct guarded_conn g;
	int fd; /* MHD's; shut down (never closed) to shed the connection */
};

static void
httpd_arm(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG to;

	if (MHD_get_timeout(h->mhd, &to) == MHD_YES) {
		usec_t when = now_usec(CLOCK_MONOTONIC) + (usec_t)to * USEC_PER_MSEC;
		(void)sd_event_source_set_time(h->timer, when);
		(void)sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
	} else
		(void)sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
}

void
httpd_run(struct httpd *h)
{
	if (!h || !h->mhd)
		return;
	(void)MHD_run(h->mhd);
	httpd_arm(h);
}

static int
httpd_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	httpd_run(userdata);
	return 0;
}

static int
httpd_on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	httpd_run(userdata);
	return 0;
}

static int
httpd_on_defer(sd_event_source *s, void *userdata)
{
	httpd_run(userdata);
	return 0;
}

void
httpd_set_priority(struct httpd *h, int64_t priority)
{
	if (!h)
		return;
	(void)sd_event_source_set_priority(h->io, priority);
	(void)sd_event_source_set_priority(h->timer, priority);
	(void)sd_event_source_set_priority(h->defer, priority);
}

void
httpd_kick(struct httpd *h)
{
	if (h && h->defer)
		(void)sd_event_source_set_enabled(h->defer, SD_EVENT_ONESHOT);
}

/* MHD notices the shutdown as an end of file and closes the connection on its next run. */
static void
httpd_shed(struct httpd *h, struct guarded_conn *g, const char *why)
{
	struct httpd_conn *hc = g->userdata;

	log_debug("Shedding HTTP connection %d: %s", hc->fd, why);
	(void)shutdown(hc->fd, SHUT_RDWR);
	httpd_kick(h);
}

static void
conn_source_get(int fd, struct conn_source *ret)
{
	struct sockaddr_storage ss = {};
	socklen_t sl = sizeof(ss);

	*ret = (struct conn_source){};
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		ret->family = AF_INET;
		memcpy(ret->addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else if (ss.ss_family == AF_INET6) {
		ret->family = AF_INET6;
		memcpy(ret->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	} else if (ss.ss_family == AF_UNIX) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
			ret->family = AF_UNIX;
			memcpy(ret->addr, &cred.uid, sizeof(cred.uid));
		}
	}
}

static void
sweep_arm(struct httpd *h)
{
	if (conn_guard_has_reading(&h->guard) &&
	    sd_event_source_get_enabled(h->sweep, NULL) == SD_EVENT_OFF) {
		(void)sd_event_source_set_time_relative(h->sweep, SWEEP_USEC);
		(void)sd_event_source_set_enabled(h->sweep, SD_EVENT_ONESHOT);
	}
}

static int
httpd_on_sweep(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct httpd *h = userdata;
	struct guarded_conn *g;

	while ((g = conn_guard_next_expired(&h->guard, now_usec(CLOCK_MONOTONIC))))
		httpd_shed(h, g, "request deadline passed");
	sweep_arm(h);
	return 0;
}

static void
on_connection(void *cls, struct MHD_Connection *mc, void **socket_context,
	      enum MHD_ConnectionNotificationCode toe)
{
	struct httpd *h = cls;
	struct httpd_conn *hc = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(mc, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn_source src;
		struct guarded_conn *victim;

		hc = calloc(1, sizeof(*hc));
		if (!hc || !ci) {
			/* Untracked, it cannot be shed: refuse it now rather than run blind. */
			if (ci)
				(void)shutdown(ci->connect_fd, SHUT_RDWR);
			free(hc);
			return;
		}
		hc->fd = ci->connect_fd;
		hc->g.userdata = hc;
		conn_source_get(hc->fd, &src);
		victim = conn_guard_add(&h->guard, &hc->g, &src, now_usec(CLOCK_MONOTONIC));
		*socket_context = hc;
		if (victim)
			httpd_shed(h, victim, "no free slot: the longest waiting reader goes");
		sweep_arm(h);
		return;
	}
	if (hc) {
		conn_guard_remove(&h->guard, &hc->g);
		free(hc);
		*socket_context = NULL;
	}
	/*
	 * At the connection limit MHD takes the listening socket out of its epoll set and puts it
	 * back only at the start of its next run: make sure there is one when a connection
	 * closes, or waiting clients would wait for some unrelated event.
	 */
	httpd_kick(h);
}

static struct httpd_conn *
conn_of(struct MHD_Connection *mc)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(mc, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Moves the connection through its states around the listener's own handler. */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct httpd_conn *hc = conn_of(mc);

	if (hc) {
		/* MHD calls first when the headers are in, last with no data when the body is. */
		if (!*con_cls)
			conn_guard_set_state(&h->guard, &hc->g, CONN_GUARD_READING_BODY,
					     now_usec(CLOCK_MONOTONIC));
		else if (*upload_data_size == 0)
			conn_guard_set_state(&h->guard, &hc->g, CONN_GUARD_HANDLED,
					     now_usec(CLOCK_MONOTONIC));
	}
	return h->handler(h->handler_cls, mc, url, method, version, upload_data, upload_data_size,
			  con_cls);
}

static void
on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct httpd *h = cls;
	struct httpd_conn *hc = conn_of(mc);

	if (h->completed)
		h->completed(h->completed_cls, mc, con_cls, toe);
	if (hc) {
		conn_guard_set_state(&h->guard, &hc->g, CONN_GUARD_READING_HEAD,
				     now_usec(CLOCK_MONOTONIC));
		sweep_arm(h);
	}
}

void
httpd_get_stats(const struct httpd *h, struct httpd_stats *ret)
{
	*ret = (struct httpd_stats){
		.connections = h->guard.live,
		.accepted = h->guard.accepted,
		.shed_for_room = h->guard.shed_for_room,
		.shed_for_deadline = h->guard.shed_for_deadline,
	};
}

static void _printf_(2, 0) on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = 0;
	log_debug("microhttpd: %s", msg);
}

int
httpd_start(struct httpd **ret, sd_event *event, int listen_fd, const struct httpd_limits *limits,
	    MHD_AccessHandlerCallback handler, void *handler_cls,
	    MHD_RequestCompletedCallback completed, void *completed_cls)
{
	const union MHD_DaemonInfo *info;
	struct httpd *h;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h) {
		close(listen_fd);
		return log_error_errno(ENOMEM, "Out of memory");
	}
	h->handler = handler;
	h->handler_cls = handler_cls;
	h->completed = completed;
	h->completed_cls = completed_cls;
	h->guard.limits = (struct conn_guard_limits){
		.max_connections = limits->max_connections,
		.max_per_source = limits->max_per_source,
		.header_deadline_usec = limits->header_deadline_usec,
		.request_deadline_usec = limits->request_deadline_usec,
		.keepalive_usec = limits->keepalive_usec,
	};
	h->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
		on_request, h, MHD_OPTION_LISTEN_SOCKET, listen_fd, MHD_OPTION_CONNECTION_LIMIT,
		limits->max_connections + ACCEPT_HEADROOM, MHD_OPTION_CONNECTION_TIMEOUT,
		limits->idle_timeout_sec, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, NULL, MHD_OPTION_END);
	if (!h->mhd) {
		close(listen_fd);
		free(h);
		return log_error_errno(EIO, "Failed to start the HTTP server");
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		r = log_error_errno(EIO, "No epoll fd from libmicrohttpd");
		goto fail;
	}
	r = sd_event_add_io(event, &h->io, info->epoll_fd, EPOLLIN, httpd_on_io, h);
	if (r < 0) {
		log_error_errno(r, "Failed to watch the HTTP server: %m");
		goto fail;
	}
	r = sd_event_add_time(event, &h->timer, CLOCK_MONOTONIC, 0, 0, httpd_on_timer, h);
	if (r < 0) {
		log_error_errno(r, "Failed to add the HTTP timer: %m");
		goto fail;
	}
	r = sd_event_add_defer(event, &h->defer, httpd_on_defer, h);
	if (r < 0) {
		log_error_errno(r, "Failed to add the HTTP kick: %m");
		goto fail;
	}
	(void)sd_event_source_set_enabled(h->defer, SD_EVENT_OFF);
	r = sd_event_add_time_relative(event, &h->sweep, CLOCK_MONOTONIC, SWEEP_USEC,
				       10 * USEC_PER_MSEC, httpd_on_sweep, h);
	if (r < 0) {
		log_error_errno(r, "Failed to add the HTTP deadline timer: %m");
		goto fail;
	}
	(void)sd_event_source_set_enabled(h->sweep, SD_EVENT_OFF);
	httpd_arm(h);
	*ret = h;
	return 0;
fail:
	httpd_free(h);
	return r;
}

struct httpd *
httpd_free(struct httpd *h)
{
	if (!h)
		return NULL;
	if (h->mhd) {
		/* Let resumed connections be processed (answered or closed) before stopping. */
		(void)MHD_run(h->mhd);
		MHD_stop_daemon(h->mhd);
	}
	h->io = sd_event_source_disable_unref(h->io);
	h->timer = sd_event_source_disable_unref(h->timer);
	h->defer = sd_event_source_disable_unref(h->defer);
	h->sweep = sd_event_source_disable_unref(h->sweep);
	free(h);
	return NULL;
}

static int
unix_socket_setup(int fd, const char *path, unsigned mode, const char *group)
{
	if (group) {
		struct group gr, *res = NULL;
		char buf[4096];
		int r = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
		if (r != 0 || !res)
			return log_error_errno(r ? r : ENOENT, "Unknown group %s for %s", group,
					       path);
		if (chown(path, (uid_t)-1, res->gr_gid) < 0)
			return log_error_errno(errno, "Failed to give %s to group %s: %m", path,
					       group);
	}
	if (chmod(path, (mode_t)mode) < 0)
		return log_error_errno(errno, "Failed to chmod %s: %m", path);
	if (listen(fd, SOMAXCONN) < 0)
		return log_error_errno(errno, "Failed to listen on %s: %m", path);
	return 0;
}

int
httpd_bind_unix(const char *path, unsigned mode, const char *group)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(ENAMETOOLONG, "Socket path too long: %s", path);
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_error_errno(errno, "Failed to create a unix socket: %m");
	/* A stale socket from a previous run would make bind() fail. */
	if (unlink(path) < 0 && errno != ENOENT)
		return log_error_errno(errno, "Failed to remove stale %s: %m", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_error_errno(errno, "Failed to bind %s: %m", path);
	r = unix_socket_setup(fd, path, mode, group);
	if (r < 0) {
		(void)unlink(path); /* leave no socket nobody serves */
		return r;
	}
	return TAKE_FD(fd);
}

int
httpd_bind_tcp(const char *addr, bool loopback_only, unsigned *ret_port)
{
	struct sockaddr_storage ss = {};
	socklen_t sl;
	char host[64];
	const char *colon;
	unsigned long port;
	char *end;
	_cleanup_close_ int fd = -1;
	int one = 1;

	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		if (!rb || rb[1] != ':' || (size_t)(rb - addr - 1) >= sizeof(host))
			return log_error_errno(EINVAL, "Bad TCP address %s", addr);
		memcpy(host, addr + 1, (size_t)(rb - addr - 1));
		host[rb - addr - 1] = 0;
		colon = rb + 1;
		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return log_error_errno(EINVAL, "Bad TCP address %s", addr);
		if (loopback_only && !IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return log_error_errno(EINVAL, "TCP address %s is not loopback", addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= sizeof(host))
			return log_error_errno(EINVAL, "Bad TCP address %s", addr);
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = 0;
		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return log_error_errno(EINVAL, "Bad TCP address %s", addr);
		if (loopback_only && (ntohl(s4->sin_addr.s_addr) >> 24) != 127)
			return log_error_errno(EINVAL, "TCP address %s is not loopback", addr);
		sl = sizeof(*s4);
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535 || !colon[1])
		return log_error_errno(EINVAL, "Bad TCP port in %s", addr);
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_error_errno(errno, "Failed to create a TCP socket: %m");
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		return log_error_errno(errno, "Failed to bind %s: %m", addr);
	if (listen(fd, SOMAXCONN) < 0)
		return log_error_errno(errno, "Failed to listen on %s: %m", addr);
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return log_error_errno(errno, "getsockname: %m");
	*ret_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	return TAKE_FD(fd);
}
