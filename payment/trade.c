/* SPDX-License-Identifier: MIT */
/* Trade status names (doc/protocol.md §4). */
#include <string.h>

#include "payment/trade.h"

static const char *const trade_status_names[_ALIPAY_TRADE_STATUS_MAX] = {
	[ALIPAY_TRADE_STATUS_NONE] = "",
	[ALIPAY_TRADE_STATUS_WAIT_BUYER_PAY] = "WAIT_BUYER_PAY",
	[ALIPAY_TRADE_STATUS_CLOSED] = "TRADE_CLOSED",
	[ALIPAY_TRADE_STATUS_SUCCESS] = "TRADE_SUCCESS",
	[ALIPAY_TRADE_STATUS_FINISHED] = "TRADE_FINISHED",
	[ALIPAY_TRADE_STATUS_OTHER] = "?",
};

const char *
alipay_trade_status_to_string(enum alipay_trade_status s)
{
	if ((unsigned)s >= _ALIPAY_TRADE_STATUS_MAX)
		return NULL;
	return trade_status_names[s];
}

enum alipay_trade_status
alipay_trade_status_from_string(const char *s)
{
	if (!s)
		return ALIPAY_TRADE_STATUS_NONE;
	for (unsigned i = ALIPAY_TRADE_STATUS_WAIT_BUYER_PAY; i <= ALIPAY_TRADE_STATUS_FINISHED;
	     i++)
		if (strcmp(s, trade_status_names[i]) == 0)
			return (enum alipay_trade_status)i;
	return ALIPAY_TRADE_STATUS_OTHER;
}

int
alipay_trade_status_is_paid(enum alipay_trade_status s)
{
	return s == ALIPAY_TRADE_STATUS_SUCCESS || s == ALIPAY_TRADE_STATUS_FINISHED;
}
