/* SPDX-License-Identifier: MIT */
/* The daemon's side of the display module: loads it on the first display, then calls into it. */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "drivers/display/display-module.h"

static const struct display_module *mod;

/*
 * The bare name first: a daemon run from the build tree finds the module beside its sources
 * through its run path (the installed daemon has none); then the package's library folder.
 * dlmopen() in the base namespace is dlopen() with this code as the caller whose run path
 * counts, even where dlopen() itself is wrapped (a sanitizer's interceptor would be the caller).
 * Never unloaded: glib and fontconfig do not survive being unloaded.
 */
static void *
module_open(void)
{
	void *h = dlmopen(LM_ID_BASE, DISPLAY_MODULE_NAME, RTLD_NOW | RTLD_LOCAL);

	return h ? h : dlopen(DISPLAY_MODULE_DIR "/" DISPLAY_MODULE_NAME, RTLD_NOW | RTLD_LOCAL);
}

int
display_module_load(void)
{
	display_module_get_t get;
	const struct display_module *m;
	void *h;

	if (mod)
		return 0;
	h = module_open();
	if (!h)
		return log_error_errno(ELIBACC, "display: cannot load the display module: %s",
				       dlerror());
	get = (display_module_get_t)dlsym(h, DISPLAY_MODULE_SYMBOL);
	m = get ? get() : NULL;
	if (!m || m->size != sizeof(*m) || !m->version || strcmp(m->version, F2FPAY_VERSION) != 0) {
		dlclose(h);
		return log_error_errno(ELIBBAD,
				       "display: %s/%s is not the display module of f2fpayd %s",
				       DISPLAY_MODULE_DIR, DISPLAY_MODULE_NAME, F2FPAY_VERSION);
	}
	/* One log: the module's messages take the daemon's level, stream and prefix. */
	m->log_forward(log_internalv);
	mod = m;
	return 0;
}

int
display_module_loaded(void)
{
	return mod != NULL;
}

int
display_set_new(const char *const *specs, size_t n, struct display_set **ret)
{
	int r;

	if (n == 0) {
		*ret = NULL;
		return 0;
	}
	r = display_module_load();
	return r < 0 ? r : mod->set_new(specs, n, ret);
}

int
display_set_attach_event(struct display_set *set, sd_event *event)
{
	return set ? mod->set_attach_event(set, event) : 0;
}

size_t
display_set_size(const struct display_set *set)
{
	return set ? mod->set_size(set) : 0;
}

struct display *
display_set_get(const struct display_set *set, size_t i)
{
	return set ? mod->set_get(set, i) : NULL;
}

int
display_set_show(struct display_set *set, const struct display_screen *s)
{
	return set ? mod->set_show(set, s) : 0;
}

int
display_set_retry(struct display_set *set, uint64_t now_usec)
{
	return set ? mod->set_retry(set, now_usec) : 0;
}

uint64_t
display_set_next_retry_usec(const struct display_set *set)
{
	return set ? mod->set_next_retry_usec(set) : UINT64_MAX;
}

int
display_set_is_up(const struct display_set *set)
{
	return set ? mod->set_is_up(set) : 0;
}

int
display_set_trim(struct display_set *set)
{
	return set ? mod->set_trim(set) : 0;
}

struct display_set *
display_set_free(struct display_set *set)
{
	return set ? mod->set_free(set) : NULL;
}

int
display_is_up(const struct display *d)
{
	return d ? mod->is_up(d) : 0;
}

const char *
display_spec(const struct display *d)
{
	return d ? mod->spec(d) : NULL;
}
