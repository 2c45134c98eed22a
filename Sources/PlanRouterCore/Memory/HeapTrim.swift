#if canImport(Glibc)
import Glibc
#endif

/// `malloc_trim(0)` where the C library has it (glibc), looked up at run time like the CLI's
/// `mallopt` so no C declaration is needed; a no-op elsewhere.
///
/// glibc keeps the heap that a burst of work grew and reuses it, but returns only the top of
/// it to the system on its own. Callers trim after such a burst (a crowd of HTTP connections
/// gone, a large consumer batch committed), never per request or per event.
public enum HeapTrim {
    #if canImport(Glibc)
    private typealias MallocTrim = @convention(c) (Int) -> Int32
    // dlsym(nil, …) is dlsym(RTLD_DEFAULT, …) on glibc; nil on a C library without it.
    private static let trim: MallocTrim? = dlsym(nil, "malloc_trim").map { unsafeBitCast($0, to: MallocTrim.self) }

    public static func returnFreePages() { _ = trim?(0) }
    #else
    public static func returnFreePages() {}
    #endif
}
