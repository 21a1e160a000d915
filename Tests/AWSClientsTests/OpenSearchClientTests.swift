import AWSClients
import AWSCore
import AWSSigV4
import HTTPTransport
import JSONCodec
import LoopbackHTTP
import OpenSearchStandIn
import Primitives
import Testing

/// A stand-in and an `OpenSearchClient` for it over the real `CurlTransport`.
private struct OpenSearchFixture {
    static let accessKeyId = "AKIDOPENSEARCHTEST01"
    static let secret = "client/test+SECRET/0123456789abcdefghij"

    let standIn: OpenSearchStandIn
    let client: OpenSearchClient

    init(flavor: OpenSearchClient.Flavor = .managed, standInService: String? = nil, faults: FaultSettings = .none) throws {
        standIn = try OpenSearchStandIn(
            OpenSearchStandInConfiguration(
                region: "eu-west-2", service: standInService ?? flavor.rawValue, accessKeyId: Self.accessKeyId,
                secretAccessKey: Self.secret, faults: faults))
        let settings = try AWSSettings(
            environment: Environment(["AWS_REGION": "eu-west-2", OpenSearchClient.endpointVariable: standIn.endpoint]))
        client = try OpenSearchClient(
            settings: settings, flavor: flavor,
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: Self.accessKeyId, secretAccessKey: Self.secret)),
            transport: try CurlTransport(), quota: RetryQuota())
    }

    /// Fast retries for tests: the backoff is computed but kept short.
    static func settings(
        maxRequestBytes: Int = 5 << 20, concurrency: Int = 4, maxAttempts: Int = 6, gzip: Bool = false, refresh: String? = nil
    ) -> BulkSettings {
        BulkSettings(
            maxRequestBytes: maxRequestBytes, concurrency: concurrency, maxAttempts: maxAttempts, baseDelay: .milliseconds(2),
            maxDelay: .milliseconds(20), gzip: gzip, refresh: refresh)
    }

    static func documents(_ count: Int, index: String, prefix: String = "doc") -> [BulkOperation] {
        (0..<count).map { i in
            .index(
                index, id: "\(prefix)-\(i)",
                ["seq": .number(i), "city": i % 3 == 0 ? "Leeds" : "York", "note": .string("record number \(i) with some padding text")])
        }
    }
}

@Suite("OpenSearch client against the stand-in")
struct OpenSearchClientTests {
    @Test("createIndexIfMissing creates once, then finds the index; concurrent callers all succeed and exactly one creates")
    func createIfMissing() async throws {
        let f = try OpenSearchFixture()
        let mappings: JSONObject = ["properties": ["amount": ["type": "float"], "city": ["type": "keyword"]]]
        #expect(try await f.client.createIndexIfMissing("sales", settings: ["number_of_shards": 1], mappings: mappings) == .created)
        #expect(try await f.client.createIndexIfMissing("sales", mappings: mappings) == .alreadyExisted)
        #expect(try await f.client.indexExists("sales"))
        #expect(try await !f.client.indexExists("nothing"))

        let outcomes = try await withThrowingTaskGroup(of: IndexCreation.self) { group in
            for _ in 0..<8 { group.addTask { try await f.client.createIndexIfMissing("raced", mappings: mappings) } }
            var all: [IndexCreation] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        #expect(outcomes.filter { $0 == .created }.count == 1)
        #expect(outcomes.count == 8)

        let invalid = await #expect(throws: OpenSearchError.self) { try await f.client.createIndexIfMissing("Bad/Name") }
        #expect(invalid?.code == .invalidArgument)
    }

    @Test("A few thousand documents are cut into several bulk requests by bytes, sent concurrently, and all indexed")
    func bulkCutsAndRunsConcurrently() async throws {
        let f = try OpenSearchFixture()
        let operations = OpenSearchFixture.documents(3000, index: "many")
        let indexer = BulkIndexer(client: f.client, settings: OpenSearchFixture.settings(maxRequestBytes: 32 << 10, concurrency: 4))
        let summary = try await indexer.run(operations)
        #expect(summary.operations == 3000)
        #expect(summary.succeeded == 3000)
        #expect(summary.failed == 0)
        #expect(summary.requests >= 10)
        #expect(summary.bytesSent / summary.requests <= 32 << 10)
        #expect(f.standIn.server.maxRequestsInFlight > 1, "bulk requests overlapped")
        try await f.client.refresh("many")
        #expect(try await f.client.count("many") == 3000)
        #expect(f.standIn.documentIDs(in: "many") == Set(operations.compactMap(\.id)))
    }

    @Test("In a 429 storm (30% of items, some whole requests 503) every document is indexed exactly once")
    func storm() async throws {
        let f = try OpenSearchFixture(
            faults: FaultSettings(requestErrorRate: 0.15, errorStatus: 503, itemRejectionRate: 0.3, seed: 2024))
        let operations = OpenSearchFixture.documents(2000, index: "storm")
        let indexer = BulkIndexer(
            client: f.client, settings: OpenSearchFixture.settings(maxRequestBytes: 48 << 10, concurrency: 4, maxAttempts: 30))
        let summary = try await indexer.run(operations)
        #expect(summary.succeeded == 2000)
        #expect(summary.failures.isEmpty)
        #expect(summary.itemRetries > 300)
        #expect(summary.requestRetries > 0)
        #expect(f.standIn.stats.injectedItemRejections == summary.itemRetries)
        try await f.client.refresh("storm")
        #expect(try await f.client.count("storm") == 2000)
        #expect(f.standIn.documentIDs(in: "storm") == Set(operations.compactMap(\.id)))
        // Exactly once: no document was written twice (a second write would make version 2).
        for id in ["doc-0", "doc-777", "doc-1999"] {
            #expect(try await f.client.document(index: "storm", id: id)?.version == 1)
        }
    }

    @Test("Items that keep getting 429 fail after the bounded number of attempts, with their status")
    func boundedAttempts() async throws {
        let f = try OpenSearchFixture(faults: FaultSettings(itemRejectionRate: 1.0))
        let indexer = BulkIndexer(client: f.client, settings: OpenSearchFixture.settings(maxAttempts: 3))
        let summary = try await indexer.run(OpenSearchFixture.documents(5, index: "never"))
        #expect(summary.failed == 5)
        #expect(summary.failures.allSatisfy { $0.status == 429 && $0.attempts == 3 && $0.errorType == "rejected_execution_exception" })
        #expect(summary.requests == 3)
    }

    @Test(
        "Mapping conflicts and version conflicts come back as failed items and are never retried, with a lean answer or a full one",
        arguments: [BulkSettings.leanAnswer, nil])
    func conflictsAreReturned(answerFilter: String?) async throws {
        let f = try OpenSearchFixture()
        _ = try await f.client.createIndexIfMissing("typed", mappings: ["properties": ["amount": ["type": "float"]]])
        var operations: [BulkOperation] = []
        for i in 0..<20 {
            operations.append(.index("typed", id: "t\(i)", ["amount": i % 4 == 0 ? "not a number" : .number(i)]))
        }
        operations.append(.create("typed", id: "t1", ["amount": 1]))
        operations.append(.update("typed", id: "absent", partial: ["amount": 2]))
        operations.append(.delete("typed", id: "also-absent"))
        var settings = OpenSearchFixture.settings(concurrency: 1)
        settings.answerFilter = answerFilter
        let summary = try await BulkIndexer(client: f.client, settings: settings).run(operations)
        #expect(f.standIn.stats.filteredBulkAnswers == (answerFilter == nil ? 0 : summary.requests))
        #expect(summary.succeeded == 16)
        #expect(summary.failed == 7)
        let mapping = summary.failures.filter { $0.errorType == "mapper_parsing_exception" }
        #expect(mapping.map(\.id) == ["t0", "t4", "t8", "t12", "t16"])
        #expect(mapping.allSatisfy { $0.status == 400 && $0.attempts == 1 && $0.errorReason?.contains("[amount]") == true })
        let conflict = try #require(summary.failures.first { $0.position == 20 })
        #expect(conflict.status == 409)
        #expect(conflict.errorType == "version_conflict_engine_exception")
        let missing = try #require(summary.failures.first { $0.position == 21 })
        #expect(missing.errorType == "document_missing_exception")
        #expect(summary.itemRetries == 0)
        #expect(f.standIn.stats.bulkItems == operations.count, "nothing was sent twice")
    }

    @Test("gzip bodies go out with Content-Encoding: gzip, signed as compressed, and index everything")
    func gzipBodies() async throws {
        let f = try OpenSearchFixture()
        let operations = OpenSearchFixture.documents(1500, index: "zipped")
        let summary = try await BulkIndexer(
            client: f.client, settings: OpenSearchFixture.settings(maxRequestBytes: 64 << 10, gzip: true, refresh: "true")
        ).run(operations)
        #expect(summary.succeeded == 1500)
        #expect(summary.wireBytesSent * 3 < summary.bytesSent)
        #expect(f.standIn.stats.gzipRequests == summary.requests)
        #expect(try await f.client.count("zipped") == 1500)
    }

    @Test("Serverless (aoss) signing is accepted by an aoss endpoint; es-signed requests are refused there")
    func aossSigning() async throws {
        let serverless = try OpenSearchFixture(flavor: .serverless)
        #expect(try await serverless.client.createIndexIfMissing("vectors") == .created)
        let summary = try await BulkIndexer(client: serverless.client, settings: OpenSearchFixture.settings(refresh: "true"))
            .run(OpenSearchFixture.documents(10, index: "vectors"))
        #expect(summary.succeeded == 10)

        let mismatched = try OpenSearchFixture(flavor: .managed, standInService: "aoss")
        let error = await #expect(throws: OpenSearchError.self) { try await mismatched.client.createIndexIfMissing("x") }
        #expect(error?.code == .accessDenied)
        #expect(error?.status == 403)
        let bulkError = await #expect(throws: OpenSearchError.self) {
            try await BulkIndexer(client: mismatched.client).run(OpenSearchFixture.documents(2, index: "x"))
        }
        #expect(bulkError?.code == .accessDenied)
    }

    @Test("count with a term query, search with size/from, and GET _doc read back what was indexed")
    func readBack() async throws {
        let f = try OpenSearchFixture()
        _ = try await f.client.createIndexIfMissing("read", mappings: ["properties": ["city": ["type": "keyword"]]])
        _ = try await BulkIndexer(client: f.client, settings: OpenSearchFixture.settings(refresh: "wait_for"))
            .run(OpenSearchFixture.documents(30, index: "read"))
        #expect(try await f.client.count("read") == 30)
        #expect(try await f.client.count("read", query: .term(field: "city", value: "Leeds")) == 10)
        #expect(try await f.client.count("read", query: .term(field: "seq", value: 7)) == 1)
        let page = try await f.client.search("read", query: .term(field: "city", value: "York"), size: 5, from: 5)
        #expect(page.total == 20)
        #expect(page.totalRelation == "eq")
        #expect(page.hits.count == 5)
        #expect(page.hits.allSatisfy { $0.source["city"] == "York" && $0.index == "read" })
        let document = try #require(try await f.client.document(index: "read", id: "doc-3"))
        #expect(document.source["seq"] == 3)
        #expect(document.version == 1)
        #expect(try await f.client.document(index: "read", id: "doc-300") == nil)
        let missingIndex = await #expect(throws: OpenSearchError.self) { try await f.client.count("absent") }
        #expect(missingIndex?.code == .indexNotFound)
        #expect(missingIndex?.type == "index_not_found_exception")
        try await f.client.deleteIndex("read")
        #expect(try await !f.client.indexExists("read"))
    }

    @Test("Bulk bodies are NDJSON: an action line then a one-line document, newlines in raw documents flattened")
    func ndjsonEncoding() throws {
        var out: [UInt8] = []
        BulkBodyEncoder.append(.index("i", id: "a\"b", ["x": "line\nbreak"]), to: &out)
        BulkBodyEncoder.append(BulkOperation(action: .create, index: "i", id: nil, document: .bytes(Array("{\n  \"y\": 1\n}".utf8))), to: &out)
        BulkBodyEncoder.append(.update("i", id: "u", partial: ["z": true]), to: &out)
        BulkBodyEncoder.append(.delete("i", id: "d"), to: &out)
        #expect(
            String(decoding: out, as: UTF8.self) == """
                {"index":{"_index":"i","_id":"a\\"b"}}
                {"x":"line\\nbreak"}
                {"create":{"_index":"i"}}
                {   "y": 1 }
                {"update":{"_index":"i","_id":"u"}}
                {"doc":{"z":true}}
                {"delete":{"_index":"i","_id":"d"}}

                """)
    }

    @Test("The endpoint comes from OPEN_SEARCH_ENDPOINT, and a missing or bad value names the variable")
    func endpointSetting() throws {
        let credentials = StaticCredentialProvider(AWSCredentials(accessKeyId: "AKID", secretAccessKey: "s"))
        func make(_ values: [String: String]) throws(AWSConfigError) -> OpenSearchClient {
            try OpenSearchClient(
                settings: try AWSSettings(environment: Environment(values.merging(["AWS_REGION": "eu-west-2"]) { a, _ in a })),
                credentials: credentials, transport: try! CurlTransport(), quota: RetryQuota())
        }
        let missing = #expect(throws: AWSConfigError.self) { try make([:]) }
        #expect(missing?.setting == "OPEN_SEARCH_ENDPOINT")
        let bad = #expect(throws: AWSConfigError.self) { try make(["OPEN_SEARCH_ENDPOINT": "search-domain.example.com"]) }
        #expect(bad?.setting == "OPEN_SEARCH_ENDPOINT")
        let client = try make([
            "OPEN_SEARCH_ENDPOINT": "https://search-logs-abc.eu-west-2.es.amazonaws.com", "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        ])
        #expect(client.aws.endpoint.host == "search-logs-abc.eu-west-2.es.amazonaws.com")
        #expect(client.aws.service.signingName == "es")
    }
}
