/*
 * wr_record.h - the records workers hand to the control thread.
 *
 * A worker copies each window result, alert, resolved message and late
 * match into one fixed-size record on its single-producer/single-consumer
 * output ring (rte_ring with element size sizeof(struct wr_out_rec)); the
 * control thread formats and routes them. Fixed size: no allocation on
 * either side.
 */
#ifndef WR_RECORD_H
#define WR_RECORD_H

#include <stdint.h>

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

#endif /* WR_RECORD_H */
