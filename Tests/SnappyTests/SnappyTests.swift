import Foundation
import Primitives
import Snappy
import Testing

enum Samples {
    static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Text-like data: words from a small vocabulary, so there are many matches at many distances.
    static func text(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        let words = ["order", "customer", "2024-05-24", "EUR", "quantity", "shipped", " ", "\n", "{\"id\":", "Zürich"]
            .map { Array($0.utf8) }
        var out = [UInt8]()
        out.reserveCapacity(count + 16)
        while out.count < count { out += words[Int.random(in: 0..<words.count, using: &rng)] }
        return Array(out.prefix(count))
    }

    static let edgeSizes = [0, 1, 2, 3, 4, 5, 15, 16, 17, 59, 60, 61, 64, 65, 255, 256, 257, 4095, 65535, 65536, 65537, 200_000]
}

@Suite("Snappy block compression")
struct SnappyTests {
    @Test("Random, text-like and constant data of edge sizes round-trip", arguments: Samples.edgeSizes)
    func roundTrip(size: Int) throws {
        for input in [Samples.random(size, seed: UInt64(size)), Samples.text(size, seed: 7), [UInt8](repeating: 0x61, count: size)] {
            let compressed = Snappy.compress(input)
            #expect(compressed.count <= Snappy.maxCompressedLength(size))
            #expect(try Snappy.uncompressedLength(compressed) == size)
            #expect(try Snappy.decompress(compressed) == input)
        }
    }

    @Test("Compressible data shrinks and incompressible data stays within the bound")
    func ratios() throws {
        let text = Samples.text(1 << 20, seed: 1)
        let constant = [UInt8](repeating: 0, count: 1 << 20)
        let random = Samples.random(1 << 20, seed: 2)
        #expect(Snappy.compress(text).count < text.count / 3)
        #expect(Snappy.compress(constant).count < constant.count / 20)
        let packed = Snappy.compress(random)
        #expect(packed.count > random.count)
        #expect(packed.count <= Snappy.maxCompressedLength(random.count))
    }

    @Test("Long literals and long copies use the multi-byte forms correctly")
    func longForms() throws {
        // A 70 000-byte random prefix forces 3-byte literal lengths; repeating it forces copies of 64.
        let prefix = Samples.random(70_000, seed: 3)
        let input = prefix + prefix.prefix(60_000) + Samples.text(5000, seed: 4)
        #expect(try Snappy.decompress(Snappy.compress(input)) == input)
    }

    @Test(
        "Malformed blocks are typed errors",
        arguments: [
            ([UInt8](), SnappyError.Code.truncated),
            ([0x80], .truncated),
            ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], .lengthTooLarge),
            ([0x05, 0x08, 0x61], .truncated),  // a literal of 3 with one byte present
            ([0x04, 0x01, 0x01], .badOffset),  // a copy before any output
            ([0x03, 0x04, 0x61, 0x62], .lengthMismatch),  // announces 3, produces 2
            ([0x01, 0x04, 0x61, 0x62], .lengthMismatch),  // announces 1, literal of 2
        ])
    func malformed(bytes: [UInt8], code: SnappyError.Code) {
        #expect {
            try Snappy.decompress(bytes)
        } throws: { error in
            (error as? SnappyError)?.code == code
        }
    }

    @Test("A hand-made block with a literal and an overlapping copy decodes")
    func handMade() throws {
        // length 6; literal "ab"; copy-1 of 4 at offset 2 -> "ababab"
        #expect(try Snappy.decompress([0x06, 0x04, 0x61, 0x62, 0x01, 0x02]) == Array("ababab".utf8))
    }

    @Test("Google's snappy (through cramjam) reads our blocks, and we read its blocks")
    func crossCheck() throws {
        let inputs = [Samples.text(300_000, seed: 9), Samples.random(70_000, seed: 10), Samples.text(17, seed: 11), []]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("snappy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for (index, input) in inputs.enumerated() {
            try Data(input).write(to: directory.appendingPathComponent("\(index).raw"))
            try Data(Snappy.compress(input)).write(to: directory.appendingPathComponent("\(index).ours"))
        }
        let script = """
            import sys, os
            try:
                import cramjam
            except ImportError:
                sys.exit("cramjam is not installed: pip install -r scripts/requirements.txt")
            d = sys.argv[1]
            for i in range(\(inputs.count)):
                raw = open(os.path.join(d, f"{i}.raw"), "rb").read()
                ours = open(os.path.join(d, f"{i}.ours"), "rb").read()
                if bytes(cramjam.snappy.decompress_raw(ours)) != raw:
                    sys.exit(f"cramjam decoded sample {i} differently")
                open(os.path.join(d, f"{i}.theirs"), "wb").write(bytes(cramjam.snappy.compress_raw(raw)))
            print("ok")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, directory.path]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "python3 cross-check failed: \(complaint)")
        #expect(printed.hasPrefix("ok"))
        for (index, input) in inputs.enumerated() {
            let theirs = try Data(contentsOf: directory.appendingPathComponent("\(index).theirs"))
            #expect(try Snappy.decompress(Array(theirs)) == input)
        }
    }
}
