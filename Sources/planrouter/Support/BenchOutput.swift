import Foundation

/// Prints a bench's line and flushes it: redirected to a file, stdout is block-buffered, and a
/// bench whose figures sat in the buffer while it polled on for minutes looked wedged.
func benchPrint(_ line: String) {
    print(line)
    fflush(nil)
}
