import JSONCodec
import OpenSearchStandIn
import Testing

@Suite("OpenSearch stand-in: filter_path")
struct StandInFilterPathTests {
    /// Two good documents and one whose `year` cannot be a long (the index maps it from the first).
    static let lines: [JSON] = [
        ["index": ["_index": "films", "_id": "a"]], ["title": "Rush", "year": 2013],
        ["index": ["_index": "films", "_id": "b"]], ["title": "Heat", "year": "nineteen"],
        ["create": ["_index": "films", "_id": "c"]], ["title": "Ran", "year": 1985],
    ]

    @Test("The ingest handler's filter keeps errors and each item's status and error, items in order")
    func leanBulkAnswer() async throws {
        let h = try StandInHarness()
        let reply = try await h.bulk(Self.lines, query: "?filter_path=errors,items.*.status,items.*.error")
        #expect(reply.status == 200)
        #expect(reply.json.objectValue?.keys == ["errors", "items"])
        #expect(reply.json["errors"] == true)
        #expect(reply.json[path: "items.0"] == ["index": ["status": 201]])
        #expect(reply.json[path: "items.1.index.status"] == 400)
        #expect(reply.json[path: "items.1.index.error.type"] == "mapper_parsing_exception")
        #expect(reply.json[path: "items.1.index"]?.objectValue?.keys == ["status", "error"])
        #expect(reply.json[path: "items.2"] == ["create": ["status": 201]])
        // The same request unfiltered gives the same error object.
        let full = try await StandInHarness().bulk(Self.lines)
        #expect(full.json[path: "items.1.index.error"] == reply.json[path: "items.1.index.error"])
    }

    @Test("Keeping only each item's status: written items, a failed one and a create, byte for byte as OpenSearch writes them")
    func statusOnlyItems() async throws {
        let h = try StandInHarness()
        let reply = try await h.bulk(Self.lines, query: "?filter_path=errors,items.*.status")
        #expect(reply.status == 200)
        #expect(reply.text == #"{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400}},{"create":{"status":201}}]}"#)
        // The same documents again: written over (200), and the create now conflicts (409).
        let again = try await h.bulk(Self.lines, query: "?filter_path=items.*.status")
        #expect(again.text == #"{"items":[{"index":{"status":200}},{"index":{"status":400}},{"create":{"status":409}}]}"#)
    }

    @Test("Items left empty are dropped: items.*.error keeps only the failed ones; nothing kept is {}")
    func emptiedItemsDropped() async throws {
        let h = try StandInHarness()
        let reply = try await h.bulk(Self.lines, query: "?filter_path=took,items.*.error")
        #expect(reply.json.objectValue?.keys == ["took", "items"])
        #expect(reply.json["items"]?.arrayValue?.count == 1)
        #expect(reply.json[path: "items.0.index.error.type"] == "mapper_parsing_exception")
        let clean = try await h.bulk(Array(Self.lines.prefix(2)), query: "?filter_path=items.*.error")
        #expect(clean.status == 200)
        #expect(clean.json == [:])
    }

    @Test("A filter that keeps part of a member filters the finished answer; ** reaches any depth")
    func partialMembers() async throws {
        let h = try StandInHarness()
        let reply = try await h.bulk(Self.lines, query: "?filter_path=items.*.error.type,items.**.total")
        #expect(reply.json[path: "items.0"] == ["index": ["_shards": ["total": 2]]])
        #expect(reply.json[path: "items.1"] == ["index": ["error": ["type": "mapper_parsing_exception"]]])
        #expect(reply.json[path: "items.2"] == ["create": ["_shards": ["total": 2]]])
    }

    @Test("Other endpoints' answers are filtered too, errors are not, and exclusions are refused")
    func otherEndpoints() async throws {
        let h = try StandInHarness()
        _ = try await h.bulk(Self.lines, query: "?refresh=true")
        let count = try await h.send("GET", "/films/_count?filter_path=count")
        #expect(count.json == ["count": 2])
        let missing = try await h.send("GET", "/absent/_count?filter_path=count")
        #expect(missing.status == 404)
        #expect(missing.json[path: "error.type"] == "index_not_found_exception")
        let excluded = try await h.bulk(Self.lines, query: "?filter_path=-took")
        #expect(excluded.status == 400)
        #expect(excluded.json[path: "error.type"] == "illegal_argument_exception")
    }
}
