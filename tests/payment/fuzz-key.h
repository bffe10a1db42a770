/* SPDX-License-Identifier: MIT */
/* An RSA public key for the fuzz harnesses (a copy of keys/alipay-public.b64; any will do). */
#pragma once

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "payment/keys.h"

static const char fuzz_alipay_public_b64[] =
	"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA9JBXNhceauCPfvgOFcbV"
	"4sQ/FWjRPz/YlpGBzva/DSVUwU00OYH2CXS6U7sdOKI7xQn5cUSuURhFocoPEJSb"
	"Te8EX/wrGOxz2DlnDuduneHfbT8ucqKB3J7GGB5rgCs34XreL0fdyMuqBHPgEWDU"
	"nd1SBL5UEMjYQavzj7DTIrTNhdvcj85O3SVPyB3ZNdCLsW2v78zAZxqCRTlwdDXe"
	"vDahYku02STEjprWBcfSvGopkf5rRPLf1j2d+PtNX8h6X4FO4GxZIfKGf2LlqBuW"
	"wzYJtB7/HVe7Tlvgkmb0k2uE3wdprN2AFNCHbMGSYCSr9GQohAx5K0ZBFZgHv6vI"
	"gwIDAQAB";

static inline EVP_PKEY *
fuzz_alipay_public_key(void)
{
	static EVP_PKEY *key;

	if (!key && alipay_key_load_public(fuzz_alipay_public_b64, strlen(fuzz_alipay_public_b64),
					   &key) < 0)
		abort();
	return key;
}
