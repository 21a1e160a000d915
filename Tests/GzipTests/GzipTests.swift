import Foundation
import Gzip
import Testing
import TestSupport

private func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return Array(try Data(contentsOf: url))
}

/// Feeds `bytes` in `pieceSize` pieces and collects the output, checking every chunk's bound.
private func inflateInPieces(
    _ bytes: [UInt8], pieceSize: Int, outputChunkSize: Int = 4096, limits: GzipLimits = .standard
) throws(GzipError) -> [UInt8] {
    let inflater = try GzipInflater(limits: limits, outputChunkSize: outputChunkSize)
    var out = [UInt8]()
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + pieceSize, bytes.count)
        inflater.push(bytes[offset..<end])
        offset = end
        while let chunk = try inflater.next() {
            precondition(chunk.count <= outputChunkSize && !chunk.isEmpty)
            out += chunk
        }
    }
    try inflater.finish()
    return out
}

/// Deterministic, poorly compressible bytes.
private func noise(_ count: Int, seed: UInt64 = 42) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

private func python(_ script: String, stdin: [UInt8]) async throws -> [UInt8] {
    let run = try await runProcess(["python3", "-c", script], stdin: stdin)
    #expect(run.status == 0, "\(run.stderrText)")
    return run.stdout
}

@Suite("Gzip inflate and deflate")
struct GzipTests {
    @Test("Python's gzip output of a fixture decompresses to the original, fed in odd-sized pieces")
    func pythonFixtureDecompresses() throws {
        let expected = try fixture("records.jsonl")
        let compressed = try fixture("records.jsonl.gz")
        for piece in [1, 7, 4096, compressed.count] {
            #expect(try inflateInPieces(compressed, pieceSize: piece) == expected)
        }
    }

    @Test("Compressing at level 9 gives the same deflate stream and trailer as Python's gzip")
    func level9MatchesPython() throws {
        let original = try fixture("records.jsonl")
        let python = try fixture("records.jsonl.gz")
        let ours = try Gzip.compress(original, level: 9)
        #expect(Gzip.hasMagic(ours))
        // The 10-byte headers differ only in the OS byte (Python writes 255 "unknown").
        #expect(Array(ours[10...]) == Array(python[10...]))
        #expect(Array(ours[0..<9]) == Array(python[0..<9]))
    }

    @Test("Python's gzip module reads what we compress")
    func pythonReadsOurs() async throws {
        let original = noise(100_000) + Array(repeating: UInt8(ascii: "a"), count: 50_000)
        let compressed = try Gzip.compress(original)
        let back = try await python("import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))", stdin: compressed)
        #expect(back == original)
    }

    @Test("Round trips through streaming deflate and inflate, for empty, small, random and large inputs")
    func roundTrips() throws {
        for original in [[], Array("x".utf8), noise(1_000), noise(300_000), [UInt8](repeating: 7, count: 2_000_000)] {
            let deflater = try GzipDeflater(level: 1)
            var compressed = [UInt8]()
            var offset = 0
            while offset < original.count {
                let end = min(offset + 65_537, original.count)
                try deflater.update(Array(original[offset..<end]), into: &compressed)
                offset = end
            }
            compressed += try deflater.finish()
            #expect(deflater.totalIn == Int64(original.count))
            #expect(try inflateInPieces(compressed, pieceSize: 10_000, outputChunkSize: 65_536) == original)
        }
    }

    @Test("Concatenated members decompress as one stream, with zero padding skipped")
    func multiMember() throws {
        let expected = try fixture("records.jsonl")
        let twoMembers = try fixture("records-two-members.jsonl.gz")
        #expect(try inflateInPieces(twoMembers, pieceSize: 333) == expected)
        let padded = try Gzip.compress(Array("one\n".utf8)) + [0, 0, 0] + (try Gzip.compress(Array("two\n".utf8))) + [0]
        let inflater = try GzipInflater()
        inflater.push(padded)
        var out = [UInt8]()
        while let chunk = try inflater.next() { out += chunk }
        try inflater.finish()
        #expect(String(decoding: out, as: UTF8.self) == "one\ntwo\n")
        #expect(inflater.membersCompleted == 2)
    }

    @Test("A stream cut short ends with GzipTruncated, never a crash")
    func truncated() throws {
        let compressed = try fixture("records.jsonl.gz")
        for cut in [1, 2, 10, 11, compressed.count / 2, compressed.count - 4, compressed.count - 1] {
            let error = #expect(throws: GzipError.self) {
                try inflateInPieces(Array(compressed[0..<cut]), pieceSize: 512)
            }
            #expect(error?.code == .truncated, "cut at \(cut)")
        }
        // Second member cut short.
        let two = try fixture("records-two-members.jsonl.gz")
        let error = #expect(throws: GzipError.self) { try inflateInPieces(Array(two.dropLast(3)), pieceSize: 512) }
        #expect(error?.code == .truncated)
    }

    @Test("A damaged CRC, damaged deflate data or non-gzip input ends with GzipCorrupt")
    func corrupt() throws {
        var badCRC = try fixture("records.jsonl.gz")
        badCRC[badCRC.count - 6] ^= 0xFF  // CRC-32 is the trailer's first four bytes
        var error = #expect(throws: GzipError.self) { try inflateInPieces(badCRC, pieceSize: 1000) }
        #expect(error?.code == .corrupt)
        #expect(error?.detail.contains("check") == true)

        var badLength = try fixture("records.jsonl.gz")
        badLength[badLength.count - 1] ^= 0x01
        error = #expect(throws: GzipError.self) { try inflateInPieces(badLength, pieceSize: 1000) }
        #expect(error?.code == .corrupt)

        error = #expect(throws: GzipError.self) { try Gzip.decompress(Array("id,name\n1,a\n".utf8)) }
        #expect(error?.code == .corrupt)
        #expect(!Gzip.hasMagic(Array("id,name".utf8)))

        let trailingGarbage = try Gzip.compress(Array("ok".utf8)) + Array("garbage".utf8)
        error = #expect(throws: GzipError.self) { try Gzip.decompress(trailingGarbage) }
        #expect(error?.code == .corrupt)
    }

    @Test("A gzip bomb stops at the expansion-ratio limit, and large output at the output limit")
    func bombLimits() throws {
        // 64 MiB of zeros compresses about 1000:1.
        let deflater = try GzipDeflater(level: 9)
        var bomb = [UInt8]()
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        for _ in 0..<64 { try deflater.update(zeros, into: &bomb) }
        bomb += try deflater.finish()
        #expect(bomb.count < 100_000)

        let inflater = try GzipInflater(outputChunkSize: 64 << 10)
        inflater.push(bomb)
        let error = #expect(throws: GzipError.self) {
            while try inflater.next() != nil {}
        }
        #expect(error?.code == .expansionRatioExceeded)
        #expect(inflater.totalOut < 8 << 20, "stopped early, not after inflating everything")
        // Later calls keep failing the same way.
        #expect(throws: GzipError.self) { try inflater.next() }

        let limited = #expect(throws: GzipError.self) {
            try inflateInPieces(try Gzip.compress(noise(500_000)), pieceSize: 4096, limits: GzipLimits(maxOutputBytes: 100_000))
        }
        #expect(limited?.code == .outputLimitExceeded)
    }

    @Test("Empty input decompresses to nothing, as Python's gzip.decompress(b'') does; an empty member too")
    func emptyInput() throws {
        #expect(try Gzip.decompress([]) == [])
        let emptyMember = try Gzip.compress([])
        #expect(emptyMember.count == 20)
        #expect(try Gzip.decompress(emptyMember) == [])
    }

    @Test("The async adapter streams a body in bounded chunks and reports truncation")
    func asyncSequence() async throws {
        let expected = try fixture("records.jsonl")
        let compressed = try fixture("records.jsonl.gz")
        let pieces = stride(from: 0, to: compressed.count, by: 1000).map { Array(compressed[$0..<min($0 + 1000, compressed.count)]) }
        var out = [UInt8]()
        for try await chunk in GzipInflatingSequence(pieces.async, outputChunkSize: 8192) {
            #expect(chunk.count <= 8192)
            out += chunk
        }
        #expect(out == expected)

        await #expect(throws: GzipError.self) {
            for try await _ in GzipInflatingSequence(pieces.dropLast().async) {}
        }
    }
}

extension Array where Element == [UInt8] {
    fileprivate var async: AsyncStream<[UInt8]> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
