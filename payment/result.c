/* SPDX-License-Identifier: MIT */
/* Names of the gateway answer classes, for logs and the local API. */
#include <stddef.h>

#include "payment/result.h"

const char *
alipay_class_to_string(enum alipay_class c)
{
	switch (c) {
	case ALIPAY_CLASS_SUCCESS:
		return "success";
	case ALIPAY_CLASS_IN_PROGRESS:
		return "in-progress";
	case ALIPAY_CLASS_FAILED:
		return "failed";
	case ALIPAY_CLASS_UNKNOWN:
		return "unknown";
	case ALIPAY_CLASS_CONFIG:
		return "config";
	case _ALIPAY_CLASS_MAX:
		break;
	}
	return NULL;
}
