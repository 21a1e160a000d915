#define _GNU_SOURCE 1
#include "glibc_compat.h"

/* glibc 2.35 added new versions of hypot and hypotf (hypot@GLIBC_2.35, hypotf@GLIBC_2.35). A
   static Swift runtime linked on a newer glibc references those versions, which Lambda's
   provided.al2023 (glibc 2.34) lacks, so the binary would not load there. Defining the two
   functions here, forwarding to their older versions (present in every glibc since 2.2.5),
   keeps the binary's highest required version at 2.34. The results are the same: only the
   errno handling of the wrappers changed between the versions. */
extern double pipeline_hypot_compat(double x, double y);
extern float pipeline_hypotf_compat(float x, float y);
__asm__(".symver pipeline_hypot_compat,hypot@GLIBC_2.2.5");
__asm__(".symver pipeline_hypotf_compat,hypotf@GLIBC_2.2.5");

double hypot(double x, double y) { return pipeline_hypot_compat(x, y); }
float hypotf(float x, float y) { return pipeline_hypotf_compat(x, y); }

int pipeline_glibc_compat_anchor(void) { return 0; }

/* Allocations of 1 MiB and more (bulk bodies, uploads) get mappings of their own, returned to the
   system when freed. By default glibc raises its mmap threshold to the largest block freed so far
   (up to 32 MiB); such buffers are then carved from the heaps of whichever threads allocate them,
   and a long stream of them leaves freed but resident pages behind, so a bootstrap's peak RSS grew
   with the size of the file it streamed. Setting the threshold turns that adjustment off. Below it
   stay the buffers that come and go by the hundred (libcurl's 512 KiB body chunks, bulk answers):
   reused from the heap, they are not pages faulted in afresh each time (a 128 MiB file was 13,000
   fewer page faults), and there are never more of them at once than the transport buffers. It runs
   before main in every binary that links this target. */
#if defined(__linux__)
#include <malloc.h>
#if defined(M_MMAP_THRESHOLD)
__attribute__((constructor)) static void pipeline_bound_malloc_retention(void) { mallopt(M_MMAP_THRESHOLD, 1 << 20); }
#endif
#endif

/* Release bootstraps link libgcc's unwinder (libgcc_eh.a) and libstdc++ statically, so that they
   need no shared library besides glibc's. Built on glibc 2.35 or later, those archives reference
   two functions Lambda's glibc 2.34 lacks: _dl_find_object (2.35; the unwinder's FDE lookup) and
   arc4random (2.36; std::random_device). The hidden definitions below satisfy those references at
   link time with code that only uses older interfaces, and are never exported. */
#if defined(__linux__)
#include <features.h>
#endif
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 35)
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <errno.h>

struct pipeline_find_request {
    uintptr_t pc;
    struct dl_find_object *result;
    int found;
};

static int pipeline_find_object_callback(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct pipeline_find_request *request = data;
    uintptr_t start = UINTPTR_MAX, end = 0, eh_frame = 0;
    int contains = 0;
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        uintptr_t from = info->dlpi_addr + segment->p_vaddr;
        if (segment->p_type == PT_LOAD) {
            uintptr_t to = from + segment->p_memsz;
            if (from < start) start = from;
            if (to > end) end = to;
            if (request->pc >= from && request->pc < to) contains = 1;
        } else if (segment->p_type == PT_GNU_EH_FRAME) {
            eh_frame = from;
        }
    }
    if (!contains) return 0;
    memset(request->result, 0, sizeof *request->result);
    request->result->dlfo_map_start = (void *)start;
    request->result->dlfo_map_end = (void *)end;
    request->result->dlfo_eh_frame = (void *)eh_frame;
    request->found = 1;
    return 1;
}

/* _dl_find_object's contract (glibc 2.35): 0 and *result filled when pc lies in a loaded object,
   -1 otherwise. dlfo_link_map stays NULL: libgcc's unwinder reads only the map range and the
   PT_GNU_EH_FRAME address. */
__attribute__((visibility("hidden"))) int _dl_find_object(void *pc, struct dl_find_object *result) {
    struct pipeline_find_request request = {(uintptr_t)pc, result, 0};
    dl_iterate_phdr(pipeline_find_object_callback, &request);
    return request.found ? 0 : -1;
}

__attribute__((visibility("hidden"))) uint32_t arc4random(void) {
    uint32_t value;
    while (getrandom(&value, sizeof value, 0) != (ssize_t)sizeof value) {
        /* getrandom blocks until the pool is seeded and reads 4 bytes whole; retry on EINTR. */
    }
    return value;
}

__attribute__((visibility("hidden"))) void arc4random_buf(void *buffer, size_t length) {
    unsigned char *bytes = buffer;
    while (length > 0) {
        ssize_t got = getrandom(bytes, length, 0);
        if (got > 0) {
            bytes += got;
            length -= (size_t)got;
        }
    }
}

__attribute__((visibility("hidden"))) uint32_t arc4random_uniform(uint32_t bound) {
    if (bound < 2) return 0;
    uint32_t floor = -bound % bound; /* 2^32 mod bound: values below it would bias the result */
    for (;;) {
        uint32_t value = arc4random();
        if (value >= floor) return value % bound;
    }
}
#endif
