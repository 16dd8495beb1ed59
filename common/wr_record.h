/*
 * wr_record.h - the records workers hand to the control thread.
 *
 * A worker fills one struct wr_out_rec per window result, alert, resolved
 * message, late match or closed session, and puts it on its single-
 * producer/single-consumer output ring packed (wr_out_pack): the fixed
 * fields, then only the key's and the samples' bytes in use, in whole
 * WR_OUT_CHUNK-byte ring elements enqueued in one bulk (so a record's
 * chunks are contiguous and appear together). A session record is one
 * chunk; the unpacked struct is ~1 KB (three 256-byte samples), which the
 * ring used to carry whole for every record. The control thread unpacks
 * (wr_out_unpack), formats and routes them. No allocation on either side.
 */
#ifndef WR_RECORD_H
#define WR_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "st_session.h"
#include "st_window.h"

enum wr_rec_type {
	WR_REC_WINDOW, WR_REC_ALERT, WR_REC_RESOLVED, WR_REC_LATE,
	WR_REC_SESSION,              /* a closed clickstream session; key = user id */
	WR_REC_SESSION_LATE,         /* a click event too late for its session */
};

struct wr_out_rec {
	uint8_t type;                /* enum wr_rec_type */
	uint8_t n_samples;           /* ALERT: samples used; LATE: 1 (the line) */
	uint16_t key_len;
	uint32_t rule_idx;
	uint64_t rules_version;      /* rule set the index refers to */
	int64_t start_us, end_us;    /* WINDOW, ALERT, RESOLVED: the window */
	int64_t event_us;            /* ALERT: crossing match; LATE: the match */
	int64_t wm_us;               /* LATE: watermark it was late against */
	uint64_t count, threshold;    /* SESSION: count = events */
	uint32_t page_views;         /* SESSION */
	uint8_t reached, converted;  /* SESSION: funnel steps reached, all of them */
	int64_t convert_us;          /* SESSION: time to convert, -1 when not converted */
	uint16_t sample_len[ST_SAMPLES];
	char key[ST_KEY_MAX];
	char samples[ST_SAMPLES][ST_SAMPLE_MAX];
} __attribute__((aligned(8)));

#define WR_OUT_CHUNK 128             /* bytes of one output ring element */
#define WR_OUT_HEAD 2                /* the record's chunk count (uint16) */
#define WR_OUT_FIXED offsetof(struct wr_out_rec, key)
/* chunks of the largest record */
#define WR_OUT_CHUNKS_MAX \
	((WR_OUT_HEAD + sizeof(struct wr_out_rec) + WR_OUT_CHUNK - 1) / WR_OUT_CHUNK)

/*
 * Pack @r (key_len <= ST_KEY_MAX, n_samples <= ST_SAMPLES, sample_len[i]
 * <= ST_SAMPLE_MAX) into @dst, WR_OUT_CHUNKS_MAX * WR_OUT_CHUNK bytes:
 * the head, the fixed fields, the key's bytes and each used sample's
 * bytes. Returns the chunks used, 1 .. WR_OUT_CHUNKS_MAX.
 */
unsigned wr_out_pack(const struct wr_out_rec *r, void *dst);

/* The output record of closed session @sr: its fixed fields and key (cut
 * at ST_KEY_MAX); the samples are left as they were. */
static inline void wr_out_session(struct wr_out_rec *r, const struct st_session_rec *sr)
{
	uint32_t n = sr->user_len < ST_KEY_MAX ? sr->user_len : ST_KEY_MAX;
	memset(r, 0, offsetof(struct wr_out_rec, key));
	r->type = WR_REC_SESSION;
	r->start_us = sr->start_us;
	r->end_us = sr->end_us;
	r->count = sr->events;
	r->page_views = (uint32_t)sr->page_views;
	r->reached = (uint8_t)sr->reached;
	r->converted = sr->converted;
	r->convert_us = sr->time_to_convert_us;
	memcpy(r->key, sr->user, n);
	r->key_len = (uint16_t)n;
}

/* The chunks of the packed record whose first chunk is @first. */
static inline unsigned wr_out_nchunks(const void *first)
{
	uint16_t n;
	memcpy(&n, first, sizeof(n));
	return n;
}

/* Unpack the record packed at @src into @r: the fixed fields, the key and
 * the used samples (bytes past their lengths are left as they were). */
void wr_out_unpack(const void *src, struct wr_out_rec *r);

#endif /* WR_RECORD_H */
