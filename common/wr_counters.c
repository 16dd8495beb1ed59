/* wr_counters.c - names and help strings of the counters, from the X-macro. */
#include "wr_counters.h"

static const char *const counter_names[WR_CNT_MAX] = {
#define WR_X_NAME(name, help) #name,
	WR_COUNTERS(WR_X_NAME)
#undef WR_X_NAME
};

static const char *const counter_helps[WR_CNT_MAX] = {
#define WR_X_HELP(name, help) help,
	WR_COUNTERS(WR_X_HELP)
#undef WR_X_HELP
};

const char *wr_counter_name(enum wr_counter_id id)
{
	return id < WR_CNT_MAX ? counter_names[id] : "?";
}

const char *wr_counter_help(enum wr_counter_id id)
{
	return id < WR_CNT_MAX ? counter_helps[id] : "?";
}

void wr_counters_sum(const struct wr_counters *slots, unsigned n, struct wr_counters *out)
{
	for (unsigned c = 0; c < WR_CNT_MAX; c++) {
		uint64_t s = 0;
		for (unsigned i = 0; i < n; i++)
			s += __atomic_load_n(&slots[i].v[c], __ATOMIC_RELAXED);
		out->v[c] = s;
	}
}
