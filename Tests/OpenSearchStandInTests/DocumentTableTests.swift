@testable import OpenSearchStandIn
import Primitives
import Testing

/// `DocumentTable` against a `Dictionary` doing the same writes: seeded runs of inserts, replaces
/// and removes (removes fill holes from the end and shift probe runs back), checked after every
/// step, and a copy that must not see later writes.
@Suite("OpenSearch stand-in: the document table")
struct DocumentTableTests {
    static func document(_ version: Int) -> StoredDocument { StoredDocument(bytes: Array("{\"v\":\(version)}".utf8)[...], version: version, seqNo: version) }

    @Test("Seeded inserts, replaces and removes answer as a dictionary does, through growth", arguments: [1, 2, 3] as [UInt64])
    func matchesDictionary(seed: UInt64) {
        var random = SeededGenerator(seed: seed)
        var table = DocumentTable()
        var model: [String: StoredDocument] = [:]
        // Few distinct ids, so removes and replaces hit often; some long ones.
        let ids = (0..<3000).map { $0 % 7 == 0 ? "a-much-longer-document-id-\($0)" : "\($0)" }
        for step in 0..<40_000 {
            let id = ids[Int.random(in: 0..<ids.count, using: &random)]
            let key = DocumentID(id)
            switch Int.random(in: 0..<10, using: &random) {
            case 0..<6:
                let document = Self.document(step)
                #expect(table.updateValue(document, forKey: key) == model.updateValue(document, forKey: id))
            case 6..<9:
                table[key] = nil
                model[id] = nil
            default:
                #expect(table[key] == model[id])
            }
            #expect(table.count == model.count)
            if step % 5000 == 4999 {
                #expect(Dictionary(uniqueKeysWithValues: table.map { ($0.0.text, $0.1) }) == model)
                for id in ids { #expect(table[DocumentID(id)] == model[id], "step \(step), id \(id)") }
            }
        }
    }

    @Test("A copy keeps what it held when the original is written to")
    func copiesAreValues() {
        var live = DocumentTable()
        for n in 0..<100 { live[DocumentID("\(n)")] = Self.document(n) }
        let visible = live
        live[DocumentID("5")] = nil
        live[DocumentID("7")] = Self.document(700)
        live[DocumentID("new")] = Self.document(1)
        #expect(visible.count == 100)
        #expect(visible[DocumentID("5")]?.version == 5)
        #expect(visible[DocumentID("7")]?.version == 7)
        #expect(visible[DocumentID("new")] == nil)
        #expect(live.count == 100)
        #expect(live[DocumentID("7")]?.version == 700)
    }
}
