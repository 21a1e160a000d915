import Foundation
import JSONCodec
import OpenSearchStandIn
import Testing

/// The bulk document path against answers recorded from the stand-in when it still parsed every
/// document into a tree: `Fixtures/bulk-edge-cases/script.jsonl` lists the requests (bodies are the
/// files next to it, sent byte for byte), `answers.txt` holds `STATUS BODY` per request, `took`
/// zeroed. The documents cover invalid JSON and UTF-8, every mapping conflict, nested objects and
/// arrays, escaped and duplicate keys, explicit field types, updates and deletes; the reads after
/// the bulk requests (mappings, searches, documents, counts) run again after a restart on the same
/// data directory, so the write-ahead log is covered too.
@Suite("OpenSearch stand-in: bulk documents against recorded answers")
struct StandInBulkDocumentTests {
    static let fixtures = "Fixtures/bulk-edge-cases"

    static func fixture(_ name: String) throws -> [UInt8] {
        let url = try #require(Bundle.module.url(forResource: "\(fixtures)/\(name)", withExtension: nil))
        return Array(try Data(contentsOf: url))
    }

    /// `"took":N` becomes `"took":0`, wherever it appears.
    static func zeroingTook(_ body: [UInt8]) -> [UInt8] {
        let key = Array(#""took":"#.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var i = 0
        while i < body.count {
            if body[i] == key[0], body.count - i >= key.count, Array(body[i..<i + key.count]) == key {
                out += key + [UInt8(ascii: "0")]
                i += key.count
                while i < body.count, body[i] >= UInt8(ascii: "0"), body[i] <= UInt8(ascii: "9") { i += 1 }
            } else {
                out.append(body[i])
                i += 1
            }
        }
        return out
    }

    @Test("Edge-case documents get the answers recorded before documents were kept as bytes, also after a restart")
    func recordedAnswers() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let steps = try Self.fixture("script.jsonl").split(separator: 0x0A).map { try JSONParser.parse($0) }
        var h = try StandInHarness(dataDirectory: directory)
        var answers: [String] = []
        for step in steps {
            if step["restart"] == true {
                h.standIn.stop()
                h = try StandInHarness(dataDirectory: directory)
                continue
            }
            let method = try #require(step["method"]?.stringValue)
            let path = try #require(step["path"]?.stringValue)
            let body = try step["body"]?.stringValue.map { try Self.fixture($0) } ?? []
            let reply = try await h.send(method, path, body: body)
            answers.append("\(method) \(path) \(reply.status) " + String(decoding: Self.zeroingTook(reply.body), as: UTF8.self))
        }
        h.standIn.stop()
        let expected = String(decoding: try Self.fixture("answers.txt"), as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(answers.count == expected.count)
        for (answer, wanted) in zip(answers, expected) { #expect(answer == wanted) }
    }
}
