/// The index of the first byte at or after `start` (and before `end`) that a scan of a JSON
/// string's body must look at one by one: a quote, a backslash, a control character (below 0x20)
/// or a byte of 0x80 and above; `end` when there is none. Eight bytes at a time: in each
/// little-endian word the lowest flagged byte is exact (a borrow only reaches bytes after a
/// flagged one). The record scanner and the OpenSearch stand-in's document check both use it.
@inlinable @inline(__always)
package func firstSpecialStringByte(_ p: UnsafePointer<UInt8>, from start: Int, end: Int) -> Int {
    var i = start
    #if _endian(little)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while i + 8 <= end {
            let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
            let quote = w ^ (ones &* 0x22)
            let backslash = w ^ (ones &* 0x5C)
            let control = (w &- ones &* 0x20) & ~w
            let hasQuote = (quote &- ones) & ~quote
            let hasBackslash = (backslash &- ones) & ~backslash
            let flags = (control | hasQuote | hasBackslash | w) & highs
            if flags != 0 { return i + flags.trailingZeroBitCount >> 3 }
            i += 8
        }
    #endif
    while i < end {
        let c = p[i]
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 || c >= 0x80 { return i }
        i += 1
    }
    return i
}
