import Snappy

/// The codecs the writer can compress pages with (the values are the Thrift enum's).
package enum ParquetCompression: Int32, Sendable, Hashable {
    case uncompressed = 0
    case snappy = 1
}

/// Min/max (plain-encoded, byte arrays without their length) and counts of one column chunk.
struct ChunkStatistics: Sendable, Hashable {
    var nullCount: Int64
    var minValue: [UInt8]?
    var maxValue: [UInt8]?
    /// Only for doubles.
    var nanCount: Int64?
}

/// What the footer records of one written column chunk.
struct ColumnChunkMetadata: Sendable {
    var physical: PhysicalType
    var encodings: [Encoding]
    var path: String
    var codec: ParquetCompression
    var numValues: Int64
    var totalUncompressedSize: Int64
    var totalCompressedSize: Int64
    var dataPageOffset: Int64
    var dictionaryPageOffset: Int64?
    var statistics: ChunkStatistics
}

/// Turns a column buffer into a column chunk: an optional dictionary page, then data pages (v1)
/// of about `pageBytes` each, compressed with the chosen codec. Scratch buffers are kept between
/// chunks so a row group's flush allocates little.
struct ChunkEncoder {
    let codec: ParquetCompression
    let pageBytes: Int
    private var page: [UInt8] = []
    private var compressed: [UInt8] = []
    private var levelScratch: [UInt8] = []

    init(codec: ParquetCompression, pageBytes: Int) {
        self.codec = codec
        self.pageBytes = pageBytes
    }

    /// Encodes `buffer` as a column chunk that will start at `fileOffset`.
    mutating func encode(_ buffer: ColumnBuffer, fileOffset: Int64) -> (bytes: [UInt8], metadata: ColumnChunkMetadata) {
        var out = [UInt8]()
        out.reserveCapacity(buffer.estimatedBytes / 2 + 1024)
        var uncompressedTotal = 0
        let useDictionary = buffer.dictionaryActive && buffer.dictionaryCount > 0
        var dictionaryOffset: Int64? = nil
        if useDictionary {
            dictionaryOffset = fileOffset
            page.removeAll(keepingCapacity: true)
            Self.encodeDictionary(buffer, into: &page)
            uncompressedTotal += writePage(
                type: 2, into: &out,
                header: { header in
                    header.structBegin(7)  // dictionary_page_header
                    header.i32(1, Int32(buffer.dictionaryCount))
                    header.i32(2, Encoding.plain.rawValue)
                    header.structEnd()
                })
        }
        let dataOffset = fileOffset + Int64(out.count)
        let valueEncoding: Encoding = useDictionary ? .rleDictionary : .plain
        let rowsPerPage = max(1, pageBytes / max(1, buffer.estimatedBytes / max(1, buffer.rows)))
        var row = 0
        var value = 0
        repeat {
            let end = min(buffer.rows, row + rowsPerPage)
            var values = end - row
            page.removeAll(keepingCapacity: true)
            if buffer.column.nullable {
                values = Self.countPresent(buffer.levels, row..<end)
                Self.encodeLevels(buffer.levels, row..<end, into: &page)
            }
            Self.encodeValues(buffer, value..<(value + values), dictionary: useDictionary, into: &page)
            let pageRows = end - row
            uncompressedTotal += writePage(
                type: 0, into: &out,
                header: { header in
                    header.structBegin(5)  // data_page_header
                    header.i32(1, Int32(pageRows))
                    header.i32(2, valueEncoding.rawValue)
                    header.i32(3, Encoding.rle.rawValue)
                    header.i32(4, Encoding.rle.rawValue)
                    header.structEnd()
                })
            row = end
            value += values
        } while row < buffer.rows
        let encodings: [Encoding] = useDictionary ? [.plain, .rle, .rleDictionary] : [.plain, .rle]
        let metadata = ColumnChunkMetadata(
            physical: buffer.physical, encodings: encodings, path: buffer.column.name, codec: codec,
            numValues: Int64(buffer.rows), totalUncompressedSize: Int64(uncompressedTotal),
            totalCompressedSize: Int64(out.count), dataPageOffset: dataOffset, dictionaryPageOffset: dictionaryOffset,
            statistics: Statistics.compute(buffer))
        return (out, metadata)
    }

    /// Compresses `page`, then appends its header and body to `out`.
    /// - Returns: the uncompressed size of header and body.
    private mutating func writePage(
        type: Int32, into out: inout [UInt8], header fill: (inout ThriftCompactWriter) -> Void
    ) -> Int {
        var bodyCount = page.count
        if codec == .snappy {
            let capacity = Snappy.maxCompressedLength(page.count)
            if compressed.count < capacity { compressed = [UInt8](repeating: 0, count: capacity) }
            bodyCount = page.withUnsafeBytes { input in
                compressed.withUnsafeMutableBytes { output in Snappy.compress(input, into: output) }
            }
        }
        var header = ThriftCompactWriter()
        header.i32(1, type)
        header.i32(2, Int32(page.count))
        header.i32(3, Int32(bodyCount))
        fill(&header)
        let headerBytes = header.finish()
        out.append(contentsOf: headerBytes)
        switch codec {
        case .snappy: out.append(contentsOf: compressed[0..<bodyCount])
        case .uncompressed: out.append(contentsOf: page)
        }
        return headerBytes.count + page.count
    }

    private static func countPresent(_ levels: [UInt8], _ range: Range<Int>) -> Int {
        var count = 0
        for i in range { count &+= Int(levels[i]) }
        return count
    }

    /// Definition levels (bit width 1) with their 4-byte length prefix.
    private static func encodeLevels(_ levels: [UInt8], _ range: Range<Int>, into out: inout [UInt8]) {
        let lengthAt = out.count
        out.append(contentsOf: [0, 0, 0, 0])
        let start = out.count
        if countPresent(levels, range) == range.count {
            Hybrid.repeatRun(1, count: range.count, bitWidth: 1, into: &out)
        } else {
            levels.withUnsafeBufferPointer { all in
                Hybrid.encode(UnsafeBufferPointer(rebasing: all[range]), bitWidth: 1, into: &out)
            }
        }
        let length = UInt32(out.count - start)
        for i in 0..<4 { out[lengthAt + i] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(i))) }
    }

    private static func encodeDictionary(_ buffer: ColumnBuffer, into out: inout [UInt8]) {
        switch buffer.physical {
        case .int32:
            for pattern in buffer.numericDictionary.values { appendLittleEndian(UInt32(truncatingIfNeeded: pattern), to: &out) }
        case .int64, .double:
            appendRaw(buffer.numericDictionary.values[...], to: &out)
        case .byteArray:
            let dictionary = buffer.bytesDictionary
            out.reserveCapacity(out.count + dictionary.bytes.count + 4 * dictionary.count)
            var start = 0
            for end in dictionary.ends {
                appendLittleEndian(UInt32(end - start), to: &out)
                out.append(contentsOf: dictionary.bytes[start..<end])
                start = end
            }
        case .boolean, .fixedLenByteArray:
            break
        }
    }

    private static func encodeValues(_ buffer: ColumnBuffer, _ range: Range<Int>, dictionary: Bool, into out: inout [UInt8]) {
        if dictionary {
            let bitWidth = buffer.indexBitWidth
            out.append(UInt8(bitWidth))
            buffer.indices.withUnsafeBufferPointer { all in
                Hybrid.encode(UnsafeBufferPointer(rebasing: all[range]), bitWidth: bitWidth, into: &out)
            }
            return
        }
        switch buffer.physical {
        case .boolean:
            var byte: UInt8 = 0
            var bit = 0
            for i in range {
                byte |= buffer.bools[i] << UInt8(bit)
                bit += 1
                if bit == 8 {
                    out.append(byte)
                    byte = 0
                    bit = 0
                }
            }
            if bit > 0 { out.append(byte) }
        case .int32: appendRaw(buffer.int32s[range], to: &out)
        case .int64: appendRaw(buffer.int64s[range], to: &out)
        case .double: appendRaw(buffer.doubles[range], to: &out)
        case .fixedLenByteArray:
            for i in range { appendBigEndian(buffer.wides[i], length: buffer.fixedLength, to: &out) }
        case .byteArray:
            guard !range.isEmpty else { return }
            let first = range.lowerBound == 0 ? 0 : buffer.ends[range.lowerBound - 1]
            out.reserveCapacity(out.count + buffer.ends[range.upperBound - 1] - first + 4 * range.count)
            buffer.bytes.withUnsafeBufferPointer { bytes in
                var start = first
                for i in range {
                    let end = buffer.ends[i]
                    appendLittleEndian(UInt32(end - start), to: &out)
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<end]))
                    start = end
                }
            }
        }
    }
}
