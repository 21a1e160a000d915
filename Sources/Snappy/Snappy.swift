/// Raw Snappy block format (no framing): a varint of the uncompressed length, then literals and
/// back-references. The compressor works on 64 KiB blocks with a hash table of 4-byte windows, so
/// every copy fits the one- or two-byte offset forms; the decompressor accepts every valid stream.
package enum Snappy {
    /// Bytes the compressor works on at a time; offsets never reach back further.
    static let blockSize = 1 << 16
    /// The hash table holds at most this many entries (16 K).
    static let maxTableBits = 14
    /// No match search within this many bytes of a block's end (so 8-byte loads stay in bounds).
    static let inputMargin = 15

    /// The most bytes `compress` can produce for `count` input bytes.
    package static func maxCompressedLength(_ count: Int) -> Int { 32 + count + count / 6 }

    /// Compresses `input` into a raw Snappy block.
    package static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { compress($0) }
    }

    /// Compresses `input` into a raw Snappy block.
    package static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let capacity = maxCompressedLength(input.count)
        return [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            initialized = compress(input, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Compresses `input` into `output`, which must hold `maxCompressedLength(input.count)` bytes.
    /// - Returns: how many bytes were written.
    package static func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        precondition(output.count >= maxCompressedLength(input.count), "Snappy output buffer too small")
        guard let dst = output.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var out = 0
        var length = UInt64(input.count)
        while length >= 0x80 {
            dst[out] = UInt8(truncatingIfNeeded: length) | 0x80
            length >>= 7
            out += 1
        }
        dst[out] = UInt8(length)
        out += 1
        guard let src = input.baseAddress?.assumingMemoryBound(to: UInt8.self), input.count > 0 else { return out }
        let table = UnsafeMutablePointer<UInt16>.allocate(capacity: 1 << maxTableBits)
        defer { table.deallocate() }
        var start = 0
        while start < input.count {
            let count = min(blockSize, input.count - start)
            out += compressBlock(src + start, count: count, dst: dst + out, table: table)
            start += count
        }
        return out
    }

    @inline(__always)
    static func load32(_ p: UnsafePointer<UInt8>) -> UInt32 {
        UInt32(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
    }

    @inline(__always)
    static func load64(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    }

    /// Compresses one block of at most 64 KiB; returns the bytes written to `dst`.
    static func compressBlock(
        _ src: UnsafePointer<UInt8>, count: Int, dst: UnsafeMutablePointer<UInt8>, table: UnsafeMutablePointer<UInt16>
    ) -> Int {
        var out = 0
        if count < inputMargin + 1 {
            emitLiteral(src, count: count, dst: dst, out: &out)
            return out
        }
        var tableBits = 8
        while tableBits < maxTableBits && (1 << tableBits) < count { tableBits += 1 }
        table.initialize(repeating: 0, count: 1 << tableBits)
        let shift = UInt32(32 - tableBits)
        @inline(__always) func hash(_ value: UInt32) -> Int { Int((value &* 0x1E35_A7BD) >> shift) }

        let ipLimit = count - inputMargin
        var nextEmit = 0
        var ip = 1
        outer: while true {
            // Look for a 4-byte match, skipping faster through data that does not compress.
            var skip = 32
            var nextIp = ip
            var candidate = 0
            repeat {
                ip = nextIp
                let step = skip >> 5
                skip += 1
                nextIp = ip + step
                if nextIp > ipLimit { break outer }
                let h = hash(load32(src + ip))
                candidate = Int(table[h])
                table[h] = UInt16(truncatingIfNeeded: ip)
            } while load32(src + ip) != load32(src + candidate)

            emitLiteral(src + nextEmit, count: ip - nextEmit, dst: dst, out: &out)

            // Emit copies for as long as the next position matches straight away.
            repeat {
                let base = ip
                let matched = 4 + matchLength(src + candidate + 4, src + ip + 4, limit: src + count)
                ip += matched
                emitCopy(offset: base - candidate, length: matched, dst: dst, out: &out)
                nextEmit = ip
                if ip >= ipLimit { break outer }
                table[hash(load32(src + ip - 1))] = UInt16(truncatingIfNeeded: ip - 1)
                let h = hash(load32(src + ip))
                candidate = Int(table[h])
                table[h] = UInt16(truncatingIfNeeded: ip)
            } while load32(src + ip) == load32(src + candidate)
            ip += 1
        }
        if nextEmit < count {
            emitLiteral(src + nextEmit, count: count - nextEmit, dst: dst, out: &out)
        }
        return out
    }

    /// How many bytes at `a` and `b` agree, stopping at `limit` (which bounds `b`).
    @inline(__always)
    static func matchLength(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, limit: UnsafePointer<UInt8>) -> Int {
        var matched = 0
        while b + matched + 8 <= limit {
            let diff = load64(a + matched) ^ load64(b + matched)
            if diff != 0 { return matched + diff.trailingZeroBitCount >> 3 }
            matched += 8
        }
        while b + matched < limit && a[matched] == b[matched] { matched += 1 }
        return matched
    }

    @inline(__always)
    static func emitLiteral(_ src: UnsafePointer<UInt8>, count: Int, dst: UnsafeMutablePointer<UInt8>, out: inout Int) {
        guard count > 0 else { return }
        let n = count - 1
        if n < 60 {
            dst[out] = UInt8(n << 2)
            out += 1
        } else {
            var bytes = 1
            while bytes < 4 && n >= 1 << (8 * bytes) { bytes += 1 }
            dst[out] = UInt8((59 + bytes) << 2)
            out += 1
            for i in 0..<bytes { dst[out + i] = UInt8(truncatingIfNeeded: n >> (8 * i)) }
            out += bytes
        }
        (dst + out).update(from: src, count: count)
        out += count
    }

    @inline(__always)
    static func emitCopy(offset: Int, length: Int, dst: UnsafeMutablePointer<UInt8>, out: inout Int) {
        var length = length
        while length >= 68 {
            emitCopy2(offset: offset, length: 64, dst: dst, out: &out)
            length -= 64
        }
        if length > 64 {
            emitCopy2(offset: offset, length: 60, dst: dst, out: &out)
            length -= 60
        }
        if length < 12 && offset < 2048 {
            dst[out] = UInt8(1 | ((length - 4) << 2) | ((offset >> 8) << 5))
            dst[out + 1] = UInt8(truncatingIfNeeded: offset)
            out += 2
        } else {
            emitCopy2(offset: offset, length: length, dst: dst, out: &out)
        }
    }

    @inline(__always)
    static func emitCopy2(offset: Int, length: Int, dst: UnsafeMutablePointer<UInt8>, out: inout Int) {
        dst[out] = UInt8(2 | ((length - 1) << 2))
        dst[out + 1] = UInt8(truncatingIfNeeded: offset)
        dst[out + 2] = UInt8(truncatingIfNeeded: offset >> 8)
        out += 3
    }

    // MARK: Decompression

    /// The uncompressed length a raw Snappy block announces.
    /// - Throws: `SnappyError` when the length varint is malformed.
    package static func uncompressedLength(_ input: [UInt8]) throws(SnappyError) -> Int {
        var index = 0
        return try readLength(input, &index)
    }

    static func readLength(_ input: [UInt8], _ index: inout Int) throws(SnappyError) -> Int {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < input.count else { throw SnappyError(.truncated, offset: index) }
            let byte = input[index]
            index += 1
            guard shift < 32 else { throw SnappyError(.lengthTooLarge, offset: index - 1) }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        guard result <= UInt64(UInt32.max) else { throw SnappyError(.lengthTooLarge, offset: 0) }
        return Int(result)
    }

    /// Decompresses a raw Snappy block, checking every length and offset.
    /// - Throws: `SnappyError` when the block is truncated, refers outside its output, or does not
    ///   produce exactly the announced length.
    package static func decompress(_ input: [UInt8]) throws(SnappyError) -> [UInt8] {
        var index = 0
        let length = try readLength(input, &index)
        var output = [UInt8]()
        output.reserveCapacity(length)
        while index < input.count {
            let tag = input[index]
            let tagOffset = index
            index += 1
            switch tag & 3 {
            case 0:
                var n = Int(tag >> 2)
                if n >= 60 {
                    let bytes = n - 59
                    guard index + bytes <= input.count else { throw SnappyError(.truncated, offset: tagOffset) }
                    n = 0
                    for i in 0..<bytes { n |= Int(input[index + i]) << (8 * i) }
                    index += bytes
                }
                n += 1
                guard index + n <= input.count else { throw SnappyError(.truncated, offset: tagOffset) }
                guard output.count + n <= length else { throw SnappyError(.lengthMismatch, offset: tagOffset) }
                output.append(contentsOf: input[index..<(index + n)])
                index += n
            case 1:
                guard index < input.count else { throw SnappyError(.truncated, offset: tagOffset) }
                let n = 4 + Int((tag >> 2) & 7)
                let offset = Int(tag >> 5) << 8 | Int(input[index])
                index += 1
                try copy(&output, offset: offset, count: n, limit: length, at: tagOffset)
            case 2:
                guard index + 2 <= input.count else { throw SnappyError(.truncated, offset: tagOffset) }
                let n = 1 + Int(tag >> 2)
                let offset = Int(input[index]) | Int(input[index + 1]) << 8
                index += 2
                try copy(&output, offset: offset, count: n, limit: length, at: tagOffset)
            default:
                guard index + 4 <= input.count else { throw SnappyError(.truncated, offset: tagOffset) }
                let n = 1 + Int(tag >> 2)
                var offset = 0
                for i in 0..<4 { offset |= Int(input[index + i]) << (8 * i) }
                index += 4
                try copy(&output, offset: offset, count: n, limit: length, at: tagOffset)
            }
        }
        guard output.count == length else { throw SnappyError(.lengthMismatch, offset: input.count) }
        return output
    }

    static func copy(_ output: inout [UInt8], offset: Int, count: Int, limit: Int, at tag: Int) throws(SnappyError) {
        guard offset > 0, offset <= output.count else { throw SnappyError(.badOffset, offset: tag) }
        guard output.count + count <= limit else { throw SnappyError(.lengthMismatch, offset: tag) }
        let start = output.count - offset
        // Byte by byte: a copy may overlap the bytes it produces (a run).
        for i in 0..<count { output.append(output[start + i]) }
    }
}

/// Why a Snappy block could not be decompressed, with the input offset where it went wrong.
package struct SnappyError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Code: String, Sendable, Hashable {
        case truncated = "SnappyTruncated"
        case badOffset = "SnappyBadOffset"
        case lengthMismatch = "SnappyLengthMismatch"
        case lengthTooLarge = "SnappyLengthTooLarge"
    }

    package var code: Code
    package var offset: Int

    package init(_ code: Code, offset: Int) {
        self.code = code
        self.offset = offset
    }

    package var description: String {
        switch code {
        case .truncated: "Snappy block ends inside an element (at byte \(offset))"
        case .badOffset: "Snappy copy refers before the start of the output (element at byte \(offset))"
        case .lengthMismatch: "Snappy block does not produce the length it announces (at byte \(offset))"
        case .lengthTooLarge: "Snappy length preamble is malformed or too large (at byte \(offset))"
        }
    }
}
