import Foundation
import Gzip
import HTTPTransport
import JSONCodec
import OpenSearchStandIn
import Primitives
import Testing

@Suite("OpenSearch stand-in: REST shapes")
struct StandInAPITests {
    @Test("Create index answers acknowledged/shards_acknowledged/index; a second create is resource_already_exists_exception 400")
    func createIndex() async throws {
        let h = try StandInHarness()
        let created = try await h.send("PUT", "/movies", json: ["settings": ["index": ["number_of_shards": 1]], "mappings": ["properties": ["year": ["type": "integer"]]]])
        #expect(created.status == 200)
        #expect(created.json == ["acknowledged": true, "shards_acknowledged": true, "index": "movies"])
        #expect(created.headers["content-type"] == "application/json; charset=UTF-8")

        let again = try await h.send("PUT", "/movies", json: [:])
        #expect(again.status == 400)
        let error = try #require(again.json["error"]?.objectValue)
        #expect(error.keys == ["root_cause", "type", "reason", "index", "index_uuid"])
        #expect(again.json[path: "error.type"] == "resource_already_exists_exception")
        #expect(again.json[path: "error.root_cause.0.type"] == "resource_already_exists_exception")
        #expect(again.json[path: "error.reason"]?.stringValue?.hasPrefix("index [movies/") == true)
        #expect(again.json["status"] == 400)

        #expect(try await h.send("HEAD", "/movies").status == 200)
        #expect(try await h.send("HEAD", "/absent").status == 404)
        let bad = try await h.send("PUT", "/Movies", json: [:])
        #expect(bad.json[path: "error.type"] == "invalid_index_name_exception")
        let badType = try await h.send("PUT", "/typed", json: ["mappings": ["properties": ["x": ["type": "strnig"]]]])
        #expect(badType.status == 400)
        #expect(badType.json[path: "error.reason"] == "No handler for type [strnig] declared on field [x]")
    }

    @Test("Bulk items carry _index, _id, _version, result, _shards, _seq_no, _primary_term and status, in request order")
    func bulkShapes() async throws {
        let h = try StandInHarness()
        let reply = try await h.bulk([
            ["index": ["_index": "movies", "_id": "tt1979320"]], ["title": "Rush", "year": 2013],
            ["create": ["_index": "movies", "_id": "tt1392214"]], ["title": "Prisoners", "year": 2013],
            ["index": ["_index": "movies", "_id": "tt1979320"]], ["title": "Rush", "year": 2014],
            ["delete": ["_index": "movies", "_id": "tt2229499"]],
            ["update": ["_index": "movies", "_id": "tt1392214"]], ["doc": ["title": "Prisoners (2013)"]],
        ])
        #expect(reply.status == 200)
        #expect(reply.json.objectValue?.keys == ["took", "errors", "items"])
        #expect(reply.json["errors"] == false)
        let first = try #require(reply.json[path: "items.0.index"]?.objectValue)
        #expect(first.keys == ["_index", "_id", "_version", "result", "_shards", "_seq_no", "_primary_term", "status"])
        #expect(first["result"] == "created")
        #expect(first["status"] == 201)
        #expect(first["_shards"] == ["total": 2, "successful": 1, "failed": 0])
        #expect(first["_seq_no"] == 0)
        #expect(first["_primary_term"] == 1)
        #expect(reply.json[path: "items.1.create.result"] == "created")
        #expect(reply.json[path: "items.2.index.result"] == "updated")
        #expect(reply.json[path: "items.2.index._version"] == 2)
        #expect(reply.json[path: "items.2.index.status"] == 200)
        #expect(reply.json[path: "items.3.delete.result"] == "not_found")
        #expect(reply.json[path: "items.3.delete.status"] == 404)
        #expect(reply.json[path: "items.4.update.result"] == "updated")
        #expect(reply.json[path: "items.4.update._version"] == 2)

        let document = try await h.send("GET", "/movies/_doc/tt1392214")
        #expect(document.json.objectValue?.keys == ["_index", "_id", "_version", "_seq_no", "_primary_term", "found", "_source"])
        #expect(document.json["_source"] == ["title": "Prisoners (2013)", "year": 2013])
        let missing = try await h.send("GET", "/movies/_doc/nope")
        #expect(missing.status == 404)
        #expect(missing.json == ["_index": "movies", "_id": "nope", "found": false])
        let noIndex = try await h.send("GET", "/nothing/_doc/1")
        #expect(noIndex.status == 404)
        #expect(noIndex.json[path: "error.type"] == "index_not_found_exception")
        #expect(noIndex.json[path: "error.reason"] == "no such index [nothing]")
    }

    @Test("create of an existing id is version_conflict_engine_exception 409; update of a missing id is document_missing_exception 404")
    func conflicts() async throws {
        let h = try StandInHarness()
        _ = try await h.bulk([["index": ["_index": "c", "_id": "1"]], ["a": 1]])
        let reply = try await h.bulk([
            ["create": ["_index": "c", "_id": "1"]], ["a": 2],
            ["update": ["_index": "c", "_id": "2"]], ["doc": ["a": 3]],
        ])
        #expect(reply.json["errors"] == true)
        let conflict = try #require(reply.json[path: "items.0.create"]?.objectValue)
        #expect(conflict.keys == ["_index", "_id", "status", "error"])
        #expect(conflict["status"] == 409)
        #expect(conflict["error"]?.objectValue?.keys == ["type", "reason", "index", "shard", "index_uuid"])
        #expect(conflict["error"]?["type"] == "version_conflict_engine_exception")
        #expect(conflict["error"]?["reason"] == "[1]: version conflict, document already exists (current version [1])")
        #expect(reply.json[path: "items.1.update.status"] == 404)
        #expect(reply.json[path: "items.1.update.error.type"] == "document_missing_exception")
        #expect(reply.json[path: "items.1.update.error.reason"] == "[2]: document missing")
        // The conflicting create changed nothing.
        #expect(try await h.send("GET", "/c/_doc/1").json["_source"] == ["a": 1])
    }

    @Test("Dynamic mapping maps new fields on first sight; a later value that does not fit is mapper_parsing_exception 400")
    func mappingConflicts() async throws {
        let h = try StandInHarness()
        let first = try await h.bulk([
            ["index": ["_index": "m", "_id": "1"]], ["amount": 12, "when": "2024-05-01T10:00:00Z", "ok": true, "name": "Leeds", "geo": ["zip": "LS1"]]
        ])
        #expect(first.json["errors"] == false)
        let mapping = try await h.send("GET", "/m/_mapping")
        #expect(
            mapping.json == [
                "m": [
                    "mappings": [
                        "properties": [
                            "amount": ["type": "long"],
                            "geo": ["properties": ["zip": ["type": "text", "fields": ["keyword": ["type": "keyword", "ignore_above": 256]]]]],
                            "name": ["type": "text", "fields": ["keyword": ["type": "keyword", "ignore_above": 256]]],
                            "ok": ["type": "boolean"],
                            "when": ["type": "date"],
                        ]
                    ]
                ]
            ])
        let second = try await h.bulk([
            ["index": ["_index": "m", "_id": "2"]], ["amount": "twelve"],
            ["index": ["_index": "m", "_id": "3"]], ["when": "yesterday"],
            ["index": ["_index": "m", "_id": "4"]], ["ok": "maybe"],
            ["index": ["_index": "m", "_id": "5"]], ["geo": "LS1"],
            ["index": ["_index": "m", "_id": "6"]], ["amount": "42", "name": 7],
        ])
        #expect(second.json["errors"] == true)
        for item in 0..<4 {
            #expect(second.json[path: "items.\(item).index.status"] == 400)
            #expect(second.json[path: "items.\(item).index.error.type"] == "mapper_parsing_exception")
        }
        #expect(
            second.json[path: "items.0.index.error.reason"]
                == "failed to parse field [amount] of type [long] in document with id '2'. Preview of field's value: 'twelve'")
        #expect(second.json[path: "items.0.index.error.caused_by"] == ["type": "illegal_argument_exception", "reason": "For input string: \"twelve\""])
        #expect(second.json[path: "items.1.index.error.caused_by.type"] == "illegal_argument_exception")
        // Coercion: a numeric string into a long, a number into text.
        #expect(second.json[path: "items.4.index.status"] == 201)
        let notJSON = try await h.send("POST", "/_bulk", body: Array("{\"index\":{\"_index\":\"m\",\"_id\":\"9\"}}\n{not json\n".utf8))
        #expect(notJSON.json[path: "items.0.index.error.type"] == "mapper_parsing_exception")
        #expect(notJSON.json[path: "items.0.index.error.caused_by.type"] == "json_parse_exception")
    }

    @Test("Malformed bulk bodies are whole-request 400s")
    func malformedBulk() async throws {
        let h = try StandInHarness()
        let noNewline = try await h.send("POST", "/_bulk", body: Array(#"{"index":{"_index":"x"}}"#.utf8))
        #expect(noNewline.status == 400)
        #expect(noNewline.json[path: "error.reason"] == "The bulk request must be terminated by a newline [\\n]")
        let unknown = try await h.send("POST", "/_bulk", body: Array("{\"upsert\":{\"_index\":\"x\"}}\n{}\n".utf8))
        #expect(unknown.json[path: "error.type"] == "illegal_argument_exception")
        let noIndex = try await h.send("POST", "/_bulk", body: Array("{\"index\":{\"_id\":\"1\"}}\n{}\n".utf8))
        #expect(noIndex.json[path: "error.type"] == "action_request_validation_exception")
        #expect(noIndex.json[path: "error.reason"] == "Validation Failed: 1: index is missing;")
        let withPathIndex = try await h.send("POST", "/x/_bulk", body: Array("{\"index\":{\"_id\":\"1\"}}\n{}\n".utf8))
        #expect(withPathIndex.json[path: "items.0.index._index"] == "x")
    }

    @Test("_count and _search see writes after a refresh (explicit, ?refresh=true, or the 1 s interval)")
    func countSearchRefresh() async throws {
        let clock = ManualClock(SystemClock().now())
        let h = try StandInHarness(clock: clock)
        var lines: [JSON] = []
        for i in 0..<25 {
            lines.append(["index": ["_index": "s", "_id": .string("d\(i)")]])
            lines.append(["n": .number(i), "city": i % 5 == 0 ? "Leeds" : "York", "tag": i % 2 == 0 ? "even" : "odd"])
        }
        _ = try await h.bulk(lines)
        #expect(try await h.send("GET", "/s/_count").json["count"] == 0)
        let refreshed = try await h.send("POST", "/s/_refresh")
        #expect(refreshed.json == ["_shards": ["total": 2, "successful": 1, "failed": 0]])
        let count = try await h.send("GET", "/s/_count")
        #expect(count.json == ["count": 25, "_shards": ["total": 1, "successful": 1, "skipped": 0, "failed": 0]])
        let term = try await h.send("POST", "/s/_count", json: ["query": ["term": ["city": "leeds"]]])
        #expect(term.json["count"] == 5)
        let keyword = try await h.send("POST", "/s/_count", json: ["query": ["term": ["city.keyword": ["value": "Leeds"]]]])
        #expect(keyword.json["count"] == 5)
        let caseMismatch = try await h.send("POST", "/s/_count", json: ["query": ["term": ["city": "Leeds"]]])
        #expect(caseMismatch.json["count"] == 0, "term on a text field compares analysed (lower-case) tokens")
        let number = try await h.send("POST", "/s/_count", json: ["query": ["term": ["n": 7]]])
        #expect(number.json["count"] == 1)

        let search = try await h.send("POST", "/s/_search", json: ["query": ["match_all": [:]], "size": 3, "from": 2])
        #expect(search.json.objectValue?.keys == ["took", "timed_out", "_shards", "hits"])
        #expect(search.json[path: "hits.total"] == ["value": 25, "relation": "eq"])
        let hits = try #require(search.json[path: "hits.hits"]?.arrayValue)
        #expect(hits.count == 3)
        #expect(hits[0].objectValue?.keys == ["_index", "_id", "_score", "_source"])
        #expect(hits.map { $0["_id"] } == ["d2", "d3", "d4"])
        let unknown = try await h.send("POST", "/s/_search", json: ["query": ["fuzzy": ["city": "lead"]]])
        #expect(unknown.status == 400)
        #expect(unknown.json[path: "error.type"] == "parsing_exception")

        _ = try await h.bulk([["index": ["_index": "s", "_id": "late"]], ["n": 99]])
        #expect(try await h.send("GET", "/s/_count").json["count"] == 25)
        clock.advance(seconds: 2)
        #expect(try await h.send("GET", "/s/_count").json["count"] == 26)
        _ = try await h.bulk([["index": ["_index": "s", "_id": "now"]], ["n": 100]], query: "?refresh=true")
        #expect(try await h.send("GET", "/s/_count").json["count"] == 27)
        #expect(try await h.send("GET", "/missing/_count").json[path: "error.type"] == "index_not_found_exception")
    }

    @Test("GET / is cluster info; DELETE removes an index")
    func clusterAndDelete() async throws {
        let h = try StandInHarness()
        let info = try await h.send("GET", "/")
        #expect(info.json.objectValue?.keys == ["name", "cluster_name", "cluster_uuid", "version", "tagline"])
        #expect(info.json[path: "version.distribution"] == "opensearch")
        _ = try await h.send("PUT", "/gone", json: [:])
        #expect(try await h.send("DELETE", "/gone").json == ["acknowledged": true])
        #expect(try await h.send("HEAD", "/gone").status == 404)
        #expect(try await h.send("DELETE", "/gone").status == 404)
    }

    @Test("A gzip request body (Content-Encoding: gzip) is decoded; a corrupt one is a 400")
    func gzipBodies() async throws {
        let h = try StandInHarness()
        let ndjson = Array("{\"index\":{\"_index\":\"z\",\"_id\":\"1\"}}\n{\"a\":1}\n".utf8)
        let reply = try await h.send(
            "POST", "/_bulk?refresh=true", body: try Gzip.compress(ndjson),
            headers: [("Content-Type", "application/x-ndjson"), ("Content-Encoding", "gzip")])
        #expect(reply.status == 200)
        #expect(reply.json[path: "items.0.index.status"] == 201)
        #expect(h.standIn.stats.gzipRequests == 1)
        let broken = try await h.send(
            "POST", "/_bulk", body: Array(try Gzip.compress(ndjson).dropLast(5)), headers: [("Content-Encoding", "gzip")])
        #expect(broken.status == 400)
    }
}
