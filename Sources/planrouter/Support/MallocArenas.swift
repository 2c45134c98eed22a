#if canImport(Glibc)
import Glibc

/// Caps glibc's malloc arenas for a long-running worker process.
///
/// glibc gives each thread that allocates concurrently an arena of its own (up to
/// 8 × cores); a worker's threads (librdkafka's, libpq callers on the Swift
/// executors, the HTTP event loop) each keep a few MB of freed memory in theirs.
/// Two arenas measured 5–7 MB less peak RSS per worker at no throughput cost
/// (docs/benchmarks.md, `scripts/bench-rss`). An operator's own `MALLOC_ARENA_MAX`
/// wins. `mallopt` is looked up at run time because Swift's Glibc module does not
/// export `<malloc.h>`.
enum MallocArenas {
    static func limit(to arenas: Int32 = 2) {
        // dlsym(nil, …) is dlsym(RTLD_DEFAULT, …) on glibc.
        guard getenv("MALLOC_ARENA_MAX") == nil, let symbol = dlsym(nil, "mallopt") else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mArenaMax, arenas)
    }
}
#else
enum MallocArenas {
    static func limit(to arenas: Int32 = 2) {}
}
#endif
