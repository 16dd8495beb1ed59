/*
 * wr_txn.c - the ERROR answer to a transaction, one format for the worker
 * and the fraud thread. See wr_txn.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wr_common.h"
#include "wr_txn.h"

int wr_txn_error_json(char *buf, size_t len, bool audit, const char *txn_id, size_t id_len,
		      const char *why)
{
	size_t pos = 0;
	int n = snprintf(buf, len, "%s\"txn_id\":", audit ? "{\"type\":\"decision_error\","
							   : "{");
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	pos = (size_t)n;
	if (id_len) {
		if (pos + 1 >= len)
			return -ENOSPC;
		buf[pos++] = '"';
		if (wr_json_escape(buf, len, &pos, txn_id, id_len) || pos + 1 >= len)
			return -ENOSPC;
		buf[pos++] = '"';
	} else {
		n = snprintf(buf + pos, len - pos, "null");
		if (n < 0 || (size_t)n >= len - pos)
			return -ENOSPC;
		pos += (size_t)n;
	}
	n = snprintf(buf + pos, len - pos, "%s\"error\":\"", audit ? "," : ",\"decision\":\"ERROR\",");
	if (n < 0 || (size_t)n >= len - pos)
		return -ENOSPC;
	pos += (size_t)n;
	if (wr_json_escape(buf, len, &pos, why, strlen(why)) || pos + 2 >= len)
		return -ENOSPC;
	buf[pos++] = '"';
	buf[pos++] = '}';
	buf[pos] = 0;
	return (int)pos;
}
