import Foundation
import Gzip
import JSONCodec
package import LoopbackHTTP
package import Primitives

/// How a stand-in is set up.
package struct OpenSearchStandInConfiguration: Sendable {
    package var region: String
    /// The SigV4 signing name it expects: `es` (managed domains) or `aoss` (Serverless).
    package var service: String
    package var accessKeyId: String
    package var secretAccessKey: String
    /// Check every request's SigV4 signature (default on).
    package var verifiesSignatures: Bool
    /// Where indices persist; `nil` keeps everything in memory.
    package var dataDirectory: String?
    package var faults: FaultSettings
    package var clock: any WallClock
    /// `http.max_content_length`: larger request bodies (after gzip decoding) get 413.
    package var maxContentLength: Int
    package var clusterName: String

    package init(
        region: String = "us-east-1", service: String = "es", accessKeyId: String = "AKIDSTANDIN0000000001",
        secretAccessKey: String, verifiesSignatures: Bool = true, dataDirectory: String? = nil, faults: FaultSettings = .none,
        clock: any WallClock = SystemClock(), maxContentLength: Int = 100 << 20, clusterName: String = "opensearch-standin"
    ) {
        self.region = region
        self.service = service
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.verifiesSignatures = verifiesSignatures
        self.dataDirectory = dataDirectory
        self.faults = faults
        self.clock = clock
        self.maxContentLength = maxContentLength
        self.clusterName = clusterName
    }
}

/// What the stand-in has done, for tests.
package struct OpenSearchStandInStats: Sendable, Hashable {
    package var requests = 0
    package var signatureRejections = 0
    package var injectedRequestFailures = 0
    package var bulkRequests = 0
    package var bulkItems = 0
    package var injectedItemRejections = 0
    package var gzipRequests = 0
    /// `_bulk` answers shaped by a `filter_path`.
    package var filteredBulkAnswers = 0
    /// When the latest `_bulk` answer was ready (benchmarks split a run into indexing and what
    /// follows it).
    package var lastBulkAnswer: ContinuousClock.Instant?
}

/// An OpenSearch-compatible server on loopback for the REST subset the pipeline uses (see
/// README.md next to this file), SigV4-checked, with injectable faults and a data directory that
/// survives restarts.
package final class OpenSearchStandIn: Sendable {
    package let server: LoopbackHTTPServer
    private let core: StandInCore

    /// Starts serving on `port` (0 picks a free one).
    /// - Throws: when the data directory cannot be read or created, or the socket cannot be bound.
    package init(_ configuration: OpenSearchStandInConfiguration, port: Int = 0) throws {
        core = try StandInCore(configuration)
        server = try LoopbackHTTPServer(behavior: StandInBehavior(core: core), port: port, recordsRequests: false)
    }

    package var port: Int { server.port }
    /// `http://127.0.0.1:<port>`.
    package var endpoint: String { server.baseURL }
    package var stats: OpenSearchStandInStats { core.lock.withLock { core.stats } }

    /// The next requests matching `fault` fail with its status.
    package func failNext(_ fault: ScriptedFault) { core.lock.withLock { core.scripted.append(fault) } }
    /// Drops every scripted failure not used yet.
    package func clearScriptedFaults() { core.lock.withLock { core.scripted.removeAll() } }

    /// Changes the injected fault shares (the generator is re-seeded).
    package func setFaults(_ faults: FaultSettings) {
        core.lock.withLock {
            core.faults = faults
            core.random = SeededGenerator(seed: faults.seed)
            core.requestRandom = SeededGenerator(seed: faults.seed ^ StandInCore.requestStream)
        }
    }

    /// Ids of every live document of `index` (for tests checking exactly-once delivery).
    package func documentIDs(in index: String) -> Set<String> {
        core.lock.withLock { Set(core.indices[index]?.live.keys.map(\.text) ?? []) }
    }

    /// Answers one request as if it had arrived over HTTP (signature check, faults and all): lets a
    /// benchmark measure the request handling without the sockets.
    package func respond(to request: RecordedRequest) -> ScriptedResponse { core.respond(to: request) }

    /// Stops listening and closes connections.
    package func stop() { server.stop() }
}

private struct StandInBehavior: HTTPServerBehavior {
    let core: StandInCore
    func respond(to request: RecordedRequest) -> ScriptedResponse { core.respond(to: request) }
}

/// The state and the request handling, behind one lock (requests arrive on many threads).
final class StandInCore: @unchecked Sendable {
    // Everything below is guarded by `lock`.
    let lock = Lock()
    var indices: [String: IndexState]
    var stats = OpenSearchStandInStats()
    var scripted: [ScriptedFault] = []
    var faults: FaultSettings
    /// Item-level draws (bulk item rejections).
    var random: SeededGenerator
    /// Request-level draws, a stream of their own: the n-th request that may fail gets the same
    /// draws whatever items earlier requests carried and in whatever order concurrent requests
    /// arrived, so a seed fixes which of them fail.
    var requestRandom: SeededGenerator
    static let requestStream: UInt64 = 0x9E37_79B9_7F4A_7C15

    let configuration: OpenSearchStandInConfiguration
    let verifier: SignatureVerifier?
    let storage: DataDirectory?
    let clusterUUID = StandInIDs.uuid()

    init(_ configuration: OpenSearchStandInConfiguration) throws {
        self.configuration = configuration
        faults = configuration.faults
        random = SeededGenerator(seed: configuration.faults.seed)
        requestRandom = SeededGenerator(seed: configuration.faults.seed ^ Self.requestStream)
        verifier =
            configuration.verifiesSignatures
            ? SignatureVerifier(
                service: configuration.service, region: configuration.region, accessKeyId: configuration.accessKeyId,
                secretAccessKey: configuration.secretAccessKey, clock: configuration.clock)
            : nil
        if let directory = configuration.dataDirectory {
            let storage = DataDirectory(root: directory)
            try storage.prepare()
            indices = try storage.load()
            self.storage = storage
        } else {
            indices = [:]
            storage = nil
        }
    }

    // MARK: Dispatch

    func respond(to request: RecordedRequest) -> ScriptedResponse {
        let started = ContinuousClock.now
        lock.withLock { stats.requests += 1 }
        if let verifier {
            do {
                try verifier.verify(request)
            } catch {
                lock.withLock { stats.signatureRejections += 1 }
                return Self.json(error.body, status: error.status, headers: [RecordedHeader("x-amzn-ErrorType", "InvalidSignatureException")])
            }
        }
        let path = request.path
        let segments = path.split(separator: "/").map { PercentEncoding.decode($0) ?? String($0) }
        let query = Self.parseQuery(request.query)
        if let failure = injectedFailure(path: path, isRoot: segments.isEmpty) {
            return Self.json(failure.responseBody, status: failure.status)
        }
        var body = request.body
        if request.header("Content-Encoding")?.lowercased() == "gzip" {
            lock.withLock { stats.gzipRequests += 1 }
            do {
                body = try Gzip.decompress(body, limits: GzipLimits(maxOutputBytes: Int64(configuration.maxContentLength)))
            } catch {
                let failure = OpenSearchFailure(
                    status: error.code == .outputLimitExceeded ? 413 : 400, type: "illegal_argument_exception",
                    reason: "cannot decode the gzip request body: \(error.detail)")
                return Self.json(failure.responseBody, status: failure.status)
            }
        }
        guard body.count <= configuration.maxContentLength else {
            return Self.json(OpenSearchFailure(status: 413, type: "content_too_long_exception", reason: "request body is too large").responseBody, status: 413)
        }
        do throws(OpenSearchFailure) {
            if let target = Self.bulkTarget(method: request.method, segments: segments) {
                let bytes = try bulk(defaultIndex: target.defaultIndex, body: body, query: query, started: started)
                return ScriptedResponse(status: 200, headers: Self.jsonHeaders(length: nil), body: .bytes(bytes))
            }
            let filter = try query["filter_path"].map { text throws(OpenSearchFailure) in try FilterPath(text) }
            let (status, json) = try route(
                method: request.method, segments: segments, path: path, query: query, body: body, started: started)
            if request.method == "HEAD" { return ScriptedResponse(status: status, headers: Self.jsonHeaders(length: 0)) }
            // `filter_path` shapes answers, not errors.
            if let filter, (200..<300).contains(status) { return Self.json(filter.apply(json), status: status) }
            return Self.json(json, status: status)
        } catch {
            if request.method == "HEAD" { return ScriptedResponse(status: error.status, headers: Self.jsonHeaders(length: 0)) }
            return Self.json(error.responseBody, status: error.status)
        }
    }

    /// `POST|PUT [/{index}]/_bulk`: the default index (`nil` without one), or `nil` for another route.
    private static func bulkTarget(method: String, segments: [String]) -> BulkTarget? {
        guard method == "POST" || method == "PUT", segments.last == "_bulk" else { return nil }
        switch segments.count {
        case 1: return BulkTarget(defaultIndex: nil)
        case 2: return BulkTarget(defaultIndex: segments[0])
        default: return nil
        }
    }

    private struct BulkTarget { var defaultIndex: String? }

    private func route(
        method: String, segments: [String], path: String, query: [String: String], body: [UInt8], started: ContinuousClock.Instant
    ) throws(OpenSearchFailure) -> (Int, JSON) {
        func unknown() -> OpenSearchFailure {
            OpenSearchFailure(status: 400, type: "illegal_argument_exception", reason: "no handler found for uri [\(path)] and method [\(method)]")
        }
        switch (method, segments.count) {
        case ("GET", 0), ("HEAD", 0):
            return (200, clusterInfo())
        case ("GET", 1) where segments[0] == "_count", ("POST", 1) where segments[0] == "_count":
            return (200, try count(target: "_all", body: body, query: query))
        case ("GET", 2) where segments[1] == "_count", ("POST", 2) where segments[1] == "_count":
            return (200, try count(target: segments[0], body: body, query: query))
        case ("GET", 1) where segments[0] == "_search", ("POST", 1) where segments[0] == "_search":
            return (200, try search(target: "_all", body: body, query: query, started: started))
        case ("GET", 2) where segments[1] == "_search", ("POST", 2) where segments[1] == "_search":
            return (200, try search(target: segments[0], body: body, query: query, started: started))
        case ("GET", 1) where segments[0] == "_refresh", ("POST", 1) where segments[0] == "_refresh":
            return (200, try refresh(target: "_all"))
        case ("GET", 2) where segments[1] == "_refresh", ("POST", 2) where segments[1] == "_refresh":
            return (200, try refresh(target: segments[0]))
        case ("GET", 2) where segments[1] == "_mapping":
            return (200, try mapping(of: segments[0]))
        case ("GET", 3) where segments[1] == "_doc", ("HEAD", 3) where segments[1] == "_doc":
            return try getDocument(index: segments[0], id: segments[2])
        case ("PUT", 1) where !segments[0].hasPrefix("_"):
            return (200, try createIndex(segments[0], body: body))
        case ("HEAD", 1) where !segments[0].hasPrefix("_"):
            return lock.withLock { indices[segments[0]] != nil } ? (200, .null) : (404, .null)
        case ("GET", 1) where !segments[0].hasPrefix("_"):
            return (200, try describeIndex(segments[0]))
        case ("DELETE", 1) where !segments[0].hasPrefix("_"):
            return (200, try deleteIndex(segments[0]))
        default:
            throw unknown()
        }
    }

    private func injectedFailure(path: String, isRoot: Bool) -> OpenSearchFailure? {
        lock.withLock { () -> OpenSearchFailure? in
            if let position = scripted.firstIndex(where: { $0.pathContains.map { path.contains($0) } ?? true }) {
                let fault = scripted[position]
                if fault.count <= 1 { scripted.remove(at: position) } else { scripted[position].count -= 1 }
                stats.injectedRequestFailures += 1
                var failure = fault.status == 429 ? OpenSearchFailure.rejectedExecution() : OpenSearchFailure.unavailable(status: fault.status)
                failure.status = fault.status
                if let type = fault.type { failure.type = type }
                return failure
            }
            guard !isRoot, faults.scope == .all || path.hasSuffix("/_bulk") else { return nil }
            if faults.requestRejectionRate > 0, requestRandom.unit() < faults.requestRejectionRate {
                stats.injectedRequestFailures += 1
                return .rejectedExecution()
            }
            if faults.requestErrorRate > 0, requestRandom.unit() < faults.requestErrorRate {
                stats.injectedRequestFailures += 1
                return .unavailable(status: faults.errorStatus)
            }
            return nil
        }
    }

    // MARK: Cluster and indices

    private func clusterInfo() -> JSON {
        .object([
            "name": "standin-node-1", "cluster_name": .string(configuration.clusterName), "cluster_uuid": .string(clusterUUID),
            "version": .object([
                "distribution": "opensearch", "number": "2.13.0", "build_type": "tar",
                "build_hash": "7ec678d1b7c87d6e779fdef94e33623e1f1e2647", "build_date": "2024-03-26T00:04:51.025238748Z",
                "build_snapshot": false, "lucene_version": "9.10.0", "minimum_wire_compatibility_version": "7.10.0",
                "minimum_index_compatibility_version": "7.0.0",
            ]),
            "tagline": "The OpenSearch Project: https://opensearch.org/",
        ])
    }

    /// `\ / * ? " < > | , # :` and the space (all ASCII, so no UTF-8 continuation byte matches).
    private static let forbiddenInIndexNames: Set<UInt8> = Set(#"\/*?"<>| ,#:"#.utf8)

    static func validateIndexName(_ name: String) throws(OpenSearchFailure) {
        if name.isEmpty || name == "." || name == ".." { throw .invalidIndexName(name, "must not be '.' or '..'") }
        // ASCII names (all real ones) are checked byte by byte; others through `lowercased()`.
        let ascii = name.utf8.allSatisfy { $0 < 0x80 }
        if ascii ? name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) : name.lowercased() != name {
            throw .invalidIndexName(name, "must be lowercase")
        }
        if let first = name.utf8.first, first == UInt8(ascii: "_") || first == UInt8(ascii: "-") || first == UInt8(ascii: "+") {
            throw .invalidIndexName(name, "must not start with '_', '-', or '+'")
        }
        if name.utf8.contains(where: { Self.forbiddenInIndexNames.contains($0) }) {
            throw .invalidIndexName(name, "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]")
        }
        if name.utf8.count > 255 { throw .invalidIndexName(name, "index name is too long, (\(name.utf8.count) > 255)") }
    }

    private func parseObject(_ body: [UInt8]) throws(OpenSearchFailure) -> JSONObject {
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [:] }
        let json: JSON
        do {
            json = try JSONParser.parse(body)
        } catch {
            throw OpenSearchFailure.jsonParse("Unexpected character: \(error)")
        }
        guard let object = json.objectValue else { throw OpenSearchFailure.parsing("request body must be a JSON object") }
        return object
    }

    private func createIndex(_ name: String, body: [UInt8]) throws(OpenSearchFailure) -> JSON {
        try Self.validateIndexName(name)
        let request = try parseObject(body)
        var settings = request["settings"]?.objectValue ?? [:]
        if settings["index"] == nil, !settings.isEmpty {
            settings = ["index": .object(settings)]
        }
        let mapping = try Mapping.validated(request["mappings"]?.objectValue ?? [:])
        return try locked { () throws(OpenSearchFailure) -> JSON in
            if let existing = indices[name] { throw OpenSearchFailure.alreadyExists(name, uuid: existing.uuid) }
            let index = IndexState(
                name: name, uuid: StandInIDs.uuid(), createdMillis: configuration.clock.now().millisecondsSinceEpoch, settings: settings,
                mapping: mapping)
            try persistMeta(index)
            indices[name] = index
            return .object(["acknowledged": true, "shards_acknowledged": true, "index": .string(name)])
        }
    }

    private func deleteIndex(_ name: String) throws(OpenSearchFailure) -> JSON {
        try locked { () throws(OpenSearchFailure) -> JSON in
            guard indices[name] != nil else { throw OpenSearchFailure.indexNotFound(name) }
            indices[name] = nil
            if let storage {
                do { try storage.remove(name) } catch { throw Self.storageFailure(error) }
            }
            return .object(["acknowledged": true])
        }
    }

    private func mapping(of name: String) throws(OpenSearchFailure) -> JSON {
        try locked { () throws(OpenSearchFailure) -> JSON in
            guard let index = indices[name] else { throw OpenSearchFailure.indexNotFound(name) }
            return .object([name: .object(["mappings": .object(index.mapping.answered)])])
        }
    }

    private func describeIndex(_ name: String) throws(OpenSearchFailure) -> JSON {
        try locked { () throws(OpenSearchFailure) -> JSON in
            guard let index = indices[name] else { throw OpenSearchFailure.indexNotFound(name) }
            var settingsIndex = index.settings["index"]?.objectValue ?? [:]
            if settingsIndex["number_of_shards"] == nil { settingsIndex["number_of_shards"] = "1" }
            if settingsIndex["number_of_replicas"] == nil { settingsIndex["number_of_replicas"] = "1" }
            settingsIndex["uuid"] = .string(index.uuid)
            settingsIndex["creation_date"] = .string(String(index.createdMillis))
            settingsIndex["provided_name"] = .string(name)
            return .object([
                name: .object(["aliases": .object([:]), "mappings": .object(index.mapping.answered), "settings": .object(["index": .object(settingsIndex)])])
            ])
        }
    }

    private func persistMeta(_ index: IndexState) throws(OpenSearchFailure) {
        guard let storage else { return }
        do { try storage.saveMeta(index) } catch { throw Self.storageFailure(error) }
    }

    static func storageFailure(_ error: any Error) -> OpenSearchFailure {
        OpenSearchFailure(status: 500, type: "io_exception", reason: "data directory write failed: \(error)")
    }

    /// The indices a target names (`_all`, `*`, a comma list, `prefix*`), for count, search and refresh.
    private func resolve(_ target: String) throws(OpenSearchFailure) -> [String] {
        if target == "_all" || target == "*" { return indices.keys.sorted() }
        var names: [String] = []
        for part in target.split(separator: ",").map(String.init) {
            if part.hasSuffix("*") {
                names += indices.keys.filter { $0.hasPrefix(part.dropLast()) }.sorted()
            } else {
                guard indices[part] != nil else { throw OpenSearchFailure.indexNotFound(part) }
                names.append(part)
            }
        }
        return names
    }

    /// Makes writes older than the index's refresh interval (default 1 s) visible, as OpenSearch's
    /// periodic refresh does.
    private func autoRefresh(_ name: String) {
        guard var index = indices[name], let since = index.dirtySince else { return }
        let settingsIndex = index.settings["index"]?.objectValue ?? [:]
        let interval = Self.millis(settingsIndex["refresh_interval"]?.stringValue ?? "1s")
        guard interval >= 0 else { return }
        if configuration.clock.now().millisecondsSinceEpoch - since.millisecondsSinceEpoch >= interval {
            index.refresh()
            indices[name] = index
        }
    }

    static func millis(_ text: String) -> Int64 {
        if text == "-1" { return -1 }
        if text.hasSuffix("ms") { return Int64(text.dropLast(2)) ?? 1000 }
        if text.hasSuffix("s") { return (Int64(text.dropLast()) ?? 1) * 1000 }
        if text.hasSuffix("m") { return (Int64(text.dropLast()) ?? 1) * 60_000 }
        return 1000
    }

    private func refresh(target: String) throws(OpenSearchFailure) -> JSON {
        try locked { () throws(OpenSearchFailure) -> JSON in
            let names = try resolve(target)
            var total = 0
            for name in names {
                indices[name]?.refresh()
                total += 1 + (indices[name]?.replicas ?? 1)
            }
            return .object(["_shards": .object(["total": .number(total), "successful": .number(names.count), "failed": 0])])
        }
    }

    private func getDocument(index name: String, id: String) throws(OpenSearchFailure) -> (Int, JSON) {
        try locked { () throws(OpenSearchFailure) -> (Int, JSON) in
            guard let index = indices[name] else { throw OpenSearchFailure.indexNotFound(name) }
            guard let document = index.live[DocumentID(id)] else {
                return (404, .object(["_index": .string(name), "_id": .string(id), "found": false]))
            }
            return (
                200,
                .object([
                    "_index": .string(name), "_id": .string(id), "_version": .number(document.version), "_seq_no": .number(document.seqNo),
                    "_primary_term": 1, "found": true, "_source": document.source,
                ])
            )
        }
    }

    // MARK: Count and search

    private func count(target: String, body: [UInt8], query: [String: String]) throws(OpenSearchFailure) -> JSON {
        let request = try parseObject(body)
        let matcher = try QueryMatcher(request["query"])
        return try locked { () throws(OpenSearchFailure) -> JSON in
            let names = try resolve(target)
            var count = 0
            for name in names {
                autoRefresh(name)
                guard let index = indices[name] else { continue }
                count += index.visible.values.reduce(0) { $0 + (matcher.matches($1, mapping: index.mapping) ? 1 : 0) }
            }
            return .object(["count": .number(count), "_shards": Self.readShards(names.count)])
        }
    }

    static func readShards(_ total: Int) -> JSON {
        .object(["total": .number(total), "successful": .number(total), "skipped": 0, "failed": 0])
    }

    private func search(target: String, body: [UInt8], query: [String: String], started: ContinuousClock.Instant) throws(OpenSearchFailure) -> JSON {
        let request = try parseObject(body)
        let matcher = try QueryMatcher(request["query"])
        let size = request["size"]?.intValue ?? query["size"].flatMap { Int($0) } ?? 10
        let from = request["from"]?.intValue ?? query["from"].flatMap { Int($0) } ?? 0
        guard size >= 0, from >= 0 else { throw OpenSearchFailure.illegalArgument("[from] and [size] must be non-negative") }
        guard from + size <= 10_000 else {
            throw OpenSearchFailure.illegalArgument(
                "Result window is too large, from + size must be less than or equal to: [10000] but was [\(from + size)]. See the scroll api "
                    + "for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] "
                    + "index level setting.")
        }
        return try locked { () throws(OpenSearchFailure) -> JSON in
            let names = try resolve(target)
            var matched: [(index: String, id: String, document: StoredDocument)] = []
            for name in names {
                autoRefresh(name)
                guard let index = indices[name] else { continue }
                for (id, document) in index.visible where matcher.matches(document, mapping: index.mapping) {
                    matched.append((name, id.text, document))
                }
            }
            matched.sort { ($0.index, $0.document.seqNo) < ($1.index, $1.document.seqNo) }
            let page = matched.dropFirst(from).prefix(size)
            let hits: [JSON] = page.map {
                .object(["_index": .string($0.index), "_id": .string($0.id), "_score": .number("1.0"), "_source": $0.document.source])
            }
            let total: JSON =
                matched.count > 10_000
                ? .object(["value": 10_000, "relation": "gte"]) : .object(["value": .number(matched.count), "relation": "eq"])
            return .object([
                "took": .number(Self.millisSince(started)), "timed_out": false, "_shards": Self.readShards(names.count),
                "hits": .object(["total": total, "max_score": matched.isEmpty ? .null : .number("1.0"), "hits": .array(hits)]),
            ])
        }
    }

    static func millisSince(_ start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }

    // MARK: Helpers

    /// `lock.withLock` that keeps the body's typed error.
    func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    static func jsonHeaders(length: Int?) -> [RecordedHeader] {
        var headers = [RecordedHeader("content-type", "application/json; charset=UTF-8")]
        if let length { headers.append(RecordedHeader("content-length", String(length))) }
        return headers
    }

    static func json(_ value: JSON, status: Int, headers: [RecordedHeader] = []) -> ScriptedResponse {
        ScriptedResponse(status: status, headers: jsonHeaders(length: nil) + headers, body: .bytes(value.bytes))
    }

    static func parseQuery(_ query: String?) -> [String: String] {
        guard let query else { return [:] }
        var out: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentEncoding.decode(parts[0], plusIsSpace: true) ?? String(parts[0])
            out[name] = parts.count > 1 ? (PercentEncoding.decode(parts[1], plusIsSpace: true) ?? String(parts[1])) : ""
        }
        return out
    }
}
