/*-------------------------------------------------------------------------
 *
 * fuzz_request.c
 *		libFuzzer target for the repository server's frame header and
 *		request parser (transport/tls_proto.c), and the client's error
 *		reply parser.
 *
 * The input is a frame as it arrives on the wire: 8 header bytes, then the
 * payload.  Besides memory errors (AddressSanitizer), the target checks the
 * parser's promises: an accepted path request carries a valid relative
 * repository path with no ".." component, whose first component is a valid
 * stanza name equal to req.stanza, and WRITE_DATA data lies inside the
 * payload.
 *
 *	make fuzz FUZZ_SECONDS=30
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sb_config.h"
#include "storage.h"
#include "tls_proto.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SbTlsRequest req;
	SbError		err;
	uint8_t		type;
	uint32_t	len;
	uint8_t    *payload;

	if (size < SB_TLS_HEADER_LEN)
		return 0;
	if (sb_tls_parse_header(data, &type, &len, &err) != SB_OK)
		return 0;
	if (len > SB_TLS_MAX_PAYLOAD)
		abort();
	/* the payload is what follows, cut to the announced length */
	size -= SB_TLS_HEADER_LEN;
	if (size > len)
		size = len;
	/* an exact-size copy, so that ASan sees any read past its end */
	payload = malloc(size ? size : 1);
	memcpy(payload, data + SB_TLS_HEADER_LEN, size);

	if (sb_tls_parse_request(type, payload, size, &req, &err) == SB_OK)
	{
		switch (req.type)
		{
			case SB_TLS_STAT:
			case SB_TLS_LIST:
			case SB_TLS_MKDIR:
			case SB_TLS_REMOVE:
			case SB_TLS_WRITE_OPEN:
			case SB_TLS_READ_OPEN:
				{
					size_t		n = strlen(req.stanza);

					if (!sb_path_valid(req.path) || req.path[0] == '/' ||
						strstr(req.path, "..") == req.path ||
						strstr(req.path, "/../") != NULL ||
						!sb_stanza_name_valid(req.stanza) ||
						strncmp(req.path, req.stanza, n) != 0 ||
						(req.path[n] != '\0' && req.path[n] != '/'))
						abort();
					break;
				}
			case SB_TLS_WRITE_DATA:
				if (req.datalen > SB_TLS_CHUNK ||
					(req.datalen > 0 &&
					 (req.data < payload || req.data + req.datalen > payload + size)))
					abort();
				break;
			case SB_TLS_READ:
				if (req.maxlen == 0 || req.maxlen > SB_TLS_CHUNK)
					abort();
				break;
			default:
				break;
		}
	}

	/* the same bytes as an error reply (client side) */
	(void) sb_tls_parse_error(payload, size, &err);
	free(payload);
	return 0;
}
