/* SPDX-License-Identifier: MIT */
/* The classification of every gateway answer, shared by the client, the engine and the sandbox. */
#pragma once

/*
 * doc/protocol.md §3 and §6. Every caller of the gateway reasons in these five classes, never in
 * raw codes: the order engine decides whether to query, cancel, retry or give up from this alone
 * (plus the sub_code for display).
 */
enum alipay_class {
	ALIPAY_CLASS_SUCCESS,     /* 10000, signed and verified */
	ALIPAY_CLASS_IN_PROGRESS, /* 10003 (pay only): the buyer must confirm on the phone */
	ALIPAY_CLASS_FAILED, /* a definite business failure (40004 ACQ.* …): sub_code says which */
	ALIPAY_CLASS_UNKNOWN, /* 20000, ACQ.SYSTEM_ERROR, no answer, unsigned or unverifiable */
	ALIPAY_CLASS_CONFIG,  /* 40001–40003, isv.*, aop.* token errors: fix the configuration */
	_ALIPAY_CLASS_MAX,
};

const char *alipay_class_to_string(enum alipay_class c);
