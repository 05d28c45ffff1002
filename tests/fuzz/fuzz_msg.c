/*
 * fuzz_msg.c: msg_decode() on arbitrary records, with and without a
 * descriptor, and the payload readers a receiver would then use.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg m;
	struct msg_log ml;
	volatile size_t sink = 0;
	int fd;

	if (size > MSG_MAX_SIZE + 16)
		return 0;
	for (fd = -1; fd <= 0; fd++) {
		if (msg_decode(data, size, fd == 0 ? 1000 : -1, &m) != MSG_OK)
			continue;
		/* What a receiver does next: read the fixed part, the text. */
		if (msg_types[m.hdr.type].payload == MP_FIXED_TEXT &&
		    m.hdr.type == MSG_LOG) {
			memcpy(&ml, m.data, sizeof(ml));
			sink += (size_t)ml.priority;
		}
		if (m.len > 0)
			sink += m.data[m.len - 1];
		(void)msg_type_name(m.hdr.type);
	}
	(void)sink;
	return 0;
}
