/* SPDX-License-Identifier: MIT */
/* What is wrong with the terminal right now: named conditions and the STATUS= line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/health.h"

static const struct {
	const char *name;
	const char *one;  /* the words for count 1 (or any count, without many) */
	const char *many; /* after the count, for counts above 1; NULL: same as one */
} conditions[_HEALTH_MAX] = {
	[HEALTH_ATTENTION] = {"attention", "1 order needs an operator (ATTENTION)",
			      "orders need an operator (ATTENTION)"},
	[HEALTH_GATEWAY_UNREACHABLE] = {"gateway_unreachable", "gateway unreachable", NULL},
	[HEALTH_GATEWAY_CONFIG] = {"gateway_refuses_configuration",
				   "gateway refuses the configuration (keys, app id)", NULL},
	[HEALTH_SCANNER_MISSING] = {"scanner_missing", "scanner missing", "scanners missing"},
	[HEALTH_DISPLAY_DOWN] = {"display_down", "display down", NULL},
	[HEALTH_JOURNAL_UNWRITABLE] = {"journal_unwritable",
				       "journal cannot be written (disk full or read-only): new "
				       "orders refused",
				       NULL},
};

void
health_set(struct health *h, enum health_condition c, unsigned count, const char *detail)
{
	if ((unsigned)c >= _HEALTH_MAX)
		return;
	h->count[c] = count;
	snprintf(h->detail[c], sizeof(h->detail[c]), "%s", count && detail ? detail : "");
}

bool
health_ok(const struct health *h)
{
	for (size_t c = 0; c < _HEALTH_MAX; c++)
		if (h->count[c])
			return false;
	return true;
}

const char *
health_condition_name(enum health_condition c)
{
	return (unsigned)c < _HEALTH_MAX ? conditions[c].name : NULL;
}

int
health_status_line(const struct health *h, unsigned busy, char *buf, size_t size)
{
	size_t off;
	int n;

	if (size == 0)
		return -ENOBUFS;
	n = snprintf(buf, size, "Running, %u order%s in progress", busy, busy == 1 ? "" : "s");
	for (size_t c = 0; c < _HEALTH_MAX && n >= 0 && (size_t)n < size; c++) {
		char words[96];

		if (!h->count[c])
			continue;
		if (h->count[c] > 1 && conditions[c].many)
			snprintf(words, sizeof(words), "%u %s", h->count[c], conditions[c].many);
		else
			snprintf(words, sizeof(words), "%s", conditions[c].one);
		off = (size_t)n;
		n = snprintf(buf + off, size - off, "; %s%s%s", words, h->detail[c][0] ? ": " : "",
			     h->detail[c]);
		n = n < 0 ? n : (int)off + n;
	}
	return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}
