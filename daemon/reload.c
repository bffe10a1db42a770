/* SPDX-License-Identifier: MIT */
/* Reloads with fresh keys: the root-side request and the daemon-side in-memory key copies. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/macro.h"
#include "daemon/check.h"
#include "daemon/reload.h"
#include "payment/keys.h"

#define RELOAD_TIMEOUT_USEC (60 * USEC_PER_SEC)

/* The credential-backed keys of a configuration, with where their paths live. */
struct cred_slot {
	const char *cred;
	char **resolved;
};

static size_t
cred_slots(struct config *c, struct cred_slot slots[static 5])
{
	struct config_alipay *a = &c->alipay;
	const struct cred_slot all[] = {
		{a->app_private_key_credential, &a->app_private_key_resolved},
		{a->alipay_public_key_credential, &a->alipay_public_key_resolved},
		{a->app_cert_credential, &a->app_cert_resolved},
		{a->alipay_cert_credential, &a->alipay_cert_resolved},
		{a->alipay_root_cert_credential, &a->alipay_root_cert_resolved},
	};
	size_t n = 0;

	for (size_t i = 0; i < ELEMENTSOF(all); i++)
		if (all[i].cred && *all[i].resolved)
			slots[n++] = all[i];
	return n;
}

/* Reads the whole file behind fd (at most ALIPAY_KEY_FILE_MAX) through the descriptor: the
 * file itself is root's and closed to the daemon. New buffer in *ret. */
static int
fd_read_all(int fd, char **ret, size_t *ret_len)
{
	struct stat st;
	char *text;
	size_t len = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)ALIPAY_KEY_FILE_MAX)
		return -EINVAL;
	text = malloc((size_t)st.st_size + 1);
	if (!text)
		return -ENOMEM;
	while (len < (size_t)st.st_size) {
		ssize_t k = pread(fd, text + len, (size_t)st.st_size - len, (off_t)len);
		if (k <= 0) {
			int r = k < 0 ? -errno : -EIO;
			explicit_bzero(text, len);
			free(text);
			return r;
		}
		len += (size_t)k;
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

/* A private, owner-read-only in-memory copy of the file behind fd; returns its fd. */
static int
memfd_copy(int fd, const char *name)
{
	char *text = NULL;
	size_t len = 0;
	int mfd, r;

	r = fd_read_all(fd, &text, &len);
	if (r < 0)
		return r;
	mfd = memfd_create(name, MFD_CLOEXEC);
	if (mfd < 0)
		r = -errno;
	else if (write(mfd, text, len) != (ssize_t)len || fchmod(mfd, 0400) < 0)
		r = -EIO;
	explicit_bzero(text, len);
	free(text);
	if (r < 0) {
		if (mfd >= 0)
			close(mfd);
		return r;
	}
	return mfd;
}

int
reload_keys_take(struct config *c, const struct control_key *keys, size_t n,
		 struct reload_keys *held)
{
	struct cred_slot slots[5];
	size_t ns = cred_slots(c, slots);
	char *paths[5] = {};
	int fds[5], r = 0;
	size_t nf = 0;

	for (size_t i = 0; i < ns; i++)
		fds[i] = -1;
	for (size_t i = 0; i < ns && r == 0; i++) {
		for (size_t k = 0; k < n; k++) {
			if (!STR_EQ(keys[k].name, slots[i].cred))
				continue;
			if (held->n + nf >= CONTROL_MAX_KEYS) {
				r = -E2BIG;
				break;
			}
			fds[i] = memfd_copy(keys[k].fd, slots[i].cred);
			if (fds[i] < 0) {
				r = log_error_errno(fds[i], "Cannot take the new key '%s': %m",
						    slots[i].cred);
				break;
			}
			nf++;
			if (asprintf(&paths[i], "/proc/self/fd/%d", fds[i]) < 0)
				r = -ENOMEM;
			break;
		}
	}
	if (r < 0) {
		for (size_t i = 0; i < ns; i++) {
			free(paths[i]);
			if (fds[i] >= 0)
				close(fds[i]);
		}
		return r;
	}
	for (size_t i = 0; i < ns; i++) {
		if (!paths[i])
			continue;
		free(*slots[i].resolved);
		*slots[i].resolved = paths[i];
		snprintf(held->names[held->n], sizeof(held->names[held->n]), "%s", slots[i].cred);
		held->fds[held->n++] = fds[i];
	}
	return 0;
}

size_t
reload_keys_as_control(const struct reload_keys *held, struct control_key *ret)
{
	for (size_t i = 0; i < held->n; i++) {
		snprintf(ret[i].name, sizeof(ret[i].name), "%s", held->names[i]);
		ret[i].fd = held->fds[i];
	}
	return held->n;
}

void
reload_keys_close(struct reload_keys *held)
{
	for (size_t i = 0; i < held->n; i++)
		close(held->fds[i]);
	held->n = 0;
}

int
reload_request(const char *config_path)
{
	_cleanup_config_ struct config *c = NULL;
	_cleanup_free_ char *sock = NULL;
	struct cred_slot slots[5];
	const char *names[5];
	int fds[5];
	char reply[CONTROL_REPLY_MAX];
	size_t n = 0;
	int r, status;

	/* The files in /etc, not the copies systemd made when the service started. */
	(void)unsetenv("CREDENTIALS_DIRECTORY");
	if (config_load_file(config_path, 0, &c) < 0 || check_keys(c) < 0) {
		log_error("Reload refused: the daemon keeps running with its current "
			  "configuration and keys");
		return F2FPAYD_EXIT_CONFIG;
	}
	sock = control_path_for(c->api.socket);
	if (!sock)
		return F2FPAYD_EXIT_FAILURE;
	size_t ns = cred_slots(c, slots);
	for (size_t i = 0; i < ns; i++) {
		int fd = open(*slots[i].resolved, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			log_error_errno(errno, "Cannot open %s: %m", *slots[i].resolved);
			for (size_t k = 0; k < n; k++)
				close(fds[k]);
			return F2FPAYD_EXIT_CONFIG;
		}
		names[n] = slots[i].cred;
		fds[n++] = fd;
	}
	r = control_reload(sock, names, fds, n, RELOAD_TIMEOUT_USEC, reply, sizeof(reply));
	for (size_t k = 0; k < n; k++)
		close(fds[k]);
	if (r == 0) {
		log_info("Reloaded: %s", reply);
		status = F2FPAYD_EXIT_OK;
	} else if (r == -EBADE) {
		log_error("Reload refused by the daemon: %s", reply);
		status = F2FPAYD_EXIT_FAILURE;
	} else {
		log_error_errno(r, "Cannot reach the daemon on %s: %m", sock);
		status = F2FPAYD_EXIT_FAILURE;
	}
	return status;
}
