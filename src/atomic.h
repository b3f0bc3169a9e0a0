/*
 * The only file that includes <atomic_ops.h>. Every wrapper names its memory order, so each
 * ordering is visible (and grep-able) where it is used:
 *   _relaxed  atomic, no ordering;
 *   _acquire  later loads and stores stay after it;
 *   _release  earlier loads and stores stay before it;
 *   _full     both acquire and release; on the load (an add of 0) sequentially consistent.
 *             (libatomic_ops' gcc back end makes its _full CAS acquire-release.)
 * Words are AO_t (pointer-sized) or unsigned (32-bit, for futex words).
 */
#ifndef LC_SRC_ATOMIC_H
#define LC_SRC_ATOMIC_H

#include <atomic_ops.h>
#include <stdbool.h>
#include <stdint.h>

typedef AO_t lc__word;

_Static_assert(sizeof(AO_t) == sizeof(void *), "AO_t must hold a pointer");
_Static_assert(sizeof(AO_t) == 8, "the packed state word needs a 64-bit AO_t");
/* lc_node's link word is a uintptr_t so that it can be used as an AO_t without aliasing tricks. */
_Static_assert(_Generic((AO_t)0, uintptr_t: 1, default: 0), "AO_t must be uintptr_t");

static inline lc__word lc__load_relaxed(const volatile lc__word *p) { return AO_load(p); }
static inline lc__word lc__load_acquire(const volatile lc__word *p) { return AO_load_acquire(p); }
static inline void lc__store_relaxed(volatile lc__word *p, lc__word v) { AO_store(p, v); }
static inline void lc__store_release(volatile lc__word *p, lc__word v) { AO_store_release(p, v); }

/* Compare-and-swap: true if *p was old and is now new. */
static inline bool lc__cas_full(volatile lc__word *p, lc__word old, lc__word new_)
{
    return AO_compare_and_swap_full(p, old, new_) != 0;
}

static inline bool lc__cas_acquire(volatile lc__word *p, lc__word old, lc__word new_)
{
    return AO_compare_and_swap_acquire(p, old, new_) != 0;
}

static inline bool lc__cas_release(volatile lc__word *p, lc__word old, lc__word new_)
{
    return AO_compare_and_swap_release(p, old, new_) != 0;
}

/* Returns the value seen: the swap happened if it equals old. A failed one still reads with
 * acquire (libatomic_ops' _full CAS: acquire on failure). */
static inline lc__word lc__fetch_cas_full(volatile lc__word *p, lc__word old, lc__word new_)
{
    return AO_fetch_compare_and_swap_full(p, old, new_);
}

static inline unsigned lc__load_u32_acquire(const volatile unsigned *p)
{
    return AO_int_load_acquire(p);
}

static inline void lc__store_u32_release(volatile unsigned *p, unsigned v)
{
    AO_int_store_release(p, v);
}

/* Returns the value seen: the swap happened if it equals old. */
static inline unsigned lc__fetch_cas_u32_acquire(volatile unsigned *p, unsigned old, unsigned new_)
{
    return AO_int_fetch_compare_and_swap_acquire(p, old, new_);
}

/* Adds one, wrapping; a CAS loop. release: what the caller wrote before is visible to the
 * thread that loads the new value with acquire. */
static inline void lc__inc_u32_release(volatile unsigned *p)
{
    unsigned old = AO_int_load(p);
    for (;;) {
        unsigned seen = AO_int_fetch_compare_and_swap_release(p, old, old + 1u);
        if (seen == old)
            return;
        old = seen;
    }
}

/* A load that is also a full barrier: earlier stores of this thread are ordered before it (the
 * one ordering that acquire and release do not give). Done as a read-modify-write that adds 0,
 * which costs what a fence costs and, unlike a fence, ThreadSanitizer understands. */
static inline lc__word lc__load_full(volatile lc__word *p) { return AO_fetch_and_add_full(p, 0); }

/* A hint for a spin-wait loop. */
static inline void lc__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#else
    AO_compiler_barrier();
#endif
}

#endif /* LC_SRC_ATOMIC_H */
