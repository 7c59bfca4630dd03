// Why this exists: ranks on one host synchronise through counters in shared
// memory (see Sources/Collectives/MPI/SharedMemoryExchange.swift). Swift's
// atomics live in stored properties; these act on raw addresses, with the
// acquire/release ordering the protocol needs, and inline away.
#ifndef FLOCK_ATOMICS_H
#define FLOCK_ATOMICS_H

#include <stdint.h>

static inline uint64_t flock_load_acquire_u64(const void *p) {
    return __atomic_load_n((const uint64_t *)p, __ATOMIC_ACQUIRE);
}

static inline void flock_store_release_u64(void *p, uint64_t value) {
    __atomic_store_n((uint64_t *)p, value, __ATOMIC_RELEASE);
}

/// A spin-wait hint to the core (x86 `pause`).
static inline void flock_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
