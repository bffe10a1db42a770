/* SPDX-License-Identifier: MIT */
/* The shipper of a build without PostgreSQL (-Dcentral=disabled): [central] url is refused. */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "daemon/ship.h"

int
ship_new(sd_event *event, struct journal *j, const struct config_central *cfg,
	 const struct config_terminal *terminal, const char *app_id, const char *journal_path,
	 struct ship **ret)
{
	(void)event, (void)j, (void)cfg, (void)terminal, (void)app_id, (void)journal_path;
	*ret = NULL;
	log_error("[central] url is set, but this f2fpayd was built without PostgreSQL "
		  "(meson -Dcentral=disabled): remove [central] url or install a build with it");
	return -EOPNOTSUPP;
}

struct ship *
ship_free(struct ship *s)
{
	(void)s;
	return NULL;
}

void
ship_progress(struct ship *s, struct ship_progress *ret)
{
	(void)s;
	memset(ret, 0, sizeof(*ret));
	ret->state = "stopped";
}

int
ship_status_add(struct ship *s, struct json_object *o)
{
	(void)s, (void)o;
	return 0;
}
