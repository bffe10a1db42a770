/* SPDX-License-Identifier: MIT */
/* Starts f2fpay-sandbox as a child of a test and reads the address it listens on. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "sandbox-spawn.h"
#include "test.h"

pid_t
sandbox_spawn(const char *bin, const char *keys_dir, const char *const *extra, char *url,
	      size_t url_size)
{
	char app_pub[512], alipay_priv[512], line[256];
	const char *argv[64];
	int fds[2], n = 0;
	pid_t pid;
	FILE *f;

	snprintf(app_pub, sizeof(app_pub), "%s/app-public.pem", keys_dir);
	snprintf(alipay_priv, sizeof(alipay_priv), "%s/alipay-private.pem", keys_dir);
	argv[n++] = bin;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--app-public-key";
	argv[n++] = app_pub;
	argv[n++] = "--alipay-private-key";
	argv[n++] = alipay_priv;
	for (size_t i = 0; extra && extra[i] && n < 63; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	CHECK(pipe2(fds, O_CLOEXEC) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* A test that aborts must not leave the sandbox behind, holding meson's pipes. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], STDOUT_FILENO);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	CHECK(f);
	CHECK(fgets(line, sizeof(line), f));
	fclose(f);
	CHECK(strncmp(line, "listening on ", 13) == 0);
	line[strcspn(line, "\n")] = '\0';
	snprintf(url, url_size, "%s", line + 13);
	return pid;
}
