/* SPDX-License-Identifier: MIT */
/* Refunds at any till in a build without PostgreSQL (-Dcentral=disabled): never set up. */
#include <errno.h>

#include "daemon/central-refund.h"

int
central_refund_new(sd_event *event, struct journal *j, struct engine *e,
		   const struct config_central *cfg, const char *terminal,
		   struct central_refund **ret)
{
	(void)event, (void)j, (void)e, (void)cfg, (void)terminal;
	*ret = NULL;
	return -EOPNOTSUPP; /* ship_new() already refused the [central] url, saying why */
}

struct central_refund *
central_refund_free(struct central_refund *cr)
{
	(void)cr;
	return NULL;
}

int
central_refund_start(struct central_refund *cr, const char *order_id, const char *pos_ref,
		     int64_t amount_fen, const char *reason, const char *idem_key,
		     central_refund_done_t done, void *userdata)
{
	(void)cr, (void)order_id, (void)pos_ref, (void)amount_fen, (void)reason, (void)idem_key;
	(void)done, (void)userdata;
	return -EOPNOTSUPP;
}

int
central_refund_own(struct central_refund *cr, const char *order_id, int64_t amount_fen,
		   const char *idem_key, central_refund_done_t done, void *userdata)
{
	(void)cr, (void)order_id, (void)amount_fen, (void)idem_key, (void)done, (void)userdata;
	return -EOPNOTSUPP;
}

bool
central_refund_own_pending(const struct central_refund *cr, const char *order_id)
{
	(void)cr, (void)order_id;
	return false;
}
