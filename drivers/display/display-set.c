/* SPDX-License-Identifier: MIT */
/* Several customer displays at once: each shows every screen and fails and recovers alone. */
#include <errno.h>
#include <stdlib.h>

#include "common/macro.h"
#include "drivers/display/display-private.h"
#include "drivers/display/display.h"

struct display_set {
	size_t n;
	struct display *d[DISPLAY_SET_MAX];
};

int
display_set_new(const char *const *specs, size_t n, struct display_set **ret)
{
	struct display_set *set;
	int r;

	if (n > DISPLAY_SET_MAX)
		return -E2BIG;
	set = calloc(1, sizeof(*set));
	if (!set)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		r = display_new(specs[i], &set->d[i]);
		if (r < 0) {
			display_set_free(set);
			return r;
		}
		set->n++;
	}
	*ret = set;
	return 0;
}

int
display_set_attach_event(struct display_set *set, sd_event *event)
{
	int r;

	for (size_t i = 0; set && i < set->n; i++) {
		r = display_attach_event(set->d[i], event);
		if (r < 0)
			return r;
	}
	return 0;
}

size_t
display_set_size(const struct display_set *set)
{
	return set ? set->n : 0;
}

struct display *
display_set_get(const struct display_set *set, size_t i)
{
	return set && i < set->n ? set->d[i] : NULL;
}

int
display_set_show(struct display_set *set, const struct display_screen *s)
{
	int r = 0;

	/* Every display gets the screen whatever the others did. */
	for (size_t i = 0; set && i < set->n; i++) {
		int k = display_show(set->d[i], s);
		if (k < 0 && r == 0)
			r = k;
	}
	return r;
}

int
display_set_retry(struct display_set *set, uint64_t now_usec)
{
	int r = 0;

	for (size_t i = 0; set && i < set->n; i++) {
		int k = display_retry(set->d[i], now_usec);
		if (k < 0 && r == 0)
			r = k;
	}
	return r;
}

uint64_t
display_set_next_retry_usec(const struct display_set *set)
{
	uint64_t at = UINT64_MAX;

	for (size_t i = 0; set && i < set->n; i++)
		at = MIN(at, display_next_retry_usec(set->d[i]));
	return at;
}

int
display_set_is_up(const struct display_set *set)
{
	if (!set || set->n == 0)
		return 0;
	for (size_t i = 0; i < set->n; i++)
		if (!display_is_up(set->d[i]))
			return 0;
	return 1;
}

int
display_set_trim(struct display_set *set)
{
	int frames = 0;

	if (!set || set->n == 0)
		return 0;
	for (size_t i = 0; i < set->n; i++)
		frames |= display_trim(set->d[i]);
	return frames;
}

struct display_set *
display_set_free(struct display_set *set)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->n; i++)
		display_free(set->d[i]);
	free(set);
	return NULL;
}
