import AWSClients
import AWSCore
import AWSSigV4
import Foundation
import HTTPTransport
import JSONCodec
import LambdaRuntime
import Parquet
import PipelineCore
import PipelineSettings
import Primitives
import ProcessingHandler
import StarSchema
import Testing
import TestSupport

/// One libcurl transport for the test process.
let sharedTransport: CurlTransport = {
    do { return try CurlTransport() } catch { fatalError("libcurl transport did not start: \(error)") }
}()

func uniqueName(_ prefix: String) -> String {
    var generator = SystemRandomNumberGenerator()
    return "\(prefix)-\(Hex.encode((0..<5).map { _ in UInt8.random(in: 0...255, using: &generator) }))"
}

func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return Array(try Data(contentsOf: url))
}

/// A fresh set of buckets, status table and watermark prefix on the shared signature-checking
/// moto, and a processor wired to them exactly as the Lambda's init wires it.
struct ProcessingTestStack {
    let moto: MotoStack
    let clients: PipelineClients
    let extractsBucket: String
    let processedBucket: String
    let statusTable: String
    let watermarkPrefix: String
    let environment: [String: String]
    let processor: ExtractProcessor
    let logs = MemoryLogSink()

    static let catalog = #"{"datasets": [{"name": "totesys", "keyPattern": "totesys/{table}/{sequence}-{timestamp}.jsonl", "format": {"type": "jsonl"}, "starSchema": "totesys"}, {"name": "events", "keyPattern": "events/{name}.jsonl", "format": {"type": "jsonl"}}]}"#

    /// - Parameters:
    ///   - specification: the star schema's file (default: the Totesys example in infra/).
    ///   - extra: further environment variables.
    ///   - auth: false for moto without its signature checker, whose checker rejects correctly
    ///     signed listings with a `/` in the prefix (see notes/local-aws.md).
    static func make(specification: URL? = nil, extra: [String: String] = [:], auth: Bool = true) async throws -> ProcessingTestStack {
        let moto = try await SharedMoto.get(auth: auth)
        let settings = try AWSSettings(environment: Environment(moto.environment))
        let clients = try PipelineClients.make(
            settings: settings,
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey)),
            transport: sharedTransport)
        let extracts = uniqueName("extracts")
        let processed = uniqueName("processed")
        let table = uniqueName("status")
        try await clients.s3.createBucket(extracts)
        try await clients.s3.createBucket(processed)
        try await StatusStore.createTable(clients.dynamoDB, table: table)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(uniqueName("processing"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let catalogFile = directory.appendingPathComponent("datasets.json")
        try Data(catalog.utf8).write(to: catalogFile)
        let spec = specification ?? MotoStack.repositoryRoot.appendingPathComponent("infra/star-schema/totesys.json")
        let prefix = "/\(uniqueName("test"))/watermarks/"
        var environment = moto.environment
        environment["INGEST_STATUS_TABLE"] = table
        environment["INGEST_BUCKET_NAME"] = extracts
        environment["PROCESSED_BUCKET_NAME"] = processed
        environment["DATASETS_FILE"] = catalogFile.path
        environment["STAR_SCHEMA_FILE"] = spec.path
        environment["WATERMARK_PARAMETER_PREFIX"] = prefix
        environment["DEADLINE_MARGIN_MS"] = "1000"
        for (name, value) in extra { environment[name] = value }
        let processingSettings = try ProcessingSettings(environment: Environment(environment))
        let catalog = try await DatasetCatalogLoader.load(
            processingSettings.common.datasets, ssm: clients.ssm, defaultMaxFileSizeBytes: processingSettings.common.maxFileSizeBytes)
        let engine = try await ProcessingLambda.loadSpecification(processingSettings.starSchema, ssm: clients.ssm)
        let processor = ExtractProcessor(
            settings: processingSettings, s3: clients.s3, dynamoDB: clients.dynamoDB, ssm: clients.ssm, catalog: catalog, engine: engine)
        return ProcessingTestStack(
            moto: moto, clients: clients, extractsBucket: extracts, processedBucket: processed, statusTable: table,
            watermarkPrefix: prefix, environment: environment, processor: processor)
    }

    /// The stack's processor run with `user`'s key instead of the stack's (a function role's
    /// permissions, enforced by moto).
    func processor(as user: RoleUser) async throws -> ExtractProcessor {
        let credentials = StaticCredentialProvider(user.credentials)
        let roleClients = try PipelineClients.make(
            settings: clients.settings, credentials: credentials, transport: sharedTransport)
        let settings = try ProcessingSettings(environment: Environment(environment))
        let catalog = try await DatasetCatalogLoader.load(
            settings.common.datasets, ssm: roleClients.ssm, defaultMaxFileSizeBytes: settings.common.maxFileSizeBytes)
        let engine = try await ProcessingLambda.loadSpecification(settings.starSchema, ssm: roleClients.ssm)
        return ExtractProcessor(
            settings: settings, s3: roleClients.s3, dynamoDB: roleClients.dynamoDB, ssm: roleClients.ssm, catalog: catalog, engine: engine)
    }

    /// A context like the runtime's: a fresh request id, five minutes left, logs and metrics kept.
    func context(requestId: String = uniqueName("request"), seconds: Int64 = 300) -> LambdaContext {
        let clock = SystemClock()
        return LambdaContext(
            requestId: requestId, deadline: clock.now().adding(seconds: seconds),
            invokedFunctionArn: "arn:aws:lambda:us-east-1:123456789012:function:processing",
            logger: Logger(level: .debug, sink: logs, metadata: ["requestId": .string(requestId)]),
            metrics: MetricsRecorder(namespace: "Test", dimensions: [("Function", "processing")], sink: logs), clock: clock)
    }

    func extractKey(_ table: String, _ id: Int, timestamp: String = "20221103T142049") -> String {
        "processed/totesys/\(table)/\(id)-\(timestamp).jsonl"
    }

    /// Uploads an extract (one JSON line per element) and returns its key.
    @discardableResult
    func putExtract(_ table: String, _ id: Int, _ lines: [String], timestamp: String = "20221103T142049") async throws -> String {
        let key = extractKey(table, id, timestamp: timestamp)
        _ = try await clients.s3.putObject(bucket: extractsBucket, key: key, body: Array((lines.joined(separator: "\n") + "\n").utf8))
        return key
    }

    /// Uploads and processes an extract.
    @discardableResult
    func process(_ table: String, _ id: Int, _ lines: [String], timestamp: String = "20221103T142049") async throws -> ProcessingOutcome {
        let key = try await putExtract(table, id, lines, timestamp: timestamp)
        return try await processor.process(bucket: extractsBucket, key: key, context: context())
    }

    func processedKeys() async throws -> [String] {
        try await clients.s3.listAllObjects(bucket: processedBucket).allObjects().map(\.key).sorted()
    }

    func object(_ key: String) async throws -> [UInt8] {
        try await clients.s3.getObject(bucket: processedBucket, key: key).body.collect()
    }

    /// A processed Parquet object read back by pyarrow and duckdb.
    func readBack(_ key: String) async throws -> ReadBack { try await ReadBack.read(try await object(key)) }

    /// The published watermark of `table`, as JSON.
    func watermark(_ table: String) async throws -> JSON? {
        do {
            return try JSONParser.parse(try await clients.ssm.getParameter(watermarkPrefix + table).value)
        } catch let error as SSMError {
            if case .parameterNotFound = error { return nil }
            throw error
        }
    }

    func status(_ fileId: String) async throws -> StatusRecord? {
        try await StatusStore(dynamoDB: clients.dynamoDB, table: statusTable).get(fileId: fileId, stage: .processing)
    }
}

/// Parquet bytes read back by pyarrow and duckdb (the Parquet tests' `read_parquet.py`).
typealias ReadBack = ParquetReadBack

extension ParquetReadBack {
    /// Checks that both readers saw exactly `expected`, value by value.
    func expectRows(_ expected: [[JSON]], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(pyarrowRows == expected, "pyarrow", sourceLocation: sourceLocation)
        #expect(duckdbRows == expected, "duckdb", sourceLocation: sourceLocation)
    }
}

/// The metric values a context recorded for `name`.
func metricTotal(_ context: LambdaContext, _ name: String) -> Double {
    context.metrics.pendingMetrics.filter { $0.name == name }.flatMap(\.values).reduce(0, +)
}
