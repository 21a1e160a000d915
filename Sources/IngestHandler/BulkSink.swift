package import AWSClients
import JSONCodec
package import PipelineSettings
package import Primitives
import Synchronization

/// A bulk request body built by the engine: NDJSON with each action's place in it and the record
/// it came from, so failures can be reported by record.
package struct BulkBatch: Sendable {
    package struct Entry: Sendable {
        package var index: String
        package var id: String
        /// The action and document lines in `body`.
        package var range: Range<Int>
        package var record: Int
        package var offset: Int64
    }

    package var body: [UInt8] = []
    package var entries: [Entry] = []

    package init(capacity: Int = 0) {
        body.reserveCapacity(capacity)
    }

    /// A batch over storage already allocated (emptied bodies and entries of earlier batches).
    package init(body: [UInt8], entries: [Entry]) {
        self.body = body
        self.entries = entries
    }

    package var isEmpty: Bool { entries.isEmpty }

    /// Turns the line breaks inside the document just appended (before its final `\n`) into spaces:
    /// an element of a pretty-printed JSON document may span lines, and NDJSON must not.
    mutating func flattenNewlines(documentBytes: Int) {
        let end = body.count - 1
        var i = end - documentBytes
        while i < end {
            if body[i] == 0x0A || body[i] == 0x0D { body[i] = 0x20 }
            i += 1
        }
    }
}

/// What became of one batch.
package struct BulkBatchOutcome: Sendable {
    package struct Failure: Sendable, Hashable {
        /// Position in `BulkBatch.entries`.
        package var entry: Int
        /// The item's HTTP status (0 when the request itself never got an answer).
        package var status: Int
        /// The OpenSearch error type (`mapper_parsing_exception`…) or a transport error code.
        package var type: String
        package var reason: String
    }

    package var succeeded = 0
    package var failures: [Failure] = []
    package var requests = 0
    package var itemRetries = 0
    package var requestRetries = 0

    package init() {}
}

/// Where the engine's batches go: OpenSearch in the handler, a discarding sink in the
/// parse-and-encode benchmark.
package protocol BulkSink: Sendable {
    /// Creates `index` with the dataset's mappings and settings if it does not exist.
    func ensureIndex(_ index: String, settings: IndexSettings) async throws(IngestError)
    /// Sends a batch; item failures are returned, not thrown.
    /// - Throws: `IngestError` (`openSearch`) only when nothing can succeed.
    func send(_ batch: BulkBatch) async throws(IngestError) -> BulkBatchOutcome
}

/// Sends batches with `BulkIndexer`: one request per batch, then retries of only the items that
/// answered 429/5xx, with backoff.
///
/// Indices found or created are remembered for `indexRecheck` (one minute by default) across the
/// files and invocations of a warm process, so a stream of small files into this month's index
/// makes one index check a minute rather than one per file (a check before each file could not
/// stop an index deleted between the check and the bulk request either).
package struct OpenSearchBulkSink: BulkSink {
    package let indexer: BulkIndexer
    package let indexRecheck: Duration
    private let clock: any WallClock
    private let known = KnownIndices()

    /// Indices and when they were last seen to exist.
    private final class KnownIndices: Sendable {
        let seen = Mutex<[String: Timestamp]>([:])
    }

    package init(indexer: BulkIndexer, clock: any WallClock = SystemClock(), indexRecheck: Duration = .seconds(60)) {
        self.indexer = indexer
        self.clock = clock
        self.indexRecheck = indexRecheck
    }

    package func ensureIndex(_ index: String, settings: IndexSettings) async throws(IngestError) {
        let now = clock.now()
        let recheck = indexRecheck.milliseconds
        if let seen = known.seen.withLock({ $0[index] }), now.millisecondsSinceEpoch - seen.millisecondsSinceEpoch < recheck { return }
        do {
            _ = try await indexer.client.createIndexIfMissing(
                index, settings: settings.settings?.objectValue, mappings: settings.mappings?.objectValue)
        } catch {
            throw IngestError(.openSearch, "cannot create index \(index): \(error)", underlying: error)
        }
        known.seen.withLock { $0[index] = now }
    }

    package func send(_ batch: BulkBatch) async throws(IngestError) -> BulkBatchOutcome {
        let summary: BulkSummary
        do {
            // The actions are listed only for a retry or a failure to report.
            summary = try await indexer.send(count: batch.entries.count, joined: batch.body) {
                batch.entries.enumerated().map { position, entry in
                    BulkIndexer.EncodedAction(
                        position: position, action: .index, index: entry.index, id: entry.id, lines: batch.body[entry.range])
                }
            }
        } catch {
            throw IngestError(.openSearch, "bulk request refused: \(error)", underlying: error)
        }
        var outcome = BulkBatchOutcome()
        outcome.succeeded = summary.succeeded
        outcome.requests = summary.requests
        outcome.itemRetries = summary.itemRetries
        outcome.requestRetries = summary.requestRetries
        outcome.failures = summary.failures.map {
            BulkBatchOutcome.Failure(
                entry: $0.position, status: $0.status, type: $0.errorType ?? "status_\($0.status)", reason: $0.errorReason ?? "")
        }
        return outcome
    }
}

/// Accepts every batch without sending it: measures parsing and encoding alone.
package struct DiscardingBulkSink: BulkSink {
    package init() {}
    package func ensureIndex(_ index: String, settings: IndexSettings) async throws(IngestError) {}
    package func send(_ batch: BulkBatch) async throws(IngestError) -> BulkBatchOutcome {
        var outcome = BulkBatchOutcome()
        outcome.succeeded = batch.entries.count
        return outcome
    }
}
