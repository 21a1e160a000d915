/// Reads `num_rows` from a Parquet file's footer: the last 8 bytes are the footer's length
/// (little-endian) and `PAR1`; the footer is a Thrift compact `FileMetaData` whose field 3 is
/// `num_rows` (i64). Everything else is skipped by type, so any writer's footer reads.
package enum ParquetFooter {
    /// The footer length from the file's last 8 bytes.
    /// - Throws: `LocalStackError` `.parquet` when the magic is missing.
    package static func footerLength(tail: [UInt8]) throws(LocalStackError) -> Int {
        guard tail.count == 8, Array(tail[4...]) == Array("PAR1".utf8) else {
            throw LocalStackError(.parquet, "the file does not end in PAR1 (not Parquet, or cut short)")
        }
        return Int(tail[0]) | Int(tail[1]) << 8 | Int(tail[2]) << 16 | Int(tail[3]) << 24
    }

    /// `num_rows` of a serialized `FileMetaData`.
    package static func numRows(footer: [UInt8]) throws(LocalStackError) -> Int64 {
        var reader = CompactReader(bytes: footer)
        var lastField: Int16 = 0
        while true {
            let header = try reader.byte()
            if header == 0 { break }
            let type = header & 0x0F
            let delta = Int16(header >> 4)
            let field: Int16 = delta == 0 ? Int16(truncatingIfNeeded: try reader.zigzag()) : lastField + delta
            lastField = field
            if field == 3, type == 6 { return try reader.zigzag() }
            try reader.skip(type)
        }
        throw LocalStackError(.parquet, "the footer has no num_rows")
    }
}

/// The few Thrift compact-protocol reads needed to walk a struct.
struct CompactReader {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() throws(LocalStackError) -> UInt8 {
        guard position < bytes.count else { throw LocalStackError(.parquet, "the footer is cut short") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func varint() throws(LocalStackError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return value }
            shift += 7
            guard shift < 64 else { throw LocalStackError(.parquet, "a varint in the footer is too long") }
        }
    }

    mutating func zigzag() throws(LocalStackError) -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    mutating func skip(_ type: UInt8) throws(LocalStackError) {
        switch type {
        case 1, 2: break  // booleans live in the field header
        case 3: _ = try byte()
        case 4, 5, 6: _ = try varint()
        case 7: try advance(8)
        case 8: try advance(Int(try varint()))
        case 9, 10:
            let header = try byte()
            var count = Int(header >> 4)
            if count == 15 { count = Int(try varint()) }
            let element = header & 0x0F
            for _ in 0..<count {
                // Booleans in a list take a byte each.
                if element == 1 || element == 2 { _ = try byte() } else { try skip(element) }
            }
        case 11:
            let count = Int(try varint())
            if count > 0 {
                let types = try byte()
                for _ in 0..<count {
                    try skipValue(types >> 4)
                    try skipValue(types & 0x0F)
                }
            }
        case 12:
            while true {
                let header = try byte()
                if header == 0 { break }
                if header >> 4 == 0 { _ = try varint() }
                try skip(header & 0x0F)
            }
        default:
            throw LocalStackError(.parquet, "unknown Thrift type \(type) in the footer")
        }
    }

    private mutating func skipValue(_ type: UInt8) throws(LocalStackError) {
        if type == 1 || type == 2 { _ = try byte() } else { try skip(type) }
    }

    private mutating func advance(_ count: Int) throws(LocalStackError) {
        guard count >= 0, position + count <= bytes.count else { throw LocalStackError(.parquet, "the footer is cut short") }
        position += count
    }
}
