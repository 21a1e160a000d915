/// Column chunk statistics in each type's sort order: signed for integers, dates, timestamps and
/// decimals; numeric (NaN left out, zeros signed as the spec asks) for doubles; unsigned bytewise
/// for strings. A dictionary holds exactly the distinct values written, so it is scanned instead
/// of the values when the chunk is dictionary-encoded.
enum Statistics {
    /// Min/max longer than this are left out, as other writers do, to keep footers small.
    static let maxValueBytes = 4096

    static func compute(_ buffer: ColumnBuffer) -> ChunkStatistics {
        var stats = ChunkStatistics(nullCount: Int64(buffer.nullCount))
        let dictionary = buffer.dictionaryActive
        switch buffer.physical {
        case .boolean:
            if !buffer.bools.isEmpty {
                stats.minValue = [buffer.bools.contains(0) ? 0 : 1]
                stats.maxValue = [buffer.bools.contains(1) ? 1 : 0]
            }
        case .int32:
            let values =
                dictionary
                ? buffer.numericDictionary.values.map { Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) } : buffer.int32s
            if let (low, high) = minMax(values) {
                stats.minValue = littleEndianBytes(low)
                stats.maxValue = littleEndianBytes(high)
            }
        case .int64:
            let values = dictionary ? buffer.numericDictionary.values.map { Int64(bitPattern: $0) } : buffer.int64s
            if let (low, high) = minMax(values) {
                stats.minValue = littleEndianBytes(low)
                stats.maxValue = littleEndianBytes(high)
            }
        case .double:
            let values = dictionary ? buffer.numericDictionary.values.map { Double(bitPattern: $0) } : buffer.doubles
            var nanCount: Int64 = 0
            var low = Double.infinity
            var high = -Double.infinity
            var any = false
            for value in values {
                if value.isNaN {
                    nanCount += 1
                    continue
                }
                any = true
                low = min(low, value)
                high = max(high, value)
            }
            if dictionary {
                // The dictionary holds each NaN pattern once; count them in the data instead.
                nanCount = 0
                let patterns = buffer.numericDictionary.values
                for index in buffer.indices where Double(bitPattern: patterns[Int(index)]).isNaN { nanCount += 1 }
            }
            stats.nanCount = nanCount
            if any {
                if low == 0 { low = -0.0 }
                if high == 0 { high = 0.0 }
                stats.minValue = littleEndianBytes(low.bitPattern)
                stats.maxValue = littleEndianBytes(high.bitPattern)
            }
        case .fixedLenByteArray:
            if let (low, high) = minMax(buffer.wides) {
                stats.minValue = bigEndianBytes(low, length: buffer.fixedLength)
                stats.maxValue = bigEndianBytes(high, length: buffer.fixedLength)
            }
        case .byteArray:
            let (bytes, ends) =
                dictionary ? (buffer.bytesDictionary.bytes, buffer.bytesDictionary.ends) : (buffer.bytes, buffer.ends)
            if let (low, high) = bytesMinMax(bytes, ends), low.count <= maxValueBytes, high.count <= maxValueBytes {
                stats.minValue = low
                stats.maxValue = high
            }
        }
        return stats
    }

    private static func minMax<T: Comparable>(_ values: [T]) -> (T, T)? {
        guard var low = values.first else { return nil }
        var high = low
        for value in values {
            if value < low { low = value }
            if value > high { high = value }
        }
        return (low, high)
    }

    private static func bytesMinMax(_ bytes: [UInt8], _ ends: [Int]) -> ([UInt8], [UInt8])? {
        guard !ends.isEmpty else { return nil }
        return bytes.withUnsafeBufferPointer { all in
            var lowRange = 0..<ends[0]
            var highRange = lowRange
            var start = 0
            for end in ends {
                let value = UnsafeBufferPointer(rebasing: all[start..<end])
                if value.lexicographicallyPrecedes(UnsafeBufferPointer(rebasing: all[lowRange])) { lowRange = start..<end }
                if UnsafeBufferPointer(rebasing: all[highRange]).lexicographicallyPrecedes(value) { highRange = start..<end }
                start = end
            }
            return (Array(all[lowRange]), Array(all[highRange]))
        }
    }

    private static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        var out = [UInt8]()
        appendLittleEndian(value, to: &out)
        return out
    }
}
