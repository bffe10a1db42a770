/* SPDX-License-Identifier: MIT */
/* QR encoding with libqrencode and the integer module-size rule of the customer display. */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "drivers/display/display-private.h"

int
display_qr_encode(const char *text, QRcode **ret)
{
	QRcode *qr;
	size_t n = text ? strlen(text) : 0;

	if (n == 0)
		return -EINVAL;
	if (n > DISPLAY_QR_TEXT_MAX)
		return -E2BIG;
	/* doc/hardware.md §4.2: 8-bit mode keeps the URL byte for byte; ECC M (doc/design.md §10).
	 */
	qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (!qr)
		return errno == ERANGE ? -E2BIG : errno > 0 ? -errno : -ENOMEM;
	*ret = qr;
	return 0;
}

int
display_qr_module_px(int modules, int side)
{
	int total = modules + 2 * DISPLAY_QR_QUIET_MODULES;
	int px;

	if (modules <= 0 || side <= 0)
		return -E2BIG;
	px = side / total;
	if (px < DISPLAY_QR_MIN_MODULE_PX)
		return -E2BIG;
	return px;
}
