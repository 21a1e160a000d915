import Foundation
import JSONCodec
@testable import OpenSearchStandIn
import Testing

/// The bulk path's one-pass readers against the tree path they stand in for: `DocumentCheck`
/// against `JSONParser` plus `Mapping.applying`, `ActionLine` against the parsed action line. A
/// fast answer must always be the tree's answer; on plain documents (ASCII, no escapes) the two
/// must agree both ways, so the fast path is really taken.
@Suite("OpenSearch stand-in: one-pass bulk readers agree with the parser")
struct DocumentCheckTests {
    /// The tree path's verdict: a JSON object whose values fit the mapping without changing it.
    static func treeFits(_ document: [UInt8], _ mapping: Mapping) -> Bool {
        guard let object = try? JSONParser.parse(document).objectValue else { return false }
        do {
            return try mapping.applying(object, id: "doc") == nil
        } catch {
            return false
        }
    }

    static func fastFits(_ document: [UInt8], _ mapping: Mapping) -> Bool {
        document.withUnsafeBufferPointer { DocumentCheck.fits($0, mapping.fields) }
    }

    static func isPlain(_ document: [UInt8]) -> Bool { document.allSatisfy { $0 < 0x80 && $0 != UInt8(ascii: "\\") } }

    /// Every document line of the recorded bulk bodies.
    static func fixtureDocuments() throws -> [[UInt8]] {
        var documents: [[UInt8]] = []
        for name in ["bulk-1.ndjson", "bulk-2.ndjson"] {
            let lines = try StandInBulkDocumentTests.fixture(name).split(separator: 0x0A, omittingEmptySubsequences: false)
            var index = 0
            while index + 1 < lines.count {
                let action = try? JSONParser.parse(lines[index])
                index += 1
                guard let action, action["delete"] == nil else { continue }
                documents.append(Array(lines[index]))
                index += 1
            }
        }
        return documents
    }

    /// The mappings the documents meet: dynamic (after the first document of each shape) and explicit.
    static func mappings() throws -> [Mapping] {
        let first = try #require(try JSONParser.parse(
            #"{"s":"Text Value","n":1,"f":1.5,"b":true,"d":"2024-05-10T10:11:00Z","arr":["a","b"],"o":{"x":1,"y":{"z":"deep"}},"ключ":"v"}"#
        ).objectValue)
        let dynamic = try #require(try Mapping().applying(first, id: "first"))
        let created = try JSONParser.parse(try StandInBulkDocumentTests.fixture("create-typed.json"))
        let typed = try Mapping.validated(try #require(created["mappings"]?.objectValue))
        return [Mapping(), dynamic, typed]
    }

    @Test("On the recorded documents, a document fits on the fast path exactly when the parser and the mapping accept it unchanged")
    func recordedDocuments() throws {
        let documents = try Self.fixtureDocuments()
        #expect(documents.count > 150)
        var fastCount = 0
        for mapping in try Self.mappings() {
            for document in documents {
                let fast = Self.fastFits(document, mapping)
                let tree = Self.treeFits(document, mapping)
                if fast { fastCount += 1 }
                #expect(!fast || tree, "fast path accepted \(String(decoding: document, as: UTF8.self))")
                if Self.isPlain(document) {
                    #expect(fast == tree, "fast \(fast), tree \(tree): \(String(decoding: document, as: UTF8.self))")
                }
            }
        }
        #expect(fastCount > 50)
    }

    @Test("Seeded mutations of documents (bytes replaced, dropped, inserted, cut) never pass the fast path when the tree path refuses them")
    func mutatedDocuments() throws {
        let documents = try Self.fixtureDocuments()
        let mappings = try Self.mappings()
        let alphabet = Array(#"{}[]",:\ 0123456789eE.-+tfnrulasxu"#.utf8) + [0x09, 0x0D, 0x1F, 0x7F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xFF]
        var random = SeededGenerator(seed: 20_240_510)
        var agreedFast = 0
        for round in 0..<6000 {
            var document = documents[Int(random.next() % UInt64(documents.count))]
            for _ in 0...(random.next() % 3) {
                guard !document.isEmpty else { break }
                let at = Int(random.next() % UInt64(document.count))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 4 {
                case 0: document[at] = byte
                case 1: document.remove(at: at)
                case 2: document.insert(byte, at: at)
                default: document.removeSubrange(at...)
                }
            }
            let mapping = mappings[round % mappings.count]
            let fast = Self.fastFits(document, mapping)
            let tree = Self.treeFits(document, mapping)
            #expect(!fast || tree, "fast path accepted \(document)")
            if Self.isPlain(document) { #expect(fast == tree, "fast \(fast), tree \(tree): \(String(decoding: document, as: UTF8.self))") }
            if fast { agreedFast += 1 }
        }
        #expect(agreedFast > 25)
    }

    @Test("Action lines read without the parser give the parser's entry; other shapes are left to the parser")
    func actionLines() throws {
        let lines = [
            #"{"index":{"_index":"edge","_id":"a1"}}"#, #"{"create":{"_id":"a1","_index":"edge"}}"#, #"{"update":{"_index":"e","_id":"x"}}"#,
            #"{"delete":{"_index":"e","_id":"x"}}"#, #"{"index":{"_index":"edge"}}"#, #"{"index":{"_id":"only"}}"#, #"{"index":{}}"#,
            #"{"index":{"_index":"","_id":""}}"#, #"{"index":{"_index":"a b","_id":"with space"}}"#,
        ]
        for line in lines {
            let bytes = Array(line.utf8)
            let quick = try #require(bytes.withUnsafeBufferPointer { ActionLine.quick($0, defaultIndex: "default") }, "\(line)")
            let parsed = try bytes.withUnsafeBufferPointer { try StandInCore.actionEntry($0, lineNumber: 1, defaultIndex: "default") }
            #expect(quick == parsed, "\(line)")
        }
        let leftToParser = [
            #"{ "index":{"_index":"e","_id":"x"}}"#, #"{"index":{"_index":"e","_id":"x"}} "#, #"{"index":{"_index":"e","_index":"f"}}"#,
            #"{"index":{"_index":"e\u0041","_id":"x"}}"#, #"{"index":{"_index":"é","_id":"x"}}"#, #"{"index":{"_index":"e","routing":"r"}}"#,
            #"{"index":{"_index":"e"},"x":1}"#, #"{"upsert":{"_index":"e"}}"#, #"{"index":{"_index":1}}"#, #"{"index":{"_index":"e""#,
        ]
        for line in leftToParser {
            #expect(Array(line.utf8).withUnsafeBufferPointer { ActionLine.quick($0, defaultIndex: nil) } == nil, "\(line)")
        }
    }
}
