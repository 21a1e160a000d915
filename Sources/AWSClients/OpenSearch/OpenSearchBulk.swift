import AWSCore
import Gzip
import HTTPTransport
package import JSONCodec

/// One bulk action.
package struct BulkOperation: Sendable {
    package enum Action: String, Sendable, Hashable {
        case index, create, update, delete
    }

    /// A document: a parsed value, or JSON text already encoded (newlines in it are turned into
    /// spaces, which is safe for valid JSON).
    package enum Document: Sendable {
        case json(JSON)
        case bytes([UInt8])
    }

    package var action: Action
    package var index: String
    /// Omit only for `index` when an id is not needed: a retried action without an id can index
    /// the document twice.
    package var id: String?
    /// The source for `index`/`create`, the partial document for `update`, `nil` for `delete`.
    package var document: Document?

    package init(action: Action, index: String, id: String?, document: Document?) {
        self.action = action
        self.index = index
        self.id = id
        self.document = document
    }

    package static func index(_ index: String, id: String?, _ document: JSON) -> BulkOperation {
        BulkOperation(action: .index, index: index, id: id, document: .json(document))
    }
    package static func create(_ index: String, id: String, _ document: JSON) -> BulkOperation {
        BulkOperation(action: .create, index: index, id: id, document: .json(document))
    }
    package static func update(_ index: String, id: String, partial document: JSON) -> BulkOperation {
        BulkOperation(action: .update, index: index, id: id, document: .json(document))
    }
    package static func delete(_ index: String, id: String) -> BulkOperation {
        BulkOperation(action: .delete, index: index, id: id, document: nil)
    }
}

/// How a `BulkIndexer` cuts, sends and retries.
package struct BulkSettings: Sendable {
    /// The most NDJSON bytes per request (before gzip); an action larger than this goes alone.
    package var maxRequestBytes: Int
    /// Bulk requests in flight at once.
    package var concurrency: Int
    /// Attempts per action in all (the first included): item 429/5xx and whole-request 429/5xx or
    /// connection failures are retried up to this bound.
    package var maxAttempts: Int
    /// Full-jitter backoff: before retry n, wait `rand[0,1) × min(maxDelay, baseDelay × 2^(n-1))`.
    package var baseDelay: Duration
    package var maxDelay: Duration
    /// Send `Content-Encoding: gzip` bodies (the compressed bytes are signed).
    package var gzip: Bool
    package var gzipLevel: Int
    /// The `refresh` parameter (`true`, `wait_for`), or `nil` to leave refreshing to the cluster.
    package var refresh: String?
    /// The `filter_path` of each request: by default the answer keeps `errors` and each item's
    /// `status` and `error` (items stay in order, one per action), which is all the indexer reads;
    /// an unfiltered answer repeats index, id, version, shards and sequence numbers for every
    /// document (about as many bytes as the documents themselves). `nil` asks for all of it.
    package var answerFilter: String?
    package var jitter: @Sendable () -> Double
    package var sleep: @Sendable (Duration) async throws -> Void

    package init(
        maxRequestBytes: Int = 5 << 20, concurrency: Int = 4, maxAttempts: Int = 6, baseDelay: Duration = .milliseconds(200),
        maxDelay: Duration = .seconds(10), gzip: Bool = false, gzipLevel: Int = 1, refresh: String? = nil,
        answerFilter: String? = BulkSettings.leanAnswer,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.maxRequestBytes = maxRequestBytes
        self.concurrency = concurrency
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.gzip = gzip
        self.gzipLevel = gzipLevel
        self.refresh = refresh
        self.answerFilter = answerFilter
        self.jitter = jitter
        self.sleep = sleep
    }

    /// `errors` and each item's `status` and `error`.
    package static let leanAnswer = "errors,items.*.status,items.*.error"

    func backoff(forRetry retry: Int) -> Duration {
        let exponent = min(retry - 1, 30)
        return min(maxDelay, baseDelay * (1 << exponent)) * jitter()
    }
}

/// The outcome of one action.
package struct BulkItemResult: Sendable, Hashable {
    /// The action's position in the input (0-based).
    package var position: Int
    package var action: BulkOperation.Action
    package var index: String
    package var id: String?
    /// The item's HTTP status (or the whole request's, when the request itself failed).
    package var status: Int
    /// `created`, `updated`, `deleted`, `not_found`, `noop`.
    package var result: String?
    /// The OpenSearch exception type (`mapper_parsing_exception`, `version_conflict_engine_exception`…).
    package var errorType: String?
    package var errorReason: String?
    /// How many times the action was sent.
    package var attempts: Int

    /// Success, counting a delete of a missing document (`not_found`) as done.
    package var succeeded: Bool { errorType == nil && (status < 300 || (action == .delete && status == 404)) }
    /// Whether OpenSearch's answer means "try again later".
    package var isRetryable: Bool { status == 429 || status >= 500 }
}

/// What a bulk run did.
package struct BulkSummary: Sendable, Hashable {
    package var operations = 0
    package var succeeded = 0
    /// Actions that failed for good: mapping errors, version conflicts (never retried) and
    /// 429/5xx that outlasted every attempt.
    package var failed: Int { failures.count }
    package var failures: [BulkItemResult] = []
    /// HTTP requests sent (retries included).
    package var requests = 0
    /// Item resends after an item 429/5xx.
    package var itemRetries = 0
    /// Whole-batch resends after a request 429/5xx or connection failure.
    package var requestRetries = 0
    /// NDJSON bytes sent (before gzip), retries included.
    package var bytesSent = 0
    /// Bytes on the wire (after gzip when it is on).
    package var wireBytesSent = 0

    mutating func merge(_ other: BulkSummary) {
        operations += other.operations
        succeeded += other.succeeded
        failures += other.failures
        requests += other.requests
        itemRetries += other.itemRetries
        requestRetries += other.requestRetries
        bytesSent += other.bytesSent
        wireBytesSent += other.wireBytesSent
    }
}

/// Writes bulk actions as NDJSON.
package enum BulkBodyEncoder {
    /// Appends the action line and (when there is one) the document line of `operation`.
    package static func append(_ operation: BulkOperation, to out: inout [UInt8]) {
        out.append(contentsOf: #"{""#.utf8)
        out.append(contentsOf: operation.action.rawValue.utf8)
        out.append(contentsOf: #"":{"_index":"#.utf8)
        JSONWriter.writeString(operation.index, to: &out)
        if let id = operation.id {
            out.append(contentsOf: #","_id":"#.utf8)
            JSONWriter.writeString(id, to: &out)
        }
        out.append(contentsOf: "}}\n".utf8)
        guard operation.action != .delete else { return }
        if operation.action == .update { out.append(contentsOf: #"{"doc":"#.utf8) }
        switch operation.document {
        case .json(let json)?:
            JSONWriter.write(json, to: &out)
        case .bytes(let bytes)?:
            let start = out.count
            out.append(contentsOf: bytes)
            for i in start..<out.count where out[i] == 0x0A || out[i] == 0x0D { out[i] = 0x20 }
        case nil:
            out.append(contentsOf: "{}".utf8)
        }
        if operation.action == .update { out.append(UInt8(ascii: "}")) }
        out.append(0x0A)
    }
}

/// Sends actions with `_bulk`: cuts NDJSON bodies by bytes, keeps several requests in flight,
/// retries only what may succeed later (item or request 429/5xx, lost connections) with full-jitter
/// backoff and a bound on attempts, and hands back the rest (mapping errors, version conflicts,
/// missing documents) untouched.
package struct BulkIndexer: Sendable {
    package let client: OpenSearchClient
    package let settings: BulkSettings
    /// The client with its own retries off: the indexer retries by item, not by request.
    private let singleShot: AWSClient

    package init(client: OpenSearchClient, settings: BulkSettings = BulkSettings()) {
        precondition(settings.concurrency >= 1 && settings.maxAttempts >= 1 && settings.maxRequestBytes >= 1)
        self.client = client
        self.settings = settings
        let aws = client.aws
        singleShot = AWSClient(
            service: aws.service, region: aws.region, endpoint: aws.endpoint, credentials: aws.credentials, transport: aws.transport,
            retry: RetryStrategy(maxAttempts: 1, quota: aws.retry.quota), clock: aws.clock, options: aws.options)
    }

    /// Sends every operation and waits for all of them.
    /// - Throws: `OpenSearchError` only when nothing can succeed (access denied, no credentials,
    ///   an invalid index name); every other failure is an item of `BulkSummary.failures`.
    package func run(_ operations: [BulkOperation]) async throws(OpenSearchError) -> BulkSummary {
        var iterator = operations.makeIterator()
        do {
            return try await run { iterator.next() }
        } catch let error as OpenSearchError {
            throw error
        } catch {
            throw OpenSearchError(.invalidArgument, reason: "\(error)")
        }
    }

    /// Sends operations as `next` produces them (a stream of records, say), reading ahead only as
    /// far as the requests in flight need: memory stays bounded by `concurrency × maxRequestBytes`.
    /// - Throws: what `next` throws, or `OpenSearchError` as for `run(_:)`.
    package func run(_ next: () async throws -> BulkOperation?) async throws -> BulkSummary {
        var summary = BulkSummary()
        try await withThrowingTaskGroup(of: BulkSummary.self) { group in
            var inFlight = 0
            var batch: [EncodedAction] = []
            var batchBytes = 0
            var position = 0
            func submit() async throws {
                guard !batch.isEmpty else { return }
                if inFlight == settings.concurrency {
                    if let done = try await group.next() { summary.merge(done) }
                    inFlight -= 1
                }
                let items = batch
                group.addTask { try await self.send(items) }
                inFlight += 1
                batch = []
                batchBytes = 0
            }
            while let operation = try await next() {
                try OpenSearchClient.validateIndexName(operation.index)
                var lines: [UInt8] = []
                BulkBodyEncoder.append(operation, to: &lines)
                if !batch.isEmpty, batchBytes + lines.count > settings.maxRequestBytes { try await submit() }
                batch.append(EncodedAction(position: position, action: operation.action, index: operation.index, id: operation.id, lines: lines[...]))
                batchBytes += lines.count
                position += 1
            }
            try await submit()
            for try await done in group { summary.merge(done) }
        }
        summary.failures.sort { $0.position < $1.position }
        return summary
    }

    /// One action already encoded as its NDJSON lines, for callers that build bulk bodies
    /// themselves (the lines may be slices of one shared buffer).
    package struct EncodedAction: Sendable {
        /// Echoed in `BulkItemResult.position`.
        package var position: Int
        package var action: BulkOperation.Action
        package var index: String
        package var id: String?
        /// The action line and document line, each ending in `\n`.
        package var lines: ArraySlice<UInt8>

        package init(position: Int, action: BulkOperation.Action, index: String, id: String?, lines: ArraySlice<UInt8>) {
            self.position = position
            self.action = action
            self.index = index
            self.id = id
            self.lines = lines
        }
    }

    /// Sends one batch (one request, then retries of its 429/5xx items) until every action
    /// succeeded or failed for good. `run` calls this for each batch it cuts; callers that cut
    /// batches themselves call it directly.
    ///
    /// - Parameter joined: the lines of every action of `batch` in order, already joined (a
    ///   caller that encoded them into one buffer): sent as the first request's body as it is,
    ///   instead of a copy. Retries build their bodies from the actions.
    /// - Throws: `OpenSearchError` only when nothing can succeed (access denied, no credentials).
    package func send(_ batch: [EncodedAction], joined: [UInt8]? = nil) async throws(OpenSearchError) -> BulkSummary {
        try await send(count: batch.count, joined: joined) { batch }
    }

    /// `send(_:joined:)` for a caller whose `joined` lines hold `count` actions: `actions` is asked
    /// for them only when the first answer is not a plain success (a retry, a failure to report),
    /// so the usual batch never builds its list of actions.
    package func send(count: Int, joined: [UInt8], actions: () -> [EncodedAction]) async throws(OpenSearchError) -> BulkSummary {
        try await send(count: count, joined: Optional(joined), actions: actions)
    }

    private func send(count: Int, joined: [UInt8]?, actions: () -> [EncodedAction]) async throws(OpenSearchError) -> BulkSummary {
        var summary = BulkSummary()
        summary.operations = count
        var listed: [EncodedAction]?
        var pendingCount = count
        // Every action still pending in round n has been sent n times.
        var round = 0
        while pendingCount > 0 {
            // The first request of a joined batch sends `joined` without listing its actions.
            let pending: [EncodedAction]
            if round == 0, joined != nil {
                pending = []
            } else {
                pending = listed ?? actions()
                listed = pending
            }
            round += 1
            if round > 1 {
                do {
                    try await settings.sleep(settings.backoff(forRetry: round - 1))
                } catch {
                    throw OpenSearchError(.unreachable, reason: "cancelled while waiting to retry a bulk request")
                }
            }
            let lastChance = round >= settings.maxAttempts
            var body: [UInt8]
            if round == 1, let joined, listed == nil {
                body = joined
            } else {
                body = []
                body.reserveCapacity(pending.reduce(0) { $0 + $1.lines.count })
                for item in pending { body += item.lines }
            }
            summary.bytesSent += body.count
            var request = AWSRequest(method: "POST", path: "/_bulk", headers: ["Content-Type": "application/x-ndjson"])
            if let refresh = settings.refresh { request.query.append(("refresh", refresh)) }
            if let filter = settings.answerFilter { request.query.append(("filter_path", filter)) }
            if settings.gzip {
                do {
                    body = try Gzip.compress(body, level: settings.gzipLevel)
                } catch {
                    throw OpenSearchError(.invalidArgument, reason: "cannot gzip the bulk body: \(error)")
                }
                request.headers.add("Content-Encoding", "gzip")
            }
            summary.wireBytesSent += body.count
            request.body = .bytes(body)
            summary.requests += 1

            let response: HTTPResponse
            do {
                response = try await singleShot.send(request)
            } catch {
                let failure = OpenSearchError(error)
                if failure.code == .accessDenied || failure.code == .credentials { throw failure }
                let retryable = RetryStrategy.classify(error) != nil
                if retryable && !lastChance {
                    summary.requestRetries += 1
                    continue
                }
                for item in listed ?? actions() {
                    summary.failures.append(
                        BulkItemResult(
                            position: item.position, action: item.action, index: item.index, id: item.id, status: failure.status ?? 0,
                            result: nil, errorType: failure.type ?? failure.code.rawValue, errorReason: failure.reason, attempts: round))
                }
                return summary
            }

            if let succeeded = BulkAnswerScanner.successCount(response.body), succeeded == pendingCount {
                // `"errors":false` and every item 2xx: nothing to retry or report, so the items
                // are counted, not parsed into trees.
                summary.succeeded += succeeded
                pendingCount = 0
                continue
            }
            let sent = listed ?? actions()
            let results = try Self.parseItems(response.body, expected: sent, attempts: round)
            var retry: [EncodedAction] = []
            for (item, result) in zip(sent, results) {
                if result.succeeded {
                    summary.succeeded += 1
                } else if result.isRetryable && !lastChance {
                    retry.append(item)
                } else {
                    summary.failures.append(result)
                }
            }
            summary.itemRetries += retry.count
            listed = retry
            pendingCount = retry.count
        }
        return summary
    }

    /// Reads `items` of a bulk answer, one per action sent, in order.
    static func parseItems(_ body: [UInt8], expected: [EncodedAction], attempts: Int) throws(OpenSearchError) -> [BulkItemResult] {
        let json = try OpenSearchClient.parse(body)
        guard let items = json["items"]?.arrayValue, items.count == expected.count else {
            throw OpenSearchError(
                .invalidResponse, reason: "the bulk answer has \(json["items"]?.arrayValue?.count ?? 0) items for \(expected.count) actions")
        }
        var results: [BulkItemResult] = []
        results.reserveCapacity(items.count)
        for (item, sent) in zip(items, expected) {
            guard let member = item.objectValue?.members.first, let object = member.value.objectValue,
                let status = object["status"]?.intValue
            else {
                throw OpenSearchError(.invalidResponse, reason: "a bulk item has no status")
            }
            let error = object["error"]
            results.append(
                BulkItemResult(
                    position: sent.position, action: sent.action, index: object["_index"]?.stringValue ?? sent.index,
                    id: object["_id"]?.stringValue ?? sent.id, status: status, result: object["result"]?.stringValue,
                    errorType: error?["type"]?.stringValue ?? error?.stringValue.map { _ in "error" },
                    errorReason: error?["reason"]?.stringValue ?? error?.stringValue, attempts: attempts))
        }
        return results
    }
}

/// A lean pass over a bulk answer for the usual case, everything indexed: reads `errors` and counts
/// `items`, checking each item's `status`, without building `JSON` values. Anything else (errors,
/// an item that is not 2xx, `items` before `errors`, malformed text) answers nil, and the full
/// parser takes over and reports what is wrong.
package enum BulkAnswerScanner {
    package static func successCount(_ body: [UInt8]) -> Int? {
        body.withUnsafeBufferPointer { buffer in
            var scanner = Scanner(bytes: buffer)
            return scanner.topLevel()
        }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            skipSpace()
            guard i < bytes.count, bytes[i] == byte else { return false }
            i += 1
            return true
        }

        /// A string's bytes between its quotes (escapes left as they are); nil when not a string.
        mutating func string() -> UnsafeBufferPointer<UInt8>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = i
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""):
                    i += 1
                    return UnsafeBufferPointer(rebasing: bytes[start..<(i - 1)])
                case UInt8(ascii: "\\"): i += 2
                default: i += 1
                }
            }
            return nil
        }

        func equals(_ text: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
            text.count == literal.utf8CodeUnitCount && (0..<text.count).allSatisfy { text[$0] == literal.utf8Start[$0] }
        }

        mutating func literal(_ literal: StaticString) -> Bool {
            skipSpace()
            let count = literal.utf8CodeUnitCount
            guard i + count <= bytes.count, (0..<count).allSatisfy({ bytes[i + $0] == literal.utf8Start[$0] }) else { return false }
            i += count
            return true
        }

        /// Skips one value of any kind; nil when the text is not well formed. In an item's action
        /// object (`depth` 2) a `status` outside 2xx stops the scan.
        mutating func skipValue(depth: Int) -> Bool {
            skipSpace()
            guard i < bytes.count, depth < 64 else { return false }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                if take(UInt8(ascii: "}")) { return true }
                repeat {
                    guard let key = string(), take(UInt8(ascii: ":")) else { return false }
                    if depth == 2, equals(key, "status") {
                        skipSpace()
                        let start = i
                        guard skipValue(depth: depth + 1), i - start == 3, bytes[start] == UInt8(ascii: "2") else { return false }
                    } else {
                        guard skipValue(depth: depth + 1) else { return false }
                    }
                } while take(UInt8(ascii: ","))
                return take(UInt8(ascii: "}"))
            case UInt8(ascii: "["):
                i += 1
                if take(UInt8(ascii: "]")) { return true }
                repeat {
                    guard skipValue(depth: depth + 1) else { return false }
                } while take(UInt8(ascii: ","))
                return take(UInt8(ascii: "]"))
            case UInt8(ascii: "\""):
                return string() != nil
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default:
                let start = i
                while i < bytes.count, (bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")) || bytes[i] == UInt8(ascii: "-")
                    || bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: ".") || bytes[i] | 0x20 == UInt8(ascii: "e")
                {
                    i += 1
                }
                return i > start
            }
        }

        /// An item as a filtered answer (`items.*.status`) writes it, `{"index":{"status":201}}`
        /// with any lowercase action name and a 2xx status, matched byte for byte; `false` (and
        /// nothing consumed) for anything else, which `skipValue` then reads.
        mutating func leanItem() -> Bool {
            let tail: StaticString = #"":{"status":2"#
            let count = bytes.count
            guard i + 2 < count, bytes[i] == UInt8(ascii: "{"), bytes[i + 1] == UInt8(ascii: "\"") else { return false }
            var j = i + 2
            while j < count, bytes[j] >= UInt8(ascii: "a"), bytes[j] <= UInt8(ascii: "z") { j += 1 }
            let length = tail.utf8CodeUnitCount
            guard j > i + 2, j + length + 4 <= count, (0..<length).allSatisfy({ bytes[j + $0] == tail.utf8Start[$0] }) else { return false }
            j += length
            guard bytes[j] &- UInt8(ascii: "0") < 10, bytes[j + 1] &- UInt8(ascii: "0") < 10, bytes[j + 2] == UInt8(ascii: "}"),
                bytes[j + 3] == UInt8(ascii: "}")
            else { return false }
            i = j + 4
            return true
        }

        /// The item count when `errors` is false (and comes before `items`) and every item is 2xx.
        mutating func topLevel() -> Int? {
            guard take(UInt8(ascii: "{")) else { return nil }
            var noErrors = false
            var count: Int?
            repeat {
                guard let key = string(), take(UInt8(ascii: ":")) else { return nil }
                if equals(key, "errors") {
                    guard literal("false") else { return nil }
                    noErrors = true
                } else if equals(key, "items") {
                    guard noErrors, take(UInt8(ascii: "[")) else { return nil }
                    var items = 0
                    if !take(UInt8(ascii: "]")) {
                        repeat {
                            guard leanItem() || skipValue(depth: 1) else { return nil }
                            items += 1
                        } while take(UInt8(ascii: ","))
                        guard take(UInt8(ascii: "]")) else { return nil }
                    }
                    count = items
                } else {
                    guard skipValue(depth: 1) else { return nil }
                }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
            skipSpace()
            guard i == bytes.count, noErrors else { return nil }
            return count
        }
    }
}
