#if canImport(Glibc)
import Glibc

/// Tunes glibc's malloc for a long-running worker process.
///
/// - **Two arenas.** glibc gives each thread that allocates concurrently an arena of its own
///   (up to 8 × cores); a worker's threads (librdkafka's, libpq callers on the Swift executors,
///   the HTTP event loop) each keep a few MB of freed memory in theirs. Two arenas measured
///   5–7 MB less peak RSS per worker at no throughput cost.
/// - **A fixed mmap threshold (64 KiB) and trim threshold (128 KiB).** glibc raises its mmap
///   threshold each time a large block is freed (up to 32 MB), so a batch's large buffers (query
///   results, array parameters) soon come from the heap, and what they leave there stays
///   resident, scattered between live objects. Fixed, blocks over 64 KiB are mapped and
///   unmapped whole. The offer worker peaked 2.5–3 MB lower at 2,000 and 10,000 locations, at
///   no throughput cost (docs/benchmarks.md, "Scale in locations").
///
/// An operator's own `MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_` or
/// `GLIBC_TUNABLES` wins. `mallopt` is looked up at run time because Swift's Glibc module does
/// not export `<malloc.h>`.
enum MallocArenas {
    static func limit(to arenas: Int32 = 2) {
        // dlsym(nil, …) is dlsym(RTLD_DEFAULT, …) on glibc.
        guard let symbol = dlsym(nil, "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        // Parameter numbers from <malloc.h>.
        let mArenaMax: Int32 = -8
        let mMmapThreshold: Int32 = -3
        let mTrimThreshold: Int32 = -1
        if getenv("MALLOC_ARENA_MAX") == nil { _ = mallopt(mArenaMax, arenas) }
        guard getenv("GLIBC_TUNABLES") == nil else { return }
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil { _ = mallopt(mMmapThreshold, 64 << 10) }
        if getenv("MALLOC_TRIM_THRESHOLD_") == nil { _ = mallopt(mTrimThreshold, 128 << 10) }
    }
}
#else
enum MallocArenas {
    static func limit(to arenas: Int32 = 2) {}
}
#endif
