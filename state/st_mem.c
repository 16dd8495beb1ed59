/*
 * st_mem.c - the state tables' big arrays: anonymous mappings taken when a
 * table is created, on the pages its access pattern wants (enum st_pages).
 *
 * Reserved 2 MB pages (ST_PAGES_RESERVED) come from the kernel's hugetlb
 * pool, the one /sys/kernel/mm/hugepages sizes and DPDK also draws from.
 * The mapping is private and made without MAP_NORESERVE, so the kernel
 * reserves a page of the pool for every 2 MB of it at mmap() or refuses
 * the mapping: a first touch later can never fail (no SIGBUS on the data
 * path), and a pool without room for the whole array means transparent
 * huge pages instead, as before. Against transparent huge pages they give
 * the same TLB reach without the kernel's compaction, splitting or
 * khugepaged on the data path (a THP fault may compact memory first; on a
 * long-running box THP may also not be had at all). Pages are still zeroed
 * at their first touch (run.lock_memory touches them at start).
 *
 * Arrays of 2 MB or more are mapped in whole 2 MB units whatever the kind
 * (a hugetlb mapping must be, and munmap() must see the same length), so
 * st_big_free() can tell the length from the array's size alone.
 */
#include <sys/mman.h>

#include "st_pvt.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#define ST_MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)   /* log2(2 MB): not the pool's default size */

size_t st_big_len(size_t bytes)
{
	return bytes >= ST_HUGE_SZ ? (bytes + ST_HUGE_SZ - 1) & ~(ST_HUGE_SZ - 1) : bytes;
}

void *st_big_alloc(size_t bytes, enum st_pages pages, struct st_mem_res *res)
{
	if (bytes == 0)
		return NULL;
	size_t len = st_big_len(bytes);
	void *p;
	if (pages == ST_PAGES_RESERVED && len >= ST_HUGE_SZ) {
		res->want += len;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | ST_MAP_HUGE_2MB, -1, 0);
		if (p != MAP_FAILED) {
			res->got += len;
			return p;
		}
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (len >= ST_HUGE_SZ)
		(void)madvise(p, len, pages == ST_PAGES_SMALL ? MADV_NOHUGEPAGE : MADV_HUGEPAGE);
	return p;
}

void st_big_free(void *p, size_t bytes)
{
	if (p != NULL)
		munmap(p, st_big_len(bytes));
}
