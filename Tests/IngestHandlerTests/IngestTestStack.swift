import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import IngestHandler
import JSONCodec
import LambdaRuntime
import OpenSearchStandIn
import PipelineCore
import PipelineSettings
import Primitives
import TestSupport

/// A real moto (S3 and DynamoDB, signature checking on), an OpenSearch stand-in (signatures
/// checked), a fresh ingest bucket and status table, and the handler wired as `ingest-lambda`
/// wires it, over the real libcurl transport.
struct IngestTestStack {
    static let transport: CurlTransport = {
        do { return try CurlTransport() } catch { fatalError("libcurl could not start: \(error)") }
    }()

    let moto: MotoStack
    let standIn: OpenSearchStandIn
    let bucket: String
    let table: String
    let environment: [String: String]
    /// The AWS settings and moto's key the stack's clients were made with.
    let awsSettings: AWSSettings
    let credentials: StaticCredentialProvider
    let s3: S3Client
    let status: StatusStore
    let openSearch: OpenSearchClient
    let catalog: DatasetCatalog
    let settings: IngestSettings

    static var fixtures: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures") }
    static func fixture(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: fixtures.appendingPathComponent(name))) }

    /// - Parameters:
    ///   - datasets: the dataset catalog's fixture file.
    ///   - auth: moto's signature checking (off only for keys its checker wrongly rejects: non-ASCII, `+=&*()!';:@$,%`).
    init(faults: FaultSettings = .none, extra: [String: String] = [:], datasets: String = "datasets.json", auth: Bool = true) async throws {
        moto = try await SharedMoto.get(auth: auth)
        standIn = try OpenSearchStandIn(
            OpenSearchStandInConfiguration(
                region: moto.region, service: "es", accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey,
                faults: faults))
        let suffix = UUID().uuidString.lowercased().prefix(10)
        bucket = "ingest-\(suffix)"
        table = "status-\(suffix)"
        var env = moto.environment
        env["INGEST_BUCKET_NAME"] = bucket
        env["INGEST_STATUS_TABLE"] = table
        env["OPEN_SEARCH_ENDPOINT"] = standIn.endpoint
        env["DATASETS_FILE"] = Self.fixtures.appendingPathComponent(datasets).path
        env["DEADLINE_MARGIN_MS"] = "1000"
        for (name, value) in extra { env[name] = value }
        environment = env
        awsSettings = try AWSSettings(environment: Environment(env))
        credentials = StaticCredentialProvider(AWSCredentials(accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey))
        let clients = try PipelineClients.make(settings: awsSettings, credentials: credentials, transport: Self.transport)
        s3 = clients.s3
        try await s3.createBucket(bucket)
        try await StatusStore.createTable(clients.dynamoDB, table: table)
        status = StatusStore(dynamoDB: clients.dynamoDB, table: table)
        // The Lambda signs OpenSearch requests with its own role's credentials: here, moto's key.
        openSearch = try OpenSearchClient(settings: awsSettings, credentials: credentials, transport: Self.transport, quota: RetryQuota())
        settings = try IngestSettings(SettingsReader(Environment(env)))
        catalog = try DatasetCatalog.parse(try Self.fixture(datasets))
    }

    /// The real sink, with fast bulk retries. Enough attempts that the seeded storms (an item fails
    /// an attempt with probability ≈ 0.44) cannot exhaust them by chance: 0.44^30 × 1,500 items ≈ 3e-8
    /// (with 12 attempts a run lost a record to chance about one time in twelve).
    var sink: OpenSearchBulkSink {
        var bulk = settings.bulk
        bulk.maxAttempts = 30
        bulk.baseDelay = .milliseconds(2)
        bulk.maxDelay = .milliseconds(40)
        return OpenSearchBulkSink(indexer: BulkIndexer(client: openSearch, settings: bulk))
    }

    func handler() -> IngestObjectHandler<OpenSearchBulkSink> { handler(sink: sink) }

    func handler<Sink: BulkSink>(sink: Sink) -> IngestObjectHandler<Sink> {
        IngestObjectHandler(settings: settings, catalog: catalog, s3: s3, status: status, mover: FileMover(s3: s3), sink: sink)
    }

    /// The handler with its status table or its moves (`FileMover`'s S3 requests) over another
    /// transport (one that fails at a chosen request), or its status table on another clock (an
    /// invocation that comes after an earlier one's claim ran out); everything else as `handler()`'s.
    func handler(
        statusOver statusTransport: (any HTTPTransport)? = nil, statusClock: (any WallClock)? = nil,
        movesOver moveTransport: (any HTTPTransport)? = nil
    ) throws -> IngestObjectHandler<OpenSearchBulkSink> {
        func clients(_ transport: any HTTPTransport) throws -> PipelineClients {
            try PipelineClients.make(settings: awsSettings, credentials: credentials, transport: transport)
        }
        let dynamoDB = try statusTransport.map { try clients($0).dynamoDB } ?? status.dynamoDB
        let status = StatusStore(dynamoDB: dynamoDB, table: table, clock: statusClock ?? SystemClock())
        let mover = try FileMover(s3: moveTransport.map { try clients($0).s3 } ?? s3)
        return IngestObjectHandler(settings: settings, catalog: catalog, s3: s3, status: status, mover: mover, sink: sink)
    }

    /// An invocation context with `timeLeft` before its deadline; logs go to `logs`.
    static func context(timeLeft: Duration = .seconds(300), logs: MemoryLogSink = MemoryLogSink()) -> LambdaContext {
        let now = SystemClock().now()
        return LambdaContext(
            requestId: UUID().uuidString.lowercased(),
            deadline: Timestamp(nanosecondsSinceEpoch: now.nanosecondsSinceEpoch + Int64(timeLeft.components.seconds) * 1_000_000_000
                + timeLeft.components.attoseconds / 1_000_000_000),
            invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:ingest", logger: Logger(level: .debug, sink: logs),
            metrics: MetricsRecorder(namespace: "Test", dimensions: [], sink: MemoryLogSink()))
    }

    func put(_ key: String, _ body: [UInt8]) async throws { _ = try await s3.putObject(bucket: bucket, key: key, body: body) }

    func exists(_ key: String) async throws -> Bool {
        do {
            _ = try await s3.headObject(bucket: bucket, key: key)
            return true
        } catch {
            if error.isS3NotFound { return false }
            throw error
        }
    }

    func read(_ key: String) async throws -> [UInt8] { try await s3.getObject(bucket: bucket, key: key).body.collect() }

    /// The errors object's lines, parsed.
    func errorLines(_ key: String) async throws -> [JSON] {
        let bytes = try await read(key)
        return try bytes.split(separator: 0x0A).map { try JSONParser.parse($0) }
    }

    func count(_ index: String) async throws -> Int {
        try await openSearch.refresh(index)
        return try await openSearch.count(index)
    }

    func statusRecord(_ fileId: String) async throws -> StatusRecord? { try await status.get(fileId: fileId, stage: .ingest) }
}

extension IngestDisposition {
    var outcome: IngestOutcome? {
        if case .finished(let outcome) = self { return outcome }
        return nil
    }
}

/// The real sink, each batch held back by `delay` first (a slow cluster), so that a deadline falls
/// inside a file.
struct SlowSink<Base: BulkSink>: BulkSink {
    let base: Base
    let delay: Duration
    func ensureIndex(_ index: String, settings: IndexSettings) async throws(IngestError) {
        try await base.ensureIndex(index, settings: settings)
    }
    func send(_ batch: BulkBatch) async throws(IngestError) -> BulkBatchOutcome {
        try? await Task.sleep(for: delay)
        return try await base.send(batch)
    }
}
