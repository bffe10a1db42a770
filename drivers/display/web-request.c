/* SPDX-License-Identifier: MIT */
/* The web display's request parser: a request head from any client on the network. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common/macro.h"
#include "drivers/display/display-private.h"

const char *
display_web_request_parse(char *req, struct display_web_request *ret)
{
	char *end = strstr(req, "\r\n\r\n"), *line_end, *sp1, *sp2;

	if (!end)
		return "400 Bad Request";
	end[2] = 0; /* every header line now ends in CRLF, the head in NUL */
	line_end = strstr(req, "\r\n");
	*line_end = 0;
	sp1 = strchr(req, ' ');
	sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return "400 Bad Request";
	*sp1 = *sp2 = 0;
	if (STR_EQ(req, "GET"))
		ret->head = 0;
	else if (STR_EQ(req, "HEAD"))
		ret->head = 1;
	else
		return "405 Method Not Allowed";
	/* A body (which GET never needs) would be left unread: refuse it outright. */
	for (char *h = line_end + 2; *h; h = strstr(h, "\r\n") + 2)
		if (strncasecmp(h, "content-length:", 15) == 0 ||
		    strncasecmp(h, "transfer-encoding:", 18) == 0)
			return "400 Bad Request";
	if (sp1[1] != '/')
		return "400 Bad Request";
	/* A request target is visible ASCII: a bare CR or any other control byte is refused. */
	for (const char *p = sp1 + 1; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return "400 Bad Request";
	ret->path = sp1 + 1;
	return NULL;
}
